"""The drawing pad: a pygame window that reads the digit you draw, as you draw it.

PadApp owns the state (canvas, prediction, layout) and reacts to pygame events in `handle`;
`frame` runs one frame (events, prediction if the drawing changed, drawing). The main loop is
just `while app.running: app.frame()`, and tests drive the same code by posting events. What
is drawn around the canvas is in panel.py (one digit), numbers.py (number mode) and inside.py
(the I page); text in text.py; colours and scale in theme.py.
"""
import contextlib
import json
import os
import signal
import threading
import time
from collections import deque

import numpy as np
import pygame

import tinycnn as tc

from . import numbers, panel
from .canvas import Canvas
from .inside import InsideView
from .personal import HELP as PERSONAL_HELP, Personal
from .strokecache import StrokeCache
from .text import Text
from .theme import BG, DIM, MIN_SIZE, PANEL, TEXT, ui_scale

STATUS_H = 40          # the status bar at the bottom (at 900x600): two lines of small text
CANVAS_PIXELS = 560    # the off-screen drawing's resolution, whatever the window size
VIEWS = 3              # test-time views per reading: chosen on the dev_tune writers (docs/measurements.md)
QUIT_SIGNALS = ("SIGHUP", "SIGTERM", "SIGINT")  # a closed terminal, a kill, Ctrl+C: all end the pad cleanly
HINT = "Draw a digit.  Right button: erase   Ctrl+Z/Y: undo/redo   C: clear   [ ]: brush   H: help"
HELP = [
    ("Left button", "draw"),
    ("Right button", "erase"),
    ("Wheel, [ and ]", "brush size"),
    ("Ctrl+Z / Ctrl+Y", "undo / redo a whole stroke"),
    ("C, Backspace, Delete", "clear"),
    ("S", "show the preprocessing stages"),
    ("N", "number mode: a wide canvas, read as a number"),
    ("I", "look inside: feature maps, filters, saliency"),
    ("H or F1", "this help"),
    ("Drop an image file", "read a photo or scan of a digit"),
    *PERSONAL_HELP,
    ("Esc", "close the help, a page or number mode; else quit"),
]


def gray_pixels(surf, a):
    """A float (h, w) image in [0, 1] -> (w, h) pixel values of `surf`'s format, gray: g times the
    value of RGB(1, 1, 1), written straight into a 32-bit surface (no 3-channel copy, half the
    time of the obvious way; this runs every frame while drawing)."""
    return ((np.clip(a, 0, 1) * 255).astype(np.uint32) * surf.map_rgb((1, 1, 1))).T


class PadApp:
    """The pad. `model`: a tinycnn model taking (N, 1, 28, 28); `log_path`: JSON-lines event log;
    `profile`: the folder of the user's drawings and personal model (None: no personal learning);
    `model_path`: the file `model` came from (None: the shipped one), which learning starts from
    and which wins over a personal model; `imports`: modules that define its layers (for the learner)."""

    def __init__(self, model, size=(900, 600), log_path=None, image=None, number=False, profile=None,
                 model_path=None, imports=(), views=VIEWS):
        pygame.display.init()  # display and fonts only: the pad makes no sound, and audio init can stall
        pygame.font.init()
        if pygame.display.get_driver() == "x11":
            # SDL shows a window drawn in software through OpenGL unless told not to: without a
            # GPU (Mesa in software) that costs 5-7 ms a frame, X11's shared-memory image 0.3 ms.
            os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
        pygame.display.set_caption("tinycnn pad: draw a digit")
        self.screen = pygame.display.set_mode(size, pygame.RESIZABLE)
        self.model = model
        self.views = views            # test-time views per reading (tc.read_digit(..., views=))
        self.canvas = Canvas(CANVAS_PIXELS)
        self.brush = 18.0
        self.reading = tc.read_digit(np.zeros((28, 28), np.float32), model)  # "blank"
        self.probs, self.eye, self.stages = None, self.reading.input, None
        self.show_help = self.show_stages = False
        self.inside = None            # the look-inside page (key I), built on first use
        self.message, self.message_until, self.message_error = "", 0.0, False
        self.mouse = None
        self.dirty = True
        self.stale = False            # the prediction is older than the drawing
        self.canvas_surface = None    # the canvas scaled to the window, rebuilt when either changes
        self.canvas_pixels = None     # (canvas, its gray picture at full resolution), see canvas_view
        self.strokes = StrokeCache()
        self.running = True
        self.quit_signal = None       # the signal that ended the session, if one did
        self.frame_ms = deque(maxlen=600)     # work per frame, for the stats logged at quit
        self.drawing_ms = deque(maxlen=2000)  # the same, for frames in which the pen moved
        self.clock = pygame.time.Clock()
        self.writer = Text()
        w = self.writer
        self.font, self.fit, self.wrap, self.choose = w.font, w.fit, w.wrap, w.choose
        self.log_path = log_path
        self.log = open(log_path, "a", buffering=1) if log_path else None
        self.numbers = self.number_mode_state = self.square_canvas = None  # number mode: pad/numbers.py
        self.layout(self.screen.get_size())
        self.emit({"event": "ready", "window": list(self.screen.get_size()), "canvas": list(self.rect)})
        self.personal = Personal(self, profile, model_path, imports)
        if number:
            numbers.toggle(self)
        if image is not None:
            self.load_image(image)

    # -- layout and coordinates ----------------------------------------------------------
    def layout(self, size):
        """Place the canvas (a square) and the panel for a window of `size`: side by side in a
        wide window, the panel below the canvas in a tall one; the status bar along the bottom."""
        w, h = max(size[0], MIN_SIZE[0]), max(size[1], MIN_SIZE[1])
        self.ui = ui_scale((w, h))
        m = 16 if min(w, h) >= 500 else 10
        bottom = h - self.px(STATUS_H)  # where the status bar starts
        if bottom > 1.2 * w:   # tall: canvas on top, full width; the panel below it
            side = int(min(w - 2 * m, 0.6 * (bottom - 3 * m)))
            self.rect = pygame.Rect((w - side) // 2, m, side, side)
            self.panel = pygame.Rect(m, self.rect.bottom + m, w - 2 * m, bottom - self.rect.bottom - m)
        else:
            side = int(min(bottom - m, w * 0.55 - 2 * m))
            self.rect = pygame.Rect(m, m, side, side)
            px = self.rect.right + m
            self.panel = pygame.Rect(px, m, w - px - m, bottom - m)
        self.status = pygame.Rect(m, bottom + 2, w - 2 * m, h - bottom - 6)
        self.canvas_surface = None
        self.dirty = True
        if self.numbers is not None:
            self.numbers.layout(w, bottom)

    def px(self, n):
        """`n` pixels of a 900x600 window, in this window (see theme.ui_scale)."""
        return max(1, round(n * self.ui))

    def to_canvas(self, pos):
        """Window pixel (x, y) -> canvas pixel (x, y), as floats (may lie outside the canvas)."""
        s = self.canvas.size / self.rect.w
        return ((pos[0] - self.rect.x) * s, (pos[1] - self.rect.y) * s)

    # -- events --------------------------------------------------------------------------
    def handle(self, ev):
        """React to one pygame event."""
        t = ev.type
        if t == pygame.QUIT:
            self.running = False
        elif t in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP, pygame.MOUSEMOTION) and getattr(ev, "touch", False):
            return  # SDL also sends touches as mouse events; the finger events below draw them
        elif t == pygame.MOUSEBUTTONDOWN and ev.button in (1, 3):
            self.pen_down(ev.pos, erase=ev.button == 3)
        elif t == pygame.MOUSEMOTION:
            self.mouse, self.dirty = ev.pos, True
            if self.numbers is not None:
                self.numbers.point(ev.pos)
            if any(ev.buttons[i] for i in (0, 2)):
                self.pen_move(ev.pos)
            else:  # the button came up outside the window
                self.pen_up()
        elif t == pygame.MOUSEBUTTONUP and ev.button in (1, 3):
            self.pen_up(ev.pos)
        elif t == pygame.MOUSEWHEEL:
            self.set_brush(self.brush + 2 * ev.y)
        elif t in (pygame.FINGERDOWN, pygame.FINGERMOTION, pygame.FINGERUP):
            w, h = self.screen.get_size()
            pos = (ev.x * w, ev.y * h)  # fingers come in 0..1 of the window
            {pygame.FINGERDOWN: self.pen_down, pygame.FINGERMOTION: self.pen_move, pygame.FINGERUP: self.pen_up}[t](pos)
        elif t == pygame.KEYDOWN:
            self.key(ev)
        elif t == pygame.VIDEORESIZE:
            size = (max(ev.size[0], MIN_SIZE[0]), max(ev.size[1], MIN_SIZE[1]))  # smaller is set back
            if self.screen.get_size() != size:
                self.screen = pygame.display.set_mode(size, pygame.RESIZABLE)
            self.layout(size)
        elif t == pygame.WINDOWSIZECHANGED:
            self.layout(self.screen.get_size())
        elif t == pygame.DROPFILE:
            self.load_image(ev.file)

    def key(self, ev):
        ctrl = ev.mod & pygame.KMOD_CTRL
        k, ch = ev.key, getattr(ev, "unicode", "")
        if k == pygame.K_ESCAPE:
            self.escape()
        elif ctrl and (k == pygame.K_y or (k == pygame.K_z and ev.mod & pygame.KMOD_SHIFT)):
            if self.canvas.redo():
                self.changed("redo")
        elif ctrl and k == pygame.K_z:
            if self.canvas.undo():
                self.changed("undo")
        elif k in (pygame.K_c, pygame.K_BACKSPACE, pygame.K_DELETE) and not ctrl:
            if self.canvas.clear():
                self.changed("clear")
        elif k == pygame.K_LEFTBRACKET or ch == "[":
            self.set_brush(self.brush - 2)
        elif k == pygame.K_RIGHTBRACKET or ch == "]":
            self.set_brush(self.brush + 2)
        elif k in (pygame.K_h, pygame.K_F1):
            self.show_help = not self.show_help
            self.dirty = True
        elif k == pygame.K_i and not ctrl:
            self.inside = None if self.inside else InsideView(self.model, (TEXT, DIM, PANEL))
            self.dirty = True
        elif k == pygame.K_s and not ctrl:
            self.show_stages = not self.show_stages
            self.dirty = True
        elif k == pygame.K_n and not ctrl:
            numbers.toggle(self)
        else:
            self.personal.key(ev)

    def escape(self):
        """Esc closes what is in front, one thing a press: the help, then number mode (its drawing
        kept for N), then a page (I or S); on the plain one-digit screen it quits."""
        if self.show_help:
            self.show_help, self.dirty = False, True
        elif self.numbers is not None:
            numbers.toggle(self)
        elif self.inside or self.show_stages:
            self.inside, self.show_stages, self.dirty = None, False, True
        else:
            self.running = False

    def set_brush(self, radius):
        self.brush = float(min(max(radius, 4), 60))
        self.dirty = True

    # -- the pen (mouse or finger), in window pixels ------------------------------------------
    def pen_down(self, pos, erase=False):
        if self.numbers is not None:
            self.numbers.point(pos)
        if self.rect.collidepoint(pos):
            self.canvas.begin_stroke(self.to_canvas(pos), self.brush, erase=erase)
            self.changed()

    def pen_move(self, pos):
        if self.canvas.drawing:
            self.canvas.extend_stroke(self.to_canvas(pos))
            self.changed()

    def pen_up(self, pos=None):
        if not self.canvas.drawing:
            return
        if pos is not None:
            self.canvas.extend_stroke(self.to_canvas(pos))
        self.canvas.end_stroke()
        self.changed("stroke")

    def changed(self, event=None):
        """The drawing changed. Mid-stroke, predict once per frame (in `frame`), however many
        mouse events arrive; after a finished action, predict now and log it."""
        self.canvas_surface = None
        if event is None:
            self.stale = True
        else:
            self.predict()
            self.emit_prediction(event)

    def load_image(self, path):
        """Put a picture of a digit on the canvas, or show why it cannot be read."""
        try:
            image = tc.read_digit_image(path)
        except tc.DigitImageError as e:
            self.say(str(e))
            return False
        self.canvas.paste_image(image)
        self.changed("image")
        self.say(f"Loaded {os.path.basename(str(path))}", error=False)
        return True

    def say(self, text, seconds=5.0, error=True):
        """Show `text` in the status bar for a while; an error is also logged."""
        self.message, self.message_until, self.message_error = text, time.monotonic() + seconds, error
        self.dirty = True
        if error:
            self.emit({"event": "error", "message": text})

    # -- prediction ----------------------------------------------------------------------
    def predict(self):
        """Read the canvas through tc.read_digit, which decides what the drawing is."""
        self.dirty, self.stale = True, False
        if self.numbers is not None:
            self.numbers.predict()
            return
        widest = self.canvas.widest_brush()
        strokes = self.ink_strokes()
        # The I page looks inside the pass that reads the drawing instead of running one more.
        look = self.inside.forward if self.inside and self.inside.model is self.model else None
        self.reading = tc.read_digit(self.canvas.array, self.model, pen=2 * widest if widest else None,
                                     strokes=strokes, forward=look, views=self.views)
        self.eye, self.stages = self.reading.input, self.reading.stages
        self.probs = self.reading.probs if self.reading.verdict in ("digit", "unsure") else None

    def ink_strokes(self):
        """The pen strokes on the canvas since it was last cleared, as (n, 2) arrays of canvas
        pixels, for the reader to re-render at MNIST's stroke width; None when an eraser stroke or
        a pasted image means the pixels are what there is to read."""
        shown = self.canvas.actions + ([self.canvas.current] if self.canvas.current else [])
        since = shown[max((i + 1 for i, a in enumerate(shown) if a["kind"] == "clear"), default=0):]
        self.strokes.keep(since)
        return [self.strokes.points(a) for a in since] if since and all(a["kind"] == "ink" for a in since) else None

    def verdict(self):
        """(digit or None, sentence) for the current reading."""
        r = self.reading
        if r.verdict == "digit":
            return r.digit, f"It's a {r.digit}"
        if r.verdict == "unsure":
            (a, pa), (b, pb) = r.top(2)
            return None, f"Not sure: {a} ({pa:.0%}) or {b} ({pb:.0%})?"
        return None, {"blank": "Draw a digit", "too small": "Too small: draw it bigger",
                      "not a digit": "That is not a digit"}[r.verdict]

    # -- the log -------------------------------------------------------------------------
    def emit_prediction(self, event):
        digit, _ = self.verdict()
        probs = None if self.probs is None else [round(float(p), 6) for p in self.probs]
        top3 = [] if self.probs is None else [[int(d), round(float(self.probs[d]), 6)]
                                               for d in np.argsort(-self.probs)[:3]]
        record = {"event": "prediction", "after": event, "verdict": self.reading.verdict, "probs": probs,
                  "digit": digit, "top3": top3}
        if self.numbers is not None:  # the digit fields describe the digit under the pen
            record.update(number=self.numbers.reading.text, number_verdict=self.numbers.reading.verdict)
        self.emit(record)

    def emit(self, record):
        """Append one JSON line to the log. If the log cannot be written (a full disk, a removed
        drive), say so once and go on without it: the drawing matters more than the log."""
        if self.log is None:
            return
        try:
            self.log.write(json.dumps(record) + "\n")
            self.log.flush()
        except OSError as e:
            log, self.log = self.log, None
            try:
                log.close()
            except OSError:
                pass  # closing flushes what is buffered, and fails the same way
            self.say(f"Cannot write the log {self.log_path} ({e.strerror or e}); logging stopped", 10.0)

    # -- drawing -------------------------------------------------------------------------
    def text(self, s, pos, size=24, color=TEXT, anchor="topleft", width=None, min_size=None):
        """Draw `s` on the screen (see Text.draw); returns the rectangle drawn."""
        return self.writer.draw(self.screen, s, pos, size, color, anchor, width, min_size)

    def text_width(self, s, size):
        return self.writer.font(size).size(s)[0]

    def line_height(self, size):
        return self.writer.line_height(size)

    def gray_surface(self, a, size):
        """A float (h, w) image in [0, 1] as a gray pygame surface scaled to `size` (w, h) (see
        gray_pixels). Small images are enlarged with visible pixels, large ones smoothly."""
        surf = pygame.Surface((a.shape[1], a.shape[0]), depth=32)
        pygame.surfarray.blit_array(surf, gray_pixels(surf, a))
        return pygame.transform.scale(surf, size) if a.shape[0] <= 40 else pygame.transform.smoothscale(surf, size)

    def canvas_view(self):
        """The canvas as gray_surface shows it, scaled to the canvas rectangle. Its picture at full
        resolution is kept, and only the pixels the canvas changed since are converted again:
        while drawing, a few brush widths instead of 560x560 (this runs every frame)."""
        c = self.canvas
        box = c.take_damage()
        if self.canvas_pixels is None or self.canvas_pixels[0] is not c:
            self.canvas_pixels = (c, pygame.Surface((c.size, c.height), depth=32))
            box = (0, 0, c.size, c.height)
        surf = self.canvas_pixels[1]
        if box is not None:
            x0, y0, x1, y1 = box
            pygame.surfarray.pixels2d(surf)[x0:x1, y0:y1] = gray_pixels(surf, c.array[y0:y1, x0:x1])
        return pygame.transform.smoothscale(surf, self.rect.size)

    def draw(self):
        s = self.screen
        s.fill(BG)
        if self.canvas_surface is None:
            self.canvas_surface = self.canvas_view()
        s.blit(self.canvas_surface, self.rect)
        pygame.draw.rect(s, DIM, self.rect, 1)
        if self.numbers is not None:
            self.numbers.draw_boxes()
        if self.mouse and self.rect.collidepoint(self.mouse):
            r = self.brush * self.rect.w / self.canvas.size
            pygame.draw.circle(s, DIM, self.mouse, max(int(r), 2), 1)
        if self.numbers is not None:
            self.numbers.draw_panel()
        else:
            self.draw_panel(reserve=self.personal.strip_height())
            self.personal.draw()
        panel.draw_status(self, numbers.HINT if self.numbers is not None else HINT)
        if self.show_help:
            panel.draw_help(self, HELP)

    def draw_panel(self, reserve=0):
        """The panel beside the canvas: the I page when it is open, else the digit's bars."""
        pygame.draw.rect(self.screen, PANEL, self.panel, border_radius=8)
        if not self.inside:
            return panel.draw_digit_panel(self, reserve)
        if self.inside.model is not self.model:  # a personal model was learned or reset
            self.inside = InsideView(self.model, (TEXT, DIM, PANEL))
        p = self.panel
        self.inside.draw(self, pygame.Rect(p.x, p.y, p.w, p.h - reserve))

    # -- the loop --------------------------------------------------------------------------
    def frame(self, fps=60):
        """One frame: handle the queued events (predicting when the drawing changes), redraw, wait."""
        start = time.perf_counter()
        for ev in pygame.event.get():
            self.handle(ev)
        self.personal.poll()
        drawing = self.stale  # the pen moved: this frame reads the digit again
        if self.stale:
            self.predict()
        if self.message and time.monotonic() >= self.message_until:
            self.message, self.dirty = "", True
        if self.dirty:
            self.draw()
            pygame.display.flip()
            self.dirty = False
        self.frame_ms.append((time.perf_counter() - start) * 1000)
        if drawing:
            self.drawing_ms.append(self.frame_ms[-1])
        if fps:
            self.clock.tick(fps)

    def run(self):
        """The main loop, until Esc, the window is closed, or a signal asks the pad to end."""
        with self.quit_on_signals():
            while self.running:
                self.frame()
        self.close()

    @contextlib.contextmanager
    def quit_on_signals(self):
        """While the loop runs, SIGHUP (the terminal closed), SIGTERM and SIGINT end it after the
        event in hand, as the window's close button does: a drawing being saved is saved whole,
        and the pad closes its profile and log. The handler only sets flags: it runs between two
        bytecodes of whatever the pad was doing, a write to the log included."""
        def stop(signum, _frame):
            self.running, self.quit_signal = False, signal.Signals(signum).name

        previous = {}
        if threading.current_thread() is threading.main_thread():  # the only thread that may set them
            for name in QUIT_SIGNALS:
                if hasattr(signal, name):
                    previous[name] = signal.signal(getattr(signal, name), stop)
        try:
            yield
        finally:
            for name, handler in previous.items():  # None: a handler set outside Python (SDL's)
                signal.signal(getattr(signal, name), signal.SIG_DFL if handler is None else handler)

    def close(self):
        self.personal.close()
        if self.quit_signal:
            self.emit({"event": "signal", "signal": self.quit_signal})
        if self.frame_ms:
            ms, dr = np.array(self.frame_ms), np.array(self.drawing_ms or [0.0])
            self.emit({"event": "quit", "frames": len(ms), "mean_frame_ms": round(float(ms.mean()), 3),
                       "p95_frame_ms": round(float(np.percentile(ms, 95)), 3),
                       "drawing_frames": len(self.drawing_ms), "drawing_mean_ms": round(float(dr.mean()), 3),
                       "drawing_p95_ms": round(float(np.percentile(dr, 95)), 3),
                       "drawing_max_ms": round(float(dr.max()), 3)})
        if self.log is not None:
            with contextlib.suppress(OSError):
                self.log.close()
            self.log = None
        pygame.quit()
