"""Checks and the drawings they make: hand-written stroke styles, composed numbers and
simulated writers. Checks only, never training data; they are not installed with the package."""
