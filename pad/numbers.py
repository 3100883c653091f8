"""Number mode of the pad (key N, or `python -m pad --number`): a wide canvas read by tc.read_number.

Each digit found gets a box and its reading over the canvas; the panel below shows the number in
large type and the probability bars of one digit: the one under the pen or mouse, else the one
touched last. What the drawing is, is decided by tc.read_number; this module only shows it.
"""
import numpy as np
import pygame

import tinycnn as tc

from .canvas import Canvas
from .theme import BAR, BG, DIM, PANEL, TEXT, WARN, WIN

WIDTH, HEIGHT = 1400, 500   # the wide canvas's pixels: room for a year, a price, a phone number
HINT = "Write a number.  Right button: erase   Ctrl+Z/Y: undo/redo   C: clear   N or Esc: one digit   H: help"
SENTENCES = {"blank": "Write a number", "too small": "Too small: write it bigger",
             "not a number": "That is not a number"}


class NumberMode:
    """The state and drawing of number mode, for a PadApp `app` (which owns canvas, screen, fonts)."""

    def __init__(self, app):
        self.app = app
        self.canvas = Canvas(WIDTH, HEIGHT)
        self.reading = tc.NumberReading("", (), None, "blank")
        self.focus = None   # canvas point of the pen or mouse last over the drawing

    def layout(self, w, bottom):
        """Canvas across the top of a window `w` wide (keeping the canvas's shape), the panel
        below it, down to `bottom` (where the status bar starts)."""
        app = self.app
        m = app.px(16)
        cw = w - 2 * m
        ch = int(cw * HEIGHT / WIDTH)
        if ch > 0.6 * (bottom - 2 * m):  # a tall-and-narrow window: height decides
            ch = int(0.6 * (bottom - 2 * m))
            cw = int(ch * WIDTH / HEIGHT)
        app.rect = pygame.Rect((w - cw) // 2, m, cw, ch)
        app.panel = pygame.Rect(m, app.rect.bottom + m, w - 2 * m, max(bottom - app.rect.bottom - 2 * m, 80))

    def predict(self):
        """Read the canvas as a number (after each finished stroke; mid-stroke the last reading stays,
        since reading several digits costs more than a frame)."""
        app = self.app
        if app.canvas.drawing and self.reading.verdict != "blank":
            return
        widest = app.canvas.widest_brush()
        self.reading = tc.read_number(app.canvas.array, app.model, pen=2 * widest if widest else None,
                                      strokes=app.ink_strokes())
        digit = self.focused()
        app.reading = digit if digit is not None else tc.read_digit(np.zeros((28, 28), np.float32), app.model)
        app.eye, app.stages = app.reading.input, app.reading.stages
        app.probs = app.reading.probs if app.reading.verdict in ("digit", "unsure") else None

    def focused(self):
        """The Reading of the digit under the pen or mouse (else the one touched last, else the last one)."""
        r = self.reading
        if not r.digits:
            return None
        i = r.digit_at(*self.focus) if self.focus is not None else len(r.digits) - 1
        return r.digits[i]

    def point(self, pos):
        """The pen or mouse is at window `pos`: remember it if over the canvas; True if the focus changed."""
        if not self.app.rect.collidepoint(pos):
            return False
        before = self.focused()
        self.focus = self.app.to_canvas(pos)
        after = self.focused()
        if after is not before and after is not None:
            app = self.app
            app.reading, app.eye, app.stages = after, after.input, after.stages
            app.probs = after.probs if after.verdict in ("digit", "unsure") else None
            return True
        return False

    def sentence(self):
        r = self.reading
        if r.verdict == "number":
            return f"It's {r.text}"
        if r.verdict == "unsure":
            return f"Not sure: {r.text}"
        return SENTENCES[r.verdict]

    # -- drawing -------------------------------------------------------------------------------
    def draw_boxes(self):
        """A box and the reading over each digit found, on the canvas."""
        app, k, px = self.app, self.app.rect.w / self.app.canvas.size, self.app.px
        focus = self.focused()
        for d in self.reading.digits:
            x, y, w, h = d.box
            box = pygame.Rect(app.rect.x + int(x * k) - 4, app.rect.y + int(y * k) - 4, int(w * k) + 8, int(h * k) + 8)
            color = WIN if d.verdict == "digit" else WARN
            pygame.draw.rect(app.screen, color, box, 3 if d is focus else 1, border_radius=4)
            label = f"{d.digit} {d.probs[d.digit]:.0%}" if d.verdict == "digit" else "?"
            size = px(24)
            above = box.y - app.line_height(size) > app.rect.y
            where = (box.x, box.y - 2) if above else (box.x, box.bottom + 2 + app.line_height(size))
            app.text(label, where, size, color if d is focus else DIM, "bottomleft")

    def draw_panel(self):
        """The number in large type, and the bars of the focused digit."""
        app, p, px = self.app, self.app.panel, self.app.px
        pygame.draw.rect(app.screen, PANEL, p, border_radius=8)
        x, y = p.x + px(16), p.y + px(10)
        hint_size = px(18)
        hint_top = p.bottom - px(8) - app.line_height(hint_size)
        bars_w = min(px(460), p.w // 2)
        bx = p.right - bars_w - px(12)
        # The number and the sentence on the left, in the space above the hint.
        r = self.reading
        number = r.verdict in ("number", "unsure")
        sentence_size = px(26)
        big = int(max(px(28), min(px(140), hint_top - y - app.line_height(sentence_size) - px(8))))
        shown = app.text(r.text if number else "-", (x, y), big, WIN if r.verdict == "number" else TEXT,
                         width=bx - x - px(12), min_size=px(20))
        app.text(self.sentence(), (x, shown.bottom + px(4)), sentence_size, TEXT, width=bx - x - px(12),
                 min_size=px(14))
        app.text("N or Esc: one digit   C: clear", (x, hint_top), hint_size, DIM, width=bx - x - px(12),
                 min_size=12)
        self.draw_focus(bx, y, bars_w, p.bottom - px(8) - y)

    def draw_focus(self, bx, y, bars_w, height):
        """The focused digit in a `bars_w` x `height` box at (bx, y): its 28x28 input and a bar per digit."""
        app, px = self.app, self.app.px
        focus = self.focused()
        caption = app.text("digit under the pen", (bx, y), px(18), DIM, width=bars_w, min_size=12).bottom + px(4)
        label_size = px(22)
        bottom = y + height - app.line_height(label_size) - px(2)
        eye = max(8, min(bottom - caption, bars_w // 3))
        pygame.draw.rect(app.screen, DIM, (bx - 1, caption - 1, eye + 2, eye + 2), 1)
        if focus is not None:
            app.screen.blit(app.gray_surface(focus.input, (eye, eye)), (bx, caption))
        gx, gw = bx + eye + px(16), bars_w - eye - px(16)
        col = gw / 10
        best = None if focus is None or focus.verdict not in ("digit", "unsure") else int(np.argmax(focus.probs))
        for d in range(10):
            prob = 0.0 if best is None else float(focus.probs[d])
            full = pygame.Rect(int(gx + d * col) + 2, caption, int(col) - 4, bottom - caption)
            pygame.draw.rect(app.screen, BG, full, border_radius=3)
            hgt = int(full.h * prob)
            if hgt > 0:
                pygame.draw.rect(app.screen, WIN if d == best else BAR,
                                 (full.x, full.bottom - max(hgt, 2), full.w, max(hgt, 2)), border_radius=3)
            app.text(str(d), (full.centerx, bottom + px(2)), label_size, WIN if d == best else TEXT, "midtop")


def toggle(app):
    """Switch `app` between one digit (square canvas) and number mode (wide canvas); each keeps its drawing."""
    if app.numbers is None:
        app.numbers = NumberMode(app) if app.number_mode_state is None else app.number_mode_state
        app.square_canvas, app.canvas = app.canvas, app.numbers.canvas
    else:
        app.number_mode_state, app.numbers = app.numbers, None
        app.canvas = app.square_canvas
    app.layout(app.screen.get_size())
    app.canvas_surface = None
    app.predict()
    app.emit({"event": "mode", "mode": "number" if app.numbers else "digit", "canvas": list(app.rect)})
