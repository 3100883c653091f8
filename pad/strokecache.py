"""The strokes on the canvas as arrays, converted once: the reader gets every stroke's points
every frame while the pen moves, and converting thousands of points again each time cost most
of a millisecond of a long drawing's frame."""
import numpy as np


class StrokeCache:
    """Each stroke's points as a read-only (n, 2) float32 array, grown as the stroke grows."""

    def __init__(self):
        self.seen = {}  # id(stroke) -> (stroke, its points as an array)

    def points(self, action):
        """np.asarray(action["points"], np.float32), converting only the points added since the
        last call (a stroke only grows)."""
        points = action["points"]
        seen, xy = self.seen.get(id(action), (None, None))
        if seen is not action:
            xy = np.zeros((0, 2), np.float32)
        if len(xy) < len(points):
            xy = np.concatenate([xy, np.asarray(points[len(xy):], np.float32)])
        xy.flags.writeable = False  # handed out and kept: a reader must not change the cache
        self.seen[id(action)] = (action, xy)  # the action kept alive: its id is not reused
        return xy

    def keep(self, actions):
        """Forget every stroke but `actions` (those still on the canvas)."""
        self.seen = {id(a): self.seen[id(a)] for a in actions if id(a) in self.seen}
