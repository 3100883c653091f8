"""The drawing, kept as a list of actions and rendered off-screen into a float image.

Actions are ink strokes, eraser strokes and pasted images, in canvas pixel coordinates. The
image is rendered from them at full resolution (never read back from the screen), so undo is
"drop the last action and render again", and what the model sees does not depend on the window.
"""
import numpy as np

from tinycnn import is_blank
from tinycnn.brush import stamp_segment


class Canvas:
    """A square drawing of `size` x `size` pixels with undo/redo of whole actions.

    array: (size, size) float32 in [0, 1], white ink on black.
    """

    def __init__(self, size=560):
        self.size = int(size)
        self.array = np.zeros((self.size, self.size), np.float32)
        self.actions, self.undone = [], []
        self.current = None

    # -- strokes -------------------------------------------------------------------------
    def begin_stroke(self, point, radius, erase=False):
        """Start a stroke at `point` (x, y in canvas pixels)."""
        self.current = {"kind": "erase" if erase else "ink", "radius": float(radius),
                        "points": [tuple(map(float, point))]}
        self.undone.clear()
        stamp_segment(self.array, self.current["points"][0], self.current["points"][0], radius, erase)

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
        stamp_segment(self.array, last, p, self.current["radius"], self.current["kind"] == "erase")

    def end_stroke(self):
        """Finish the stroke; it becomes one undoable action. Returns True if there was one."""
        if self.current is None:
            return False
        self.actions.append(self.current)
        self.current = None
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
        scale = 0.8 * self.size / max(h, w)
        from PIL import Image

        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        fitted = np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize(
            (nw, nh), Image.Resampling.BILINEAR), dtype=np.float32)
        self.actions.append({"kind": "image", "image": np.clip(fitted, 0, 1)})
        self.undone.clear()
        self.render()

    def clear(self):
        """Empty the canvas (undoable: the clear is an action too). Returns True if anything changed."""
        self.end_stroke()
        if not self.array.any():
            return False
        self.actions.append({"kind": "clear"})
        self.undone.clear()
        self.render()
        return True

    def undo(self):
        """Take back the last action. Returns True if there was one."""
        self.end_stroke()
        if not self.actions:
            return False
        self.undone.append(self.actions.pop())
        self.render()
        return True

    def redo(self):
        """Put back the last undone action. Returns True if there was one."""
        if self.drawing or not self.undone:
            return False
        self.actions.append(self.undone.pop())
        self.render()
        return True

    def render(self):
        """Draw every action again from an empty canvas."""
        self.array[:] = 0
        for a in self.actions:
            if a["kind"] == "clear":
                self.array[:] = 0
            elif a["kind"] == "image":
                self.array[:] = 0
                img = a["image"]
                h, w = img.shape
                top, left = (self.size - h) // 2, (self.size - w) // 2
                self.array[top:top + h, left:left + w] = img
            else:
                pts, r, erase = a["points"], a["radius"], a["kind"] == "erase"
                stamp_segment(self.array, pts[0], pts[0], r, erase)
                for p0, p1 in zip(pts, pts[1:]):
                    stamp_segment(self.array, p0, p1, r, erase)

    def widest_brush(self):
        """The largest ink radius among the strokes on the canvas now (since the last clear or image)."""
        widest = 0.0
        for a in reversed(self.actions + ([self.current] if self.current else [])):
            if a["kind"] in ("clear", "image"):
                break
            if a["kind"] == "ink":
                widest = max(widest, a["radius"])
        return widest

    def is_empty(self):
        return is_blank(self.array)
