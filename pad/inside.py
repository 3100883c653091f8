"""The pad's "look inside" page (key I): what the network sees and does with the drawing.

The first convolution's learned filters, the feature maps of every convolution for the
current drawing (named as a reader would: "conv 2: 64 maps, 14x14"), and saliency: the 28x28
input with the pixels that raise the winning digit's score in orange and those that lower it
in blue. Everything comes from tinycnn
(tc.feature_maps, tc.saliency); this module only lays it out. Recomputed when the drawing
changes, which the pad does once per frame while the pen moves: from the very forward pass that
read the drawing (the pad hands `InsideView.forward` to tc.read_digit), then one backward.
The page fills the panel at any size: the maps in tiles as large as fit, and in a window too
small for all of them, the maps of each layer with the most contrast.
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


def conv_labels(model):
    """{dotted name: what a reader calls it} for every Conv2D of `model`: "conv 1", "conv 2", and
    "conv 3 (residual block)" for one inside a block, numbered in the order they run."""
    layers = dict(model.named_layers())
    labels = {}
    for name, layer in layers.items():
        if isinstance(layer, tc.Conv2D):
            parent = layers.get(name.rpartition(".")[0]) if "." in name else None
            block = f" ({type(parent).__name__.lower()} block)" if parent is not None else ""
            labels[name] = f"conv {len(labels) + 1}{block}"
    return labels


def plan(layers, width, height, label_h, smallest, largest):
    """Tiles for layers of maps in a `width` x `height` box, each layer a label line and rows of
    square tiles. layers: [(number of maps, map side)] -> (tile side per layer, maps shown per
    layer). Every map is shown, in tiles as large as fit (the smallest layer's between `smallest`
    and `largest`), larger maps in larger tiles (by the cube root of the side ratio: 28x28 maps
    1.6 times the side of 7x7 ones) if that fits, else all alike; if even `smallest` is too large,
    tiles of `smallest` and from each layer as many maps as fit in its share of the rows."""
    counts = [n for n, _ in layers]
    base = min(side for _, side in layers)

    def height_at(sides):
        return sum(-(-n // max(1, width // t)) * t for n, t in zip(counts, sides)) + len(layers) * label_h

    for grow in ([(side / base) ** (1 / 3) for _, side in layers], [1.0] * len(layers)):
        for t in range(max(largest, smallest), smallest - 1, -1):
            sides = [max(1, int(t * g)) for g in grow]
            if height_at(sides) <= height:
                return sides, counts
    cols = max(1, width // smallest)
    rows = [1] * len(layers)  # every layer gets a row, then the rows left go round the layers
    spare = (height - len(layers) * label_h) // smallest - len(layers)
    while spare > 0 and any(r * cols < n for r, n in zip(rows, counts)):
        for i, n in enumerate(counts):
            if spare > 0 and rows[i] * cols < n:
                rows[i], spare = rows[i] + 1, spare - 1
    return [smallest] * len(layers), [min(n, r * cols) for n, r in zip(counts, rows)]


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
        self.maps = []     # [(label, output (channels, h, w), channels by contrast)] of every convolution
        self.sal = None    # the saliency picture, (28, 28, 3) uint8 transposed for pygame
        self.labels = conv_labels(model)
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
            # A small window shows only some maps of a layer: those with the most contrast, the
            # ones that respond to where the ink is rather than a flat tint.
            self.maps = [(self.labels.get(name, name), y[0], np.argsort(-y[0].std(axis=(1, 2)), kind="stable"))
                         for name, layer, _, y in seen if isinstance(layer, tc.Conv2D)]
            logits = seen[-1][3]
            sal = score_gradient(self.model, logits, digit)[0, 0] if eye.any() else np.zeros_like(eye)
        finally:
            self.model.train(was_training)
        self.sal = saliency_rgb(eye, sal).transpose(1, 0, 2)  # (x, y, rgb), as pygame wants it
        self.eye, self.digit = eye, digit

    def draw(self, app, rect):
        """The page in `rect` of the pad's screen: the verdict, saliency and the first layer's
        filters, then every convolution's maps, all sized to fill it."""
        if self.eye is not app.eye:
            self.update(app.eye, None if app.probs is None else int(np.argmax(app.probs)))
        px = app.px
        x, y, w = rect.x + px(14), rect.y + px(10), rect.w - 2 * px(14)
        y = app.text(app.verdict()[1] + "     I: back", (x, y), px(24), self.text_color, width=w,
                     min_size=px(14)).bottom + px(6)
        y = self.draw_top_row(app, x, y, w, rect.h)
        self.draw_maps(app, x, y + px(6), w, rect.bottom - px(8) - y - px(6))

    def draw_top_row(self, app, x, y, w, page_h):
        """Saliency over the input (why this digit), and the first layer's filters beside it;
        returns the y below them."""
        px, screen = app.px, app.screen
        small = px(16)
        line = app.line_height(small)
        side = int(max(px(40), min(w * 0.32, page_h * 0.22, px(240))))
        caption = ("Saliency" if self.digit is None else f"Why a {self.digit}?" if app.reading.verdict == "digit"
                   else f"Why {self.digit}, its best guess?")
        app.text(caption, (x, y), small, self.dim, width=side + px(12), min_size=11)
        fx = x + side + px(16)
        app.text("First layer's filters", (fx, y), small, self.dim, width=x + w - fx, min_size=11)
        top = y + line + px(2)
        screen.blit(pygame.transform.scale(pygame.surfarray.make_surface(self.sal), (side, side)), (x, top))
        pygame.draw.rect(screen, self.dim, (x - 1, top - 1, side + 2, side + 2), 1)
        if self.filters is not None:
            fm = self.filters
            self.blit(screen, fm, (fx, top), min((x + w - fx) / fm.shape[1], side / fm.shape[0]))
        app.text("orange: for, blue: against", (x, top + side + px(3)), small, self.dim, width=w, min_size=11)
        return top + side + px(3) + line

    def draw_maps(self, app, x, y, w, height):
        """Every convolution's maps in square tiles, as large as the room allows (see plan)."""
        if not self.maps:
            return
        px = app.px
        size = px(17)
        label_h = app.line_height(size) + px(3)
        sides, shown = plan([fmap.shape[:2] for _, fmap, _ in self.maps], w, height, label_h, max(12, px(13)),
                            px(160))
        for (label, fmap, order), n, side in zip(self.maps, shown, sides):
            c, h, hw = fmap.shape
            what = app.choose([f"{label}: {c} maps, {h}x{hw}" + (f" ({n} shown)" if n < c else ""),
                               f"{label.split(' (')[0]}: {c} maps {h}x{hw}" + (f", {n} shown" if n < c else "")],
                              size, w, 11)
            app.text(what, (x, y), size, self.dim, width=w, min_size=11)
            y += label_h
            if n == 0:
                continue
            pick = np.sort(order[:n]) if n < c else slice(None)  # in channel order: a map keeps its place
            rows = -(-n // max(1, w // side))
            gap = max(1, h // 7)  # about 1/8 of a tile, whatever the map's size
            m = mosaic(fmap[pick], -(-n // rows), pad=gap)  # the rows evenly filled, no last row of one
            self.blit(app.screen, m, (x, y), side / (h + gap))
            y += rows * side

    def blit(self, screen, m, pos, scale):
        """Draw a mosaic (values in 0..1, gaps -1) in the palette at `scale` screen pixels per value."""
        idx = np.where(m < 0, 0, 1 + np.clip(m, 0, 1) * 254).astype(np.uint8)
        surf = pygame.Surface((m.shape[1], m.shape[0]), depth=8)
        surf.set_palette(self.palette)
        pygame.surfarray.blit_array(surf, idx.T)
        size = (max(1, int(m.shape[1] * scale)), max(1, int(m.shape[0] * scale)))
        screen.blit(pygame.transform.scale(surf, size), pos)
        return size
