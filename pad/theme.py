"""The pad's colours and how its text and fixed sizes grow with the window.

Sizes in the pad's code are written for a 900x600 window and multiplied by `ui_scale`, so a
large window gets large type and bars instead of a small page in a corner, and the smallest
window gets text small enough that labels do not run into each other.
"""
BG = (28, 30, 36)
PANEL = (40, 43, 52)
TEXT = (225, 228, 235)
DIM = (140, 145, 160)
BAR = (70, 120, 200)
WIN = (255, 170, 40)
WARN = (240, 90, 80)
MIN_SIZE = (420, 300)  # below this the panel cannot show ten readable bars
SCALE_RANGE = (0.75, 2.2)  # the smallest window's text is still legible; a wall screen's not absurd


def ui_scale(size):
    """How much larger than in a 900x600 window text and fixed sizes are drawn in a window of
    `size` (w, h): the smaller of the two ratios, kept within SCALE_RANGE."""
    w, h = size
    lo, hi = SCALE_RANGE
    return min(max(min(w / 900, h / 600), lo), hi)
