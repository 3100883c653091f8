"""The pad learns your handwriting: label drawings with 0-9, learn with L, reset with R.

Personal is the pad's part of it; PadApp keeps one (`app.personal`) and calls `key`, `poll`,
`draw` and `close`. The drawings and the personal model live in a tc.Profile (a per-user folder);
learning runs in a background process (pad.learner) while the pad keeps drawing and reading.
"""
import json
import time

import numpy as np
import pygame

import tinycnn as tc

from . import learner

OFFER = 10        # labelled drawings after which learning is offered
DIGIT_KEYS = {getattr(pygame, f"K_{d}"): d for d in range(10)}
DIGIT_KEYS.update({getattr(pygame, f"K_KP{d}", None): d for d in range(10)})
DIGIT_KEYS.pop(None, None)
HELP = [("0-9 after drawing", "\"this is a 7\": add it to your set"),
        ("L", "learn my handwriting (in the background)"),
        ("R", "back to the shipped model (your set stays)")]


class Personal:
    """`folder`: the profile folder (None: off); `base_path`: the model file the pad started with
    (None: the shipped one), which learning starts from."""

    def __init__(self, app, folder=None, base_path=None):
        self.app, self.base, self.base_path = app, app.model, base_path
        self.profile = tc.Profile(folder) if folder is not None else None
        self.counts = np.zeros(10, np.int64)
        self.job = self.progress = None
        self.intervals, self.last_frame = [], None   # frame intervals while learning
        self.broken = None
        self.personal_model = False
        self.learn_options = {}   # passed to tc.personalize (the tests make learning short)
        if self.profile is None:
            return
        try:
            self.counts = self.profile.counts()
            model = self.profile.load_model()
        except tc.ProfileError as e:
            self.broken = str(e)
            app.say(f"{e}. Using the shipped model.", seconds=10)
            return
        if model is not None:
            self.use(model)
            app.say(f"Using your personal model ({self.profile.model_path}); R: back to the shipped one",
                    error=False)

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
        self.job = learner.start(self.profile.folder, self.base_path, options=self.learn_options)
        self.progress, self.intervals, self.last_frame = 0.0, [], None
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
        app.say(f"Back to the shipped model; your {int(self.counts.sum())} drawings are kept", error=False)

    # -- the background job ----------------------------------------------------------------------
    def poll(self):
        """Called every frame: read the learner's messages; switch models when it is done."""
        if self.job is None:
            return
        now = time.perf_counter()
        if self.last_frame is not None:
            self.intervals.append(now - self.last_frame)
        self.last_frame = now
        proc, conn = self.job
        while self.job is not None and conn.poll():
            try:
                msg = json.loads(conn.recv_bytes())
            except EOFError:
                break
            if "progress" in msg:
                self.progress, self.app.dirty = msg["progress"], True
            elif "done" in msg:
                self.finish(msg["done"])
            elif "error" in msg:
                self.stop(f"Learning failed: {msg['error']}")
        if self.job is not None and not proc.is_alive() and not conn.poll():
            self.stop(f"Learning stopped unexpectedly (exit code {proc.exitcode})")

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
        app.say(f"{summary}. R: back to the shipped model" if report["switched"] else summary,
                seconds=10, error=not report["switched"])

    def stop(self, message):
        proc, conn = self.job
        conn.close()
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=2)
        self.job = None
        self.app.say(message, seconds=10)
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
        """Pixels the personal strip takes at the bottom of the panel (0 without a profile)."""
        return 0 if self.profile is None else 44

    def draw(self):
        """The personal strip at the bottom of the panel: model, counts per digit, progress."""
        if self.profile is None:
            return
        app, p = self.app, self.app.panel
        x, y, w = p.x + 14, p.bottom - 40, p.w - 28
        which = "personal model" if self.personal_model else "shipped model"
        if self.broken:
            app.text("profile unusable: shipped model", (x, y), 18, (240, 90, 80), width=w)
            return
        counts = " ".join(f"{d}:{int(c)}" for d, c in enumerate(self.counts))
        app.text(f"Your set  {counts}", (x, y), 18, (140, 145, 160), width=w, min_size=14)
        if self.job is not None:
            bar = pygame.Rect(x, y + 18, max(p.w - 28 - 150, 40), 10)
            pygame.draw.rect(app.screen, (28, 30, 36), bar, border_radius=3)
            pygame.draw.rect(app.screen, (70, 120, 200), (bar.x, bar.y, int(bar.w * self.progress), bar.h),
                             border_radius=3)
            app.text(f"learning {self.progress:.0%}", (bar.right + 8, bar.centery), 18, (225, 228, 235), "midleft")
        else:
            hint = "   L: learn" if self.counts.sum() >= OFFER else "   0-9: label a drawing"
            app.text(f"Reading with the {which}{hint}", (x, y + 18), 18, (140, 145, 160), width=w, min_size=14)
