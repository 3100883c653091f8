"""The pad learns your handwriting: label drawings with 0-9, learn with L, reset with R.

Personal is the pad's part of it; PadApp keeps one (`app.personal`) and calls `key`, `poll`,
`draw` and `close`. The drawings and the personal model live in a tc.Profile (a per-user folder);
learning runs in a background process (pad.learner) while the pad keeps drawing and reading.
"""
import json
import os
import signal
import time

import numpy as np
import pygame

import tinycnn as tc

from . import learner
from .theme import BAR, BG, DIM, TEXT, WARN

OFFER = 10        # labelled drawings after which learning is offered
DIGIT_KEYS = {getattr(pygame, f"K_{d}"): d for d in range(10)}
DIGIT_KEYS.update({getattr(pygame, f"K_KP{d}", None): d for d in range(10)})
DIGIT_KEYS.pop(None, None)
HELP = [("0-9 after drawing", "\"this is a 7\": add it to your set"),
        ("L", "learn my handwriting (in the background)"),
        ("R", "back to the model you started with (your set stays)")]


class Personal:
    """`folder`: the profile folder (None: off); `base_path`: the model file the pad started with
    (None: the shipped one), which learning starts from. A model file given on the command line
    wins: the profile's personal model is used at start only when there is none.
    `imports`: the modules that define the model's layers, imported by the learner too."""

    def __init__(self, app, folder=None, base_path=None, imports=()):
        self.app, self.base, self.base_path, self.imports = app, app.model, base_path, tuple(imports)
        self.base_name = os.path.basename(str(base_path)) if base_path else "the shipped model"
        self.profile = tc.Profile(folder) if folder is not None else None
        self.counts = np.zeros(10, np.int64)
        self.job = self.progress = None
        self.intervals, self.last_frame = [], None   # frame intervals while learning
        self.broken = None
        self.failed = False       # the last learning failed: the strip offers L again
        self.personal_model = False
        self.learn_options = {}   # passed to tc.personalize (the tests make learning short)
        if self.profile is None:
            return
        try:
            self.counts = self.profile.counts()
            model = self.profile.load_model() if base_path is None else None
        except tc.ProfileError as e:
            self.broken = str(e)
            app.say(f"{e}. Using {self.base_name}.", seconds=10)
            return
        if model is not None:
            self.use(model)
            app.say(f"Using your personal model ({self.profile.model_path}); R: back to the shipped one",
                    error=False)

    def model_name(self):
        """The model the pad reads with, as the panel names it."""
        return "your personal model" if self.personal_model else self.base_name

    def use(self, model, personal=True):
        self.app.model, self.personal_model = model, personal
        self.app.predict()

    # -- keys --------------------------------------------------------------------------------
    def key(self, ev):
        """Handle 0-9, L and R; returns True if the key was one of them."""
        if ev.mod & (pygame.KMOD_CTRL | pygame.KMOD_ALT):
            return False
        ch = getattr(ev, "unicode", "")
        if ev.key in DIGIT_KEYS:
            self.label(DIGIT_KEYS[ev.key])
        elif ev.key == pygame.K_l or ch in ("l", "L"):
            self.learn()
        elif ev.key == pygame.K_r or ch in ("r", "R"):
            self.reset()
        else:
            return False
        return True

    def usable(self):
        if self.profile is None:
            self.app.say("No profile: start the pad with --profile DIR to teach it your handwriting")
        elif self.broken:
            self.app.say(f"{self.broken}. Choose another folder with --profile DIR.", seconds=10)
        return self.profile is not None and not self.broken

    def label(self, digit):
        """"This is a `digit`": save the drawing (its 28x28 input and strokes) to the profile."""
        app = self.app
        if not self.usable():
            return
        if app.numbers is not None:
            app.say("Teaching works one digit at a time: press N for the one-digit canvas")
            return
        if app.reading.verdict in ("blank", "too small"):
            app.say(f"Draw a digit first, then press {digit} to say what it is")
            return
        strokes = []
        for a in app.canvas.actions:
            if a["kind"] in ("clear", "image"):
                strokes = []  # only what is on the canvas now
            else:
                strokes.append({"kind": a["kind"], "radius": a["radius"],
                                "points": [[round(x, 2), round(y, 2)] for x, y in a["points"]]})
        try:
            self.counts = self.profile.add(app.reading.input, digit, strokes, canvas=app.canvas.size)
        except (tc.ProfileError, OSError) as e:
            app.say(f"Could not save the drawing: {e}")
            return
        total = int(self.counts.sum())
        app.emit({"event": "labelled", "digit": digit, "count": total})
        if app.canvas.clear():
            app.changed("clear")
        offer = "   L: learn my handwriting" if total >= OFFER and self.job is None else \
            f"   ({OFFER - total} more before learning)" if total < OFFER else ""
        app.say(f"Saved as a {digit} ({int(self.counts[digit])} of {digit}, {total} in all){offer}",
                seconds=6, error=False)

    def learn(self):
        app = self.app
        if not self.usable():
            return
        if self.job is not None:
            app.say("Already learning your handwriting...", error=False)
            return
        if self.counts.sum() < OFFER:
            app.say(f"Label at least {OFFER} drawings first (draw, then press its digit): "
                    f"{int(self.counts.sum())} so far")
            return
        self.job = learner.start(self.profile.folder, self.base_path, options=self.learn_options,
                                 imports=self.imports)
        self.failed, self.progress, self.intervals, self.last_frame = False, 0.0, [], None
        app.emit({"event": "learning", "drawings": int(self.counts.sum())})
        app.say("Learning your handwriting in the background; keep drawing", seconds=4, error=False)

    def reset(self):
        app = self.app
        if not self.usable():
            return
        try:
            self.profile.reset_model()
        except (tc.ProfileError, OSError) as e:
            app.say(f"Could not reset: {e}")
            return
        self.use(self.base, personal=False)
        app.emit({"event": "reset"})
        app.say(f"Back to {self.base_name}; your {int(self.counts.sum())} drawings are kept", error=False)

    # -- the background job ----------------------------------------------------------------------
    def poll(self):
        """Called every frame: read the learner's messages; switch models when it is done, and
        notice a learner that ended without a result (killed, out of memory, crashed)."""
        if self.job is None:
            return
        now = time.perf_counter()
        if self.last_frame is not None:
            self.intervals.append(now - self.last_frame)
        self.last_frame = now
        proc, conn = self.job
        try:
            while self.job is not None and conn.poll():
                self.receive(json.loads(conn.recv_bytes()))
        except (EOFError, OSError):  # the learner's end of the pipe is closed: it has ended
            proc.join(timeout=1)
        if self.job is not None and not proc.is_alive():
            self.stop(f"Learning failed: the learner ended without a result ({ending(proc.exitcode)}). "
                      "L: try again")

    def receive(self, msg):
        """One message from the learner (see pad.learner)."""
        if "progress" in msg:
            self.progress, self.app.dirty = msg["progress"], True
        elif "done" in msg:
            self.finish(msg["done"])
        elif msg.get("fetch"):  # data it needs is not on this computer: the one command that fixes it
            self.stop(f"Learning failed: {msg['missing']} is not here. Fetch it with:  {msg['fetch']}",
                      seconds=30)
        elif "error" in msg:
            self.stop(f"Learning failed: {msg['error']}")

    def finish(self, report):
        app = self.app
        if report["switched"]:  # else the profile kept the model in use: the new one was worse
            try:
                model = self.profile.load_model()
            except tc.ProfileError as e:
                self.stop(f"Learning finished but {e}")
                return
            self.use(model)
        ms = np.array(self.intervals or [0.0]) * 1000
        app.emit({"event": "learned", **report, "frames": len(self.intervals),
                  "mean_frame_interval_ms": round(float(ms.mean()), 2),
                  "p95_frame_interval_ms": round(float(np.percentile(ms, 95)), 2),
                  "max_frame_interval_ms": round(float(ms.max()), 2)})
        self.job[1].close()
        self.job = None
        summary = report["summary"][0].upper() + report["summary"][1:]  # the library's words, better or not
        app.say(f"{summary}. R: back to {self.base_name}" if report["switched"] else summary,
                seconds=10, error=not report["switched"])

    def stop(self, message, seconds=12):
        proc, conn = self.job
        conn.close()
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=2)
        self.job, self.failed = None, True
        self.app.say(message, seconds=seconds)
        self.app.emit({"event": "learning failed", "message": message})

    def close(self):
        if self.job is not None:
            proc, conn = self.job
            conn.close()
            proc.terminate()
            proc.join(timeout=2)
            self.job = None

    # -- on screen ---------------------------------------------------------------------------
    def strip_height(self):
        """Pixels the strip takes at the bottom of the panel: two lines of small text."""
        return 2 * self.app.line_height(self.app.px(18)) + self.app.px(10)

    def draw(self):
        """The strip at the bottom of the panel: your set's counts per digit, then the model the
        pad reads with, or the learning's progress."""
        app, p, px = self.app, self.app.panel, self.app.px
        size, line = px(18), app.line_height(px(18))
        x, w = p.x + px(14), p.w - 2 * px(14)
        y = p.bottom - px(6) - 2 * line
        if self.broken:
            app.text("Your profile cannot be used (see the message below)", (x, y), size, WARN, width=w, min_size=12)
        elif self.profile is not None:
            counts = " ".join(f"{d}:{int(c)}" for d, c in enumerate(self.counts))
            mine = app.choose([f"Your set  {counts}", f"Your set: {int(self.counts.sum())} drawings"], size, w, 12)
            app.text(mine, (x, y), size, DIM, width=w, min_size=12)
        y += line
        if self.job is not None:
            label = f"learning {self.progress:.0%}"
            bar = pygame.Rect(x, y + line // 4, max(w - app.text_width(label, size) - px(12), px(40)), line // 2)
            pygame.draw.rect(app.screen, BG, bar, border_radius=3)
            pygame.draw.rect(app.screen, BAR, (bar.x, bar.y, int(bar.w * self.progress), bar.h), border_radius=3)
            app.text(label, (bar.right + px(8), bar.centery), size, TEXT, "midleft")
            return
        hint = ("" if self.profile is None or self.broken else "   L: try again" if self.failed
                else "   L: learn" if self.counts.sum() >= OFFER else "   0-9: label a drawing")
        reading = f"Reading with {self.model_name()}"
        app.text(app.choose([reading + hint, reading], size, w, 12), (x, y), size, DIM, width=w, min_size=12)


def ending(exitcode):
    """How a process ended, in words: "exit code 1", "killed by SIGKILL"."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            pass
    return f"exit code {exitcode}"
