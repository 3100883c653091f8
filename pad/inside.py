"""The pad's "look inside" page (key I): what the network sees and does with the drawing.

The first convolution's learned filters, the feature maps of every convolution for the
current drawing, and saliency: the 28x28 input with the pixels that raise the winning digit's
score in orange and those that lower it in blue. Everything comes from tinycnn
(tc.feature_maps, tc.saliency); this module only lays it out. Recomputed when the drawing
changes, which the pad does once per frame while the pen moves: from the very forward pass that
read the drawing (the pad hands `InsideView.forward` to tc.read_digit), then one backward.
"""
import numpy as np
import pygame

import tinycnn as tc
from tinycnn.introspect import record, score_gradient

# A dark-to-bright palette (blue, teal, yellow) for activations: 256 RGB rows.
_t = np.linspace(0, 1, 256)[:, None]
PALETTE = (255 * np.clip(np.hstack([1.6 * _t - 0.5, 0.15 + 0.85 * _t, 0.45 + 0.6 * _t - 0.9 * _t ** 2]),
                         0, 1)).astype(np.uint8)


def mosaic(maps, cols, pad=1):
    """maps: (K, h, w) -> one (rows*(h+pad)-pad, cols*(w+pad)-pad) image in 0..1, each map scaled
    to its own range; the gaps are -1 (drawn as background)."""
    k, h, w = maps.shape
    rows = -(-k // cols)
    lo = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - lo
    scaled = np.where(span > 0, (maps - lo) / np.where(span > 0, span, 1), 0)
    # Each map in the corner of an (h + pad, w + pad) tile of gap, the tiles laid out in rows of
    # `cols` by one reshape (a loop over the maps costs twice as much, every frame), the last gaps cut.
    tiles = np.full((rows * cols, h + pad, w + pad), -1.0, np.float32)
    tiles[:k, :h, :w] = scaled
    out = tiles.reshape(rows, cols, h + pad, w + pad).transpose(0, 2, 1, 3).reshape(rows * (h + pad), -1)
    return out[:rows * (h + pad) - pad, :cols * (w + pad) - pad]


def saliency_rgb(image, sal):
    """image, sal: (28, 28) -> (28, 28, 3) uint8: the drawing in gray, saliency over it
    (orange where a pixel raises the score, blue where it lowers it)."""
    s = sal / (np.percentile(np.abs(sal), 99) or 1.0)  # the top 1% saturate: the rest stays visible
    pos, neg = np.clip(s, 0, 1)[..., None], np.clip(-s, 0, 1)[..., None]
    base = 0.35 * np.clip(image, 0, 1)[..., None] * np.ones(3)
    rgb = base * (1 - pos - neg) + pos * np.array([1.0, 0.6, 0.1]) + neg * np.array([0.2, 0.5, 1.0])
    return (255 * np.clip(rgb, 0, 1)).astype(np.uint8)


def still_saved(seen):
    """True if the layers still hold what this recorded pass saved for backward (no other pass
    on the model since): each layer that keeps its input (x) or output (y) keeps these very arrays."""
    checked = [vars(layer).get(k) is v for _, layer, x, y in seen for k, v in (("x", x), ("y", y)) if k in layer.saved]
    return bool(checked) and all(checked)


class InsideView:
    """Draws the page into the pad's panel; recomputes only when the pad's 28x28 input changed.

    colors: (text, dim, background) RGB tuples of the pad, so the page matches it.
    """

    def __init__(self, model, colors):
        self.model = model
        self.text_color, self.dim, bg = colors
        self.palette = [tuple(bg)] + [tuple(int(v) for v in c) for c in PALETTE[1:]]  # index 0: the gaps
        self.eye, self.digit = None, None
        self.passed = None  # (input, recorded layers) of the reading's forward, see forward
        self.maps = []     # [(name, output (channels, h, w), its mosaic)] of every convolution
        self.sal = None    # the saliency picture, (28, 28, 3) uint8 transposed for pygame
        convs = [layer for _, layer in model.named_layers() if isinstance(layer, tc.Conv2D)]
        w = convs[0].params["W"] if convs else np.zeros((0, 1, 1, 1), np.float32)
        self.filters = mosaic(w.mean(axis=1), 8) if len(w) else None  # a one-channel input's filters as they are

    def forward(self, x):
        """model.forward(x), recorded layer by layer: tc.read_digit runs it in place of the plain
        forward when this page is open, so that update needs no second pass. x: (1, 1, 28, 28)."""
        self.model.eval()
        seen = record(self.model, x)
        self.passed = (x, seen)
        return seen[-1][3]

    def update(self, eye, digit):
        """Feature maps and saliency for the 28x28 image `eye` and the pad's verdict `digit`:
        one recorded forward (the reading's, if it read `eye` and no other pass ran since), then
        one backward from it."""
        was_training = self.model.training
        self.model.eval()
        passed, self.passed = self.passed, None
        try:
            if passed is not None and np.array_equal(passed[0][0, 0], eye) and still_saved(passed[1]):
                seen = passed[1]
            else:  # the reading did not ask the model (a blank), or the model ran again since
                seen = record(self.model, eye[None, None].astype(np.float32))
            self.maps = [(name, y[0], mosaic(y[0], 8 if len(y[0]) <= 32 else 16))
                         for name, layer, _, y in seen if isinstance(layer, tc.Conv2D)]
            logits = seen[-1][3]
            sal = score_gradient(self.model, logits, digit)[0, 0] if eye.any() else np.zeros_like(eye)
        finally:
            self.model.train(was_training)
        self.sal = saliency_rgb(eye, sal).transpose(1, 0, 2)  # (x, y, rgb), as pygame wants it
        self.eye, self.digit = eye, digit

    def draw(self, app, rect):
        if self.eye is not app.eye:
            self.update(app.eye, None if app.probs is None else int(np.argmax(app.probs)))
        screen, x, y, w = app.screen, rect.x + 14, rect.y + 12, rect.w - 28
        y = app.text(app.verdict()[1] + "     I: back", (x, y), 24, self.text_color, width=w, min_size=16).bottom + 10

        # Top row: saliency over the input, then the first layer's filters.
        side = min(128, max(56, w // 3))
        caption = ("Saliency" if self.digit is None else f"Why a {self.digit}?" if app.reading.verdict == "digit"
                   else f"Why {self.digit}, its best guess?")
        app.text(caption, (x, y), 16, self.dim, width=side + 12, min_size=12)
        app.text("First layer's filters", (x + side + 16, y), 16, self.dim)
        top = y + 16
        app.text("orange: for, blue: against", (x, top + side + 4), 16, self.dim)
        screen.blit(pygame.transform.scale(pygame.surfarray.make_surface(self.sal), (side, side)), (x, top))
        pygame.draw.rect(screen, self.dim, (x - 1, top - 1, side + 2, side + 2), 1)
        if self.filters is not None:
            fm = self.filters
            scale = min((w - side - 16) / fm.shape[1], side / fm.shape[0])
            self.blit(screen, fm, (x + side + 16, top), scale)
        y = top + side + 26

        # One mosaic per convolution, sharing what is left of the panel's height.
        room = rect.bottom - 8 - y
        for name, fmap, m in self.maps:
            scale = min(w / m.shape[1], (room / len(self.maps) - 20) / m.shape[0], 4)
            app.text(f"Layer {name}, convolution: {len(fmap)} feature maps, {fmap.shape[1]}x{fmap.shape[2]}",
                     (x, y), 16, self.dim, width=w, min_size=12)
            y += 16 + self.blit(screen, m, (x, y + 16), scale)[1] + 4

    def blit(self, screen, m, pos, scale):
        """Draw a mosaic (values in 0..1, gaps -1) in the palette at `scale` screen pixels per value."""
        idx = np.where(m < 0, 0, 1 + np.clip(m, 0, 1) * 254).astype(np.uint8)
        surf = pygame.Surface((m.shape[1], m.shape[0]), depth=8)
        surf.set_palette(self.palette)
        pygame.surfarray.blit_array(surf, idx.T)
        size = (max(1, int(m.shape[1] * scale)), max(1, int(m.shape[0] * scale)))
        screen.blit(pygame.transform.scale(surf, size), pos)
        return size
