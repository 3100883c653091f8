"""The tinycnn drawing pad: `python -m pad`."""
