"""The drawing, kept as a list of actions and rendered off-screen into a float image.

Actions are ink strokes, eraser strokes, clears and pasted images, in canvas pixel coordinates.
The image is rendered from them at full resolution (never read back from the screen), so what
the model sees does not depend on the window. Undo is "go back to the last snapshot and apply
the few actions since": a snapshot of the image is kept every SNAPSHOT_EVERY actions (zlib
compressed: a drawing is mostly empty), so undo costs the same after 1,000 strokes as after 10.
"""
import zlib

import numpy as np

from tinycnn.digits.brush import stamp_segment


SNAPSHOT_EVERY = 4


class Canvas:
    """A drawing of `size` x `size` pixels (or `size` wide and `height` tall: the wide canvas of
    number mode) with undo/redo of whole actions.

    array: (height, size) float32 in [0, 1], white ink on black. size: the width.
    """

    def __init__(self, size=560, height=None):
        self.size = int(size)
        self.height = int(height) if height is not None else self.size
        self.array = np.zeros((self.height, self.size), np.float32)
        self.actions, self.undone = [], []
        self.current = None
        self.snapshots = {0: zlib.compress(self.array.tobytes(), 1)}  # number of actions -> image after them
        self.damage = (0, 0, self.size, self.height)  # (x0, y0, x1, y1) changed since take_damage()

    # -- strokes -------------------------------------------------------------------------
    def begin_stroke(self, point, radius, erase=False):
        """Start a stroke at `point` (x, y in canvas pixels)."""
        self.current = {"kind": "erase" if erase else "ink", "radius": float(radius),
                        "points": [tuple(map(float, point))]}
        self.undone.clear()
        self._damaged(stamp_segment(self.array, self.current["points"][0], self.current["points"][0], radius, erase))

    def extend_stroke(self, point):
        """Continue the stroke to `point`: the segment from the last point is drawn whole, so a
        fast mouse that reports far-apart positions still leaves a continuous line."""
        if self.current is None:
            return
        p = tuple(map(float, point))
        last = self.current["points"][-1]
        if p == last:
            return
        self.current["points"].append(p)
        self._damaged(stamp_segment(self.array, last, p, self.current["radius"], self.current["kind"] == "erase"))

    def end_stroke(self):
        """Finish the stroke; it becomes one undoable action. Returns True if there was one."""
        if self.current is None:
            return False
        stroke, self.current = self.current, None
        self._push(stroke)  # already drawn, stamp by stamp
        return True

    @property
    def drawing(self):
        return self.current is not None

    # -- images and history ---------------------------------------------------------------
    def paste_image(self, image):
        """Replace the drawing by `image` ((h, w) float in [0, 1], white on black), fitted and
        centred; undoable like a stroke."""
        self.end_stroke()
        h, w = image.shape
        scale = 0.8 * min(self.size / w, self.height / h)
        from PIL import Image

        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        fitted = np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(
            (nw, nh), Image.Resampling.BILINEAR), dtype=np.float32)
        self._push({"kind": "image", "image": np.clip(fitted, 0, 1)}, apply=True)

    def clear(self):
        """Empty the canvas (undoable: the clear is an action too). Returns True if anything changed."""
        self.end_stroke()
        if not self.array.any():
            return False
        self._push({"kind": "clear"}, apply=True)
        return True

    def undo(self):
        """Take back the last action. Returns True if there was one."""
        self.end_stroke()
        if not self.actions:
            return False
        self.undone.append(self.actions.pop())
        for n in [n for n in self.snapshots if n > len(self.actions)]:
            del self.snapshots[n]
        self.render()
        return True

    def redo(self):
        """Put back the last undone action. Returns True if there was one."""
        if self.drawing or not self.undone:
            return False
        undone = self.undone.pop()
        self._push(undone, apply=True, keep_redo=True)
        return True

    def _push(self, action, apply=False, keep_redo=False):
        """Append `action` (drawing it first if `apply`); keep a snapshot every SNAPSHOT_EVERY actions."""
        if apply:
            self._apply(action)
        self.actions.append(action)
        if not keep_redo:
            self.undone.clear()
        if len(self.actions) % SNAPSHOT_EVERY == 0:
            self.snapshots[len(self.actions)] = zlib.compress(self.array.tobytes(), 1)

    def _apply(self, a):
        """Draw one action on top of the image as it is."""
        self._damaged((0, 0, self.size, self.height))
        if a["kind"] in ("clear", "image"):
            self.array[:] = 0
        if a["kind"] == "image":
            img = a["image"]
            h, w = img.shape
            top, left = (self.height - h) // 2, (self.size - w) // 2
            self.array[top:top + h, left:left + w] = img
        elif a["kind"] in ("ink", "erase"):
            pts, r, erase = a["points"], a["radius"], a["kind"] == "erase"
            stamp_segment(self.array, pts[0], pts[0], r, erase)
            for p0, p1 in zip(pts, pts[1:]):
                stamp_segment(self.array, p0, p1, r, erase)

    def render(self):
        """The image after every action: the latest snapshot, then the (< SNAPSHOT_EVERY) actions since."""
        n = max(k for k in self.snapshots if k <= len(self.actions))
        self._damaged((0, 0, self.size, self.height))
        self.array[:] = np.frombuffer(zlib.decompress(self.snapshots[n]), np.float32).reshape(self.array.shape)
        for a in self.actions[n:]:
            self._apply(a)

    def _damaged(self, box):
        x0, y0, x1, y1 = box
        if x0 < x1 and y0 < y1:
            d = self.damage
            self.damage = box if d is None else (min(d[0], x0), min(d[1], y0), max(d[2], x1), max(d[3], y1))

    def take_damage(self):
        """The (x0, y0, x1, y1) box of pixels changed since the last call (None: none), so that a
        view of the canvas redraws only those; the whole canvas after an undo, clear or image."""
        box, self.damage = self.damage, None
        return box

    def widest_brush(self):
        """The largest ink radius among the strokes on the canvas now (since the last clear or image)."""
        widest = 0.0
        for a in reversed(self.actions + ([self.current] if self.current else [])):
            if a["kind"] in ("clear", "image"):
                break
            if a["kind"] == "ink":
                widest = max(widest, a["radius"])
        return widest
