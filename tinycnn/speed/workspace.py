"""Arrays a step keeps from one call to the next, so that a steady training step allocates nothing.

Why: a step of the seed network at batch 64 makes about 30 MB of temporaries (im2col columns,
the products, their gradients). Fresh arrays that large are mapped from the system and zeroed
page by page on first touch, and whether glibc does that every step depends on the process's
history (an array above 32 MB freed once is enough): 450-970 page faults and up to a quarter of
the step's time, measured with getrusage. Kept arrays are written in place instead.

A workspace hands out an array by name; the same array while its shape and type stay, a new one
when they change. The steps of a model's plan (fusion.py) keep one each, and release() frees it.
"""
import numpy as np


class Workspace:
    """Named arrays kept for reuse: get(name, shape) -> the kept array, or a new one on the first
    call or when `shape` or `dtype` differ from the kept one's. Contents are not cleared."""

    def __init__(self):
        self.arrays = {}

    def get(self, name, shape, dtype=np.float32):
        a = self.arrays.get(name)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = self.arrays[name] = np.empty(shape, dtype)
        return a

    def clear(self):
        self.arrays.clear()
