"""The pad, headless: real mouse, key, touch and window events posted through pygame's queue."""
import json
import os
import subprocess
import sys

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import tinycnn as tc  # noqa: E402
from pad.app import PadApp  # noqa: E402
from pad.theme import PANEL  # noqa: E402

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def model():
    return tc.pretrained()


@pytest.fixture
def app(model, tmp_path):
    a = PadApp(model, size=(900, 600), log_path=tmp_path / "log.jsonl")
    a.log_path = tmp_path / "log.jsonl"
    yield a
    a.close()


def post(app, type_, **kw):
    pygame.event.post(pygame.event.Event(type_, **kw))


def step(app):
    app.frame(fps=0)


def key(app, k, mod=0, unicode=""):
    post(app, pygame.KEYDOWN, key=k, mod=mod, unicode=unicode, scancode=0)
    post(app, pygame.KEYUP, key=k, mod=mod, unicode=unicode, scancode=0)
    step(app)


def stroke(app, points, button=1):
    """Press at the first point, move through the rest (a frame every few events), release."""
    held = (1, 0, 0) if button == 1 else (0, 0, 1)
    post(app, pygame.MOUSEBUTTONDOWN, pos=points[0], button=button)
    prev = points[0]
    for i, p in enumerate(points[1:]):
        post(app, pygame.MOUSEMOTION, pos=p, rel=(p[0] - prev[0], p[1] - prev[1]), buttons=held)
        prev = p
        if i % 4 == 3:
            step(app)
    post(app, pygame.MOUSEBUTTONUP, pos=points[-1], button=button)
    step(app)


def in_canvas(app, u, v):
    """Window position of the point (u, v) in 0..1 canvas coordinates."""
    r = app.rect
    return (int(r.x + u * r.w), int(r.y + v * r.h))


def path(app, knots, steps=12):
    pts = []
    for (u0, v0), (u1, v1) in zip(knots, knots[1:]):
        for t in np.linspace(0, 1, steps, endpoint=False):
            pts.append(in_canvas(app, u0 + t * (u1 - u0), v0 + t * (v1 - v0)))
    pts.append(in_canvas(app, *knots[-1]))
    return pts


DIGITS = {
    7: [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]],
    1: [[(0.5, 0.15), (0.5, 0.85)]],
    0: [[(0.5, 0.15), (0.3, 0.25), (0.25, 0.5), (0.3, 0.75), (0.5, 0.85), (0.7, 0.75), (0.75, 0.5),
         (0.7, 0.25), (0.5, 0.15)]],
    4: [[(0.55, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.35), (0.6, 0.88)]],
}


def events(app):
    return [json.loads(line) for line in open(app.log_path)]


def test_ready_event_describes_window_and_canvas(app):
    first = events(app)[0]
    assert first == {"event": "ready", "window": [900, 600], "canvas": list(app.rect)}


def test_fast_stroke_leaves_no_gaps(app):
    a, b = in_canvas(app, 0.2, 0.5), in_canvas(app, 0.8, 0.5)
    stroke(app, [a, b])  # two far-apart mouse positions only
    row = app.canvas.array[app.canvas.size // 2]
    x0, x1 = int(0.2 * app.canvas.size), int(0.8 * app.canvas.size)
    assert row[x0:x1].min() > 0.99  # inked all along the segment
    screen = pygame.surfarray.array3d(app.screen)
    mid = in_canvas(app, 0.5, 0.5)
    assert screen[mid[0], mid[1]].min() > 200  # and shown on screen


def test_the_canvas_on_screen_is_the_whole_canvas_redrawn(app):
    """The canvas view converts only the pixels that changed (Canvas.take_damage): after strokes,
    an eraser, undo, a resize and number mode it is what converting the whole canvas gives."""
    def shown_is_full():
        step(app)
        full = app.gray_surface(app.canvas.array, app.rect.size)
        np.testing.assert_array_equal(pygame.surfarray.array2d(app.canvas_surface), pygame.surfarray.array2d(full))

    stroke(app, path(app, DIGITS[4][0]))
    shown_is_full()
    post(app, pygame.MOUSEBUTTONDOWN, pos=in_canvas(app, 0.2, 0.2), button=1)
    for u in np.linspace(0.2, 0.8, 9):  # mid-stroke frames
        post(app, pygame.MOUSEMOTION, pos=in_canvas(app, u, 0.3), rel=(1, 0), buttons=(1, 0, 0))
        shown_is_full()
    post(app, pygame.MOUSEBUTTONUP, pos=in_canvas(app, 0.8, 0.3), button=1)
    stroke(app, path(app, [(0.1, 0.6), (0.9, 0.6)]), button=3)  # the eraser
    shown_is_full()
    key(app, pygame.K_z, pygame.KMOD_LCTRL)
    shown_is_full()
    post(app, pygame.VIDEORESIZE, size=(700, 800), w=700, h=800)
    shown_is_full()
    key(app, pygame.K_n, unicode="n")
    stroke(app, path(app, DIGITS[1][0]))
    shown_is_full()
    key(app, pygame.K_n, unicode="n")
    shown_is_full()


def test_the_strokes_read_are_the_strokes_drawn(app, monkeypatch):
    """The pad converts each stroke's points once (stroke_points): what it hands the reader is
    still every point of every stroke since the last clear, through undo, redo and clear."""
    handed = []
    read = tc.read_digit
    monkeypatch.setattr(tc, "read_digit", lambda *a, **k: handed.append(k["strokes"]) or read(*a, **k))

    def check():
        shown = app.canvas.actions + ([app.canvas.current] if app.canvas.current else [])
        since = shown[max((i + 1 for i, a in enumerate(shown) if a["kind"] == "clear"), default=0):]
        assert len(handed[-1] or []) == len(since)  # None: nothing since the last clear
        for got, action in zip(handed[-1] or [], since):
            np.testing.assert_array_equal(got, np.asarray(action["points"], np.float32))

    for knots in DIGITS[4]:
        post(app, pygame.MOUSEBUTTONDOWN, pos=in_canvas(app, *knots[0]), button=1)
        for p in path(app, knots)[1:]:
            post(app, pygame.MOUSEMOTION, pos=p, rel=(1, 1), buttons=(1, 0, 0))
            step(app)
            check()
        post(app, pygame.MOUSEBUTTONUP, pos=in_canvas(app, *knots[-1]), button=1)
        step(app)
        check()
    for k, mod in [(pygame.K_z, pygame.KMOD_LCTRL), (pygame.K_y, pygame.KMOD_LCTRL), (pygame.K_c, 0),
                   (pygame.K_z, pygame.KMOD_LCTRL), (pygame.K_z, pygame.KMOD_LCTRL)]:
        key(app, k, mod)
        check()
    stroke(app, path(app, DIGITS[1][0]))
    check()


def test_undo_redo_clear_and_log(app):
    stroke(app, path(app, DIGITS[1][0]))
    drawn = app.canvas.array.copy()
    assert drawn.any()
    key(app, pygame.K_z, pygame.KMOD_LCTRL)
    assert not app.canvas.array.any() and app.probs is None
    key(app, pygame.K_y, pygame.KMOD_LCTRL)
    np.testing.assert_array_equal(app.canvas.array, drawn)
    key(app, pygame.K_c, unicode="c")
    assert not app.canvas.array.any()
    key(app, pygame.K_z, pygame.KMOD_LCTRL)  # the clear itself can be undone
    np.testing.assert_array_equal(app.canvas.array, drawn)
    key(app, pygame.K_BACKSPACE)
    assert not app.canvas.array.any()
    kinds = [(e["event"], e.get("after")) for e in events(app)]
    assert kinds == [("ready", None), ("prediction", "stroke"), ("prediction", "undo"), ("prediction", "redo"),
                     ("prediction", "clear"), ("prediction", "undo"), ("prediction", "clear")]
    empty = events(app)[2]
    assert empty["probs"] is None and empty["digit"] is None and empty["top3"] == []
    full = events(app)[1]
    assert len(full["probs"]) == 10 and abs(sum(full["probs"]) - 1) < 1e-4
    # the three most probable, best first (compared by value: rounded probabilities can tie)
    assert [p for _, p in full["top3"]] == sorted(full["probs"], reverse=True)[:3]
    assert all(full["probs"][d] == p for d, p in full["top3"])


@pytest.mark.parametrize("digit", sorted(DIGITS))
def test_drawn_digit_is_read(app, digit):
    for s in DIGITS[digit]:
        stroke(app, path(app, s))
    last = events(app)[-1]
    assert last["digit"] == digit, last
    assert app.verdict()[1] == f"It's a {digit}"


def test_prediction_updates_during_the_stroke(app):
    pts = path(app, DIGITS[0][0])
    post(app, pygame.MOUSEBUTTONDOWN, pos=pts[0], button=1)
    for p in pts[1:60]:
        post(app, pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0))
    step(app)
    assert app.canvas.drawing and app.probs is not None  # read before the button is up
    assert len(events(app)) == 1  # logged only when the stroke is finished


def test_eraser_and_brush_size(app):
    stroke(app, path(app, [(0.2, 0.5), (0.8, 0.5)]))
    before = app.canvas.array.sum()
    key(app, pygame.K_RIGHTBRACKET, unicode="]")
    key(app, pygame.K_RIGHTBRACKET, unicode="]")
    assert app.brush == 22
    post(app, pygame.MOUSEWHEEL, x=0, y=-3, flipped=False)
    step(app)
    assert app.brush == 16
    stroke(app, path(app, [(0.5, 0.3), (0.5, 0.7)]), button=3)
    assert app.canvas.array.sum() < before
    assert app.canvas.array[app.canvas.size // 2, app.canvas.size // 2] < 0.01


def test_touch_draws(app):
    post(app, pygame.FINGERDOWN, touch_id=1, finger_id=1, x=(app.rect.x + 50) / 900, y=(app.rect.y + 50) / 600,
         dx=0, dy=0, pressure=1)
    post(app, pygame.FINGERMOTION, touch_id=1, finger_id=1, x=(app.rect.x + 300) / 900, y=(app.rect.y + 50) / 600,
         dx=0, dy=0, pressure=1)
    post(app, pygame.FINGERUP, touch_id=1, finger_id=1, x=(app.rect.x + 300) / 900, y=(app.rect.y + 50) / 600,
         dx=0, dy=0, pressure=1)
    step(app)
    assert app.canvas.array.any() and len(app.canvas.actions) == 1


def test_resize_relayouts_and_drawing_still_lands(app):
    post(app, pygame.VIDEORESIZE, size=(640, 420), w=640, h=420)
    step(app)
    assert app.screen.get_size() == (640, 420)
    assert app.rect.right < app.panel.x and app.panel.right <= 640 and app.rect.bottom <= 420
    stroke(app, path(app, [(0.1, 0.5), (0.9, 0.5)]))
    assert app.canvas.array[app.canvas.size // 2, int(0.5 * app.canvas.size)] > 0.99
    post(app, pygame.VIDEORESIZE, size=(1200, 800), w=1200, h=800)
    step(app)
    assert app.rect.w > 600


def test_help_and_stages_views_draw(app):
    stroke(app, path(app, DIGITS[7][0]))
    before = pygame.surfarray.array3d(app.screen).copy()
    key(app, pygame.K_h, unicode="h")
    assert app.show_help and not np.array_equal(before, pygame.surfarray.array3d(app.screen))
    key(app, pygame.K_F1)
    key(app, pygame.K_s, unicode="s")
    assert app.show_stages and not app.show_help
    assert not np.array_equal(before, pygame.surfarray.array3d(app.screen))


def test_dropped_files(app, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    post(app, pygame.DROPFILE, file=str(bad))
    step(app)
    assert app.running and "bad.png" in app.message and not app.canvas.array.any()
    img = np.full((120, 90), 255, np.uint8)  # a dark 1 on white paper
    img[15:105, 40:52] = 10
    Image.fromarray(img).save(tmp_path / "one.png")
    post(app, pygame.DROPFILE, file=str(tmp_path / "one.png"))
    step(app)
    assert events(app)[-1]["digit"] == 1


def test_a_dot_is_too_small_to_read(app):
    p = in_canvas(app, 0.5, 0.5)
    stroke(app, [p, (p[0] + 3, p[1] + 2)])
    assert app.canvas.array.any() and app.probs is None
    assert app.verdict() == (None, "Too small: draw it bigger")
    assert events(app)[-1]["digit"] is None


def test_escape_quits(app):
    key(app, pygame.K_ESCAPE)
    assert not app.running


def test_escape_closes_the_help_before_it_quits(app):
    key(app, pygame.K_h, unicode="h")
    assert app.show_help
    key(app, pygame.K_ESCAPE)
    assert not app.show_help and app.running
    key(app, pygame.K_ESCAPE)
    assert not app.running


@pytest.mark.parametrize("size", [(420, 300), (600, 800), (900, 600), (1600, 1000), (200, 120)])
def test_layout_holds_at_any_size(app, size):
    post(app, pygame.VIDEORESIZE, size=size, w=size[0], h=size[1])
    stroke(app, path(app, DIGITS[7][0]))
    w, h = app.screen.get_size()
    assert w >= 420 and h >= 300  # the minimum window size
    win = pygame.Rect(0, 0, w, h)
    for r in (app.rect, app.panel, app.status):
        assert win.contains(r)
    assert not app.rect.colliderect(app.panel) and not app.status.colliderect(app.panel)
    assert not app.status.colliderect(app.rect)
    app.say("x" * 30 + " a very long error message " * 20)
    step(app)  # drawn without error; the text is fitted
    lines = app.wrap(app.message, 20, app.status.w, 2)
    assert len(lines) == 2 and lines[-1].endswith("...")
    assert all(app.font(20).size(line)[0] <= app.status.w for line in lines)


def test_fit_shortens_with_an_ellipsis(app):
    text, size = app.fit("Not sure: 7 (45%) or 1 (30%)?", 26, 60)
    assert text.endswith("...") and app.font(size).size(text)[0] <= 60
    assert app.fit("7", 26, 60) == ("7", 26)


def test_errors_are_logged_and_a_failing_log_never_ends_the_session(app, tmp_path):
    post(app, pygame.DROPFILE, file=str(tmp_path / "missing.png"))
    step(app)
    assert events(app)[-1]["event"] == "error" and "missing.png" in events(app)[-1]["message"]

    class Full:  # a log file on a disk that has filled up
        def write(self, *_):
            raise OSError(28, "No space left on device")
        flush = close = write

    app.log = Full()
    stroke(app, path(app, DIGITS[1][0]))
    assert app.running and app.log is None and "logging stopped" in app.message
    message = app.message
    stroke(app, path(app, DIGITS[7][0]))  # reported once; the pad goes on reading
    assert app.message == message and app.probs is not None


def test_a_dropped_fifo_is_refused_at_once(app, tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    post(app, pygame.DROPFILE, file=str(fifo))
    step(app)
    assert app.running and "FIFO" in app.message


def test_undo_after_many_strokes_replays_only_since_the_last_snapshot():
    from pad.canvas import SNAPSHOT_EVERY, Canvas

    c = Canvas(100)
    rng = np.random.default_rng(1)
    states = []
    for i in range(50):
        c.begin_stroke(tuple(rng.uniform(0, 100, 2)), 3, erase=i % 7 == 6)
        c.extend_stroke(tuple(rng.uniform(0, 100, 2)))
        c.end_stroke()
        states.append(c.array.copy())
        if i == 20:
            c.clear()
            states.append(c.array.copy())
    replayed = []
    real_apply = c._apply
    c._apply = lambda a: (replayed.append(a), real_apply(a))
    for want in reversed(states[:-1]):
        replayed.clear()
        assert c.undo()
        np.testing.assert_array_equal(c.array, want)
        assert len(replayed) < SNAPSHOT_EVERY  # from the last snapshot, never a replay of the session
    replayed.clear()
    c.redo()
    c.undo()
    assert len(replayed) < SNAPSHOT_EVERY + 1  # the redo applies one action, the undo fewer than SNAPSHOT_EVERY


def test_fuzz_thousands_of_random_events(app):
    rng = np.random.default_rng(0)
    keys = [pygame.K_z, pygame.K_y, pygame.K_c, pygame.K_h, pygame.K_s, pygame.K_LEFTBRACKET,
            pygame.K_RIGHTBRACKET, pygame.K_BACKSPACE, pygame.K_DELETE, pygame.K_F1, pygame.K_a]
    for i in range(3000):
        pos = (int(rng.integers(-50, 1000)), int(rng.integers(-50, 700)))
        kind = rng.integers(0, 8)
        if kind == 0:
            post(app, pygame.MOUSEBUTTONDOWN, pos=pos, button=int(rng.integers(1, 6)))
        elif kind == 1:
            post(app, pygame.MOUSEBUTTONUP, pos=pos, button=int(rng.integers(1, 6)))
        elif kind in (2, 3):
            post(app, pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=tuple(int(b) for b in rng.integers(0, 2, 3)))
        elif kind == 4:
            post(app, pygame.KEYDOWN, key=keys[rng.integers(len(keys))], unicode="",
                 mod=int(rng.choice([0, pygame.KMOD_LCTRL, pygame.KMOD_LCTRL | pygame.KMOD_LSHIFT])), scancode=0)
        elif kind == 5:
            post(app, pygame.MOUSEWHEEL, x=0, y=int(rng.integers(-3, 4)), flipped=False)
        elif kind == 6:
            post(app, pygame.FINGERMOTION, touch_id=1, finger_id=1, x=float(rng.random()), y=float(rng.random()),
                 dx=0, dy=0, pressure=1)
        elif i % 200 == 7:
            w, h = int(rng.integers(100, 1300)), int(rng.integers(100, 900))
            post(app, pygame.VIDEORESIZE, size=(w, h), w=w, h=h)
        if i % 10 == 0:
            step(app)
    step(app)
    assert app.running
    for e in events(app):
        assert e["event"] in ("ready", "prediction", "error")


def run_pad(*args):
    return subprocess.run([sys.executable, "-m", "pad", *args], capture_output=True, text=True, timeout=120, cwd=REPO)


def test_predict_command_line(tmp_path):
    img = np.full((100, 100), 250, np.uint8)
    img[10:90, 45:55] = 0
    Image.fromarray(img).save(tmp_path / "one.png")
    (tmp_path / "junk.jpg").write_text("no")
    r = run_pad("--predict", str(tmp_path / "one.png"), str(tmp_path / "junk.jpg"))
    assert r.returncode == 1
    line = r.stdout.strip().splitlines()[0]
    assert line.startswith(f"{tmp_path / 'one.png'}: 1 (") and line.count("%") == 4 and "top 3: 1 (" in line
    assert "error: " in r.stderr and "junk.jpg: cannot read it as an image" in r.stderr


def test_bad_model_file_gives_one_clear_message(tmp_path):
    r = run_pad("--model", str(tmp_path / "nope.npz"), "--predict", "x.png")
    assert r.returncode != 0 and r.stderr.strip() == f"error: --model {tmp_path / 'nope.npz'}: no such file"
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    r = run_pad("--model", str(tmp_path / "bad.npz"), "--predict", "x.png")
    assert "error: cannot use model" in r.stderr and "Traceback" not in r.stderr


def test_widest_brush_counts_only_strokes_still_on_the_canvas():
    from pad.canvas import Canvas

    c = Canvas(100)
    c.begin_stroke((10, 10), 30)
    c.end_stroke()
    c.clear()
    c.begin_stroke((50, 50), 5)
    assert c.widest_brush() == 5  # the stroke in progress counts, the cleared one does not
    c.end_stroke()
    c.undo()
    c.undo()  # the clear is undone: the wide stroke is back
    assert c.widest_brush() == 30


def test_start_with_an_image(model, tmp_path):
    img = np.full((90, 70), 240, np.uint8)  # a dark 1 on light paper
    img[10:80, 30:40] = 20
    Image.fromarray(img).save(tmp_path / "one.png")
    a = PadApp(model, size=(700, 500), log_path=tmp_path / "log.jsonl", image=str(tmp_path / "one.png"))
    try:
        a.frame(fps=0)
        log = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
        assert [e["event"] for e in log] == ["ready", "prediction"] and log[1]["after"] == "image"
        assert log[1]["digit"] == 1 and a.canvas.array.any()
        key(a, pygame.K_z, pygame.KMOD_LCTRL)  # the loaded picture is undoable like a stroke
        assert not a.canvas.array.any()
    finally:
        a.close()


def test_escape_in_number_mode_leaves_it_and_keeps_the_drawing(app):
    key(app, pygame.K_n, unicode="n")
    stroke(app, path(app, DIGITS[1][0]))
    wide = app.canvas
    drawn = wide.array.copy()
    key(app, pygame.K_ESCAPE)
    assert app.running and app.numbers is None and app.canvas is not wide  # back to one digit
    key(app, pygame.K_n, unicode="n")
    assert app.canvas is wide
    np.testing.assert_array_equal(app.canvas.array, drawn)  # the number's drawing was kept
    key(app, pygame.K_h, unicode="h")
    key(app, pygame.K_ESCAPE)  # the help first, then number mode, then quit
    assert app.running and not app.show_help and app.numbers is not None
    key(app, pygame.K_ESCAPE)
    key(app, pygame.K_ESCAPE)
    assert not app.running


def test_escape_closes_the_inside_page_before_it_quits(app):
    key(app, pygame.K_i, unicode="i")
    key(app, pygame.K_ESCAPE)
    assert app.running and app.inside is None
    key(app, pygame.K_ESCAPE)
    assert not app.running


def frame_texts(app):
    """The lines of text one whole frame draws."""
    seen = []
    draw = app.writer.draw
    app.writer.draw = lambda *a, **k: seen.append(a[1]) or draw(*a, **k)
    try:
        app.dirty = True
        step(app)
    finally:
        del app.writer.draw
    return seen


def drawn_texts(app, monkeypatch):
    """Record every line of text the next frames draw: [(text, rect)]."""
    seen = []
    draw = app.writer.draw
    monkeypatch.setattr(app.writer, "draw", lambda *a, **k: seen.append((a[1], r := draw(*a, **k))) or r)
    return seen


class Recording(pygame.Surface):
    """A screen that remembers the rectangle of everything blitted on it: text and pictures."""

    def blit(self, source, dest, *args, **kw):
        r = super().blit(source, dest, *args, **kw)
        self.blitted.append(r)
        return r


def drawn(app):
    """Draw one frame on a recording screen: the rectangles of its text and pictures, less the
    canvas (number mode's labels sit on it) and a shade over the whole window (the help's)."""
    screen, app.screen = app.screen, Recording(app.screen.get_size())
    app.screen.blitted = []
    try:
        app.draw()
        blitted = app.screen.blitted
    finally:
        app.screen = screen
    return [r for r in blitted if r not in (app.rect, pygame.Rect((0, 0), screen.get_size()))]


def colliding(rects):
    return [(a, b) for i, a in enumerate(rects) for b in rects[i + 1:] if a.w and b.w and a.colliderect(b)]


@pytest.mark.parametrize("size", [(420, 300), (900, 600), (1600, 1000)])
@pytest.mark.parametrize("page", ["digit", "stages", "inside", "number", "help"])
def test_nothing_drawn_overlaps(model, tmp_path, monkeypatch, size, page):
    app = PadApp(model, size=size, profile=tmp_path / "me")  # with the strip of your set at the bottom
    try:
        if page == "number":
            key(app, pygame.K_n, unicode="n")
        stroke(app, path(app, DIGITS[4][0]))
        stroke(app, path(app, DIGITS[4][1]))
        if page in ("stages", "inside", "help"):
            key(app, {"stages": pygame.K_s, "inside": pygame.K_i, "help": pygame.K_h}[page])
        texts = drawn_texts(app, monkeypatch)
        rects = drawn(app)
    finally:
        app.close()
    if page == "help":  # the help is drawn over the page: its lines among themselves
        rects = rects[rects.index([r for t, r in texts if t == "Controls"][0]):]
    assert len(texts) > 5 and not colliding(rects)
    window = pygame.Rect((0, 0), size)
    assert all(window.contains(r) for r in rects)


def longest_empty_band(app):
    """The most rows in a row of the panel with nothing drawn on them, as a share of its height."""
    p = app.panel
    pixels = pygame.surfarray.array3d(app.screen)[p.left + 10:p.right - 10, p.top + 10:p.bottom - 10]
    used = np.any(pixels != np.array(PANEL), axis=2).any(axis=0)
    longest = run = 0
    for u in used:
        run = 0 if u else run + 1
        longest = max(longest, run)
    return longest / p.h


@pytest.mark.parametrize("page", ["digit", "inside"])
def test_fonts_and_the_page_grow_with_the_window(app, monkeypatch, page):
    """At 1600x1000 the page fills its panel (the bars, the 28x28 view and the maps grow, with
    larger type) instead of leaving a band of it empty."""
    if page == "inside":
        key(app, pygame.K_i, unicode="i")
    heights = []
    for size in [(900, 600), (1600, 1000)]:
        post(app, pygame.VIDEORESIZE, size=size, w=size[0], h=size[1])
        stroke(app, path(app, DIGITS[7][0]))
        texts = drawn_texts(app, monkeypatch)
        app.dirty = True
        step(app)
        monkeypatch.undo()
        heights.append([r.h for t, r in texts if t.startswith("It's a 7")][0])
        assert longest_empty_band(app) < 0.12
    assert heights[1] > 1.4 * heights[0]  # the verdict's type grows with the window


def test_a_long_message_is_shown_whole_at_the_smallest_size(app, monkeypatch):
    """A message that names the command fixing a problem is wrapped, in a smaller font if need
    be, never cut: at 420x300 every word of it is drawn."""
    post(app, pygame.VIDEORESIZE, size=(420, 300), w=420, h=300)
    step(app)
    message = ("Learning failed: MNIST is not here. Fetch it with:  python -m tinycnn.data fetch mnist "
               "--dest /home/someone/.local/share/tinycnn/mnist")
    app.say(message)
    texts = drawn_texts(app, monkeypatch)
    step(app)
    shown = [(t, r) for t, r in texts if app.status.contains(r)]
    assert " ".join(t for t, _ in shown).split() == message.split()
    assert not colliding([r for _, r in shown])


def run_without_display(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    return subprocess.run([sys.executable, "-m", "pad"], capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**clean, **env})


@pytest.mark.parametrize("env", [{}, {"SDL_VIDEODRIVER": "x11"}, {"SDL_VIDEODRIVER": "wayland,x11"}])
def test_no_display_is_one_line_and_exit_1(env):
    r = run_without_display(**env)  # it used to wait forever behind a window nobody could see
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: no display") and "--predict" in r.stderr


def test_a_display_server_that_does_not_answer_is_one_line():
    r = run_without_display(DISPLAY=":97")  # no X server there
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: cannot open a window")


def test_the_pads_modules_import_no_cycle_and_no_function_is_long():
    """pad/ reads top-down: no two of its modules import each other (even by a detour, or inside
    a function), and no function is over 80 lines."""
    import ast
    import glob

    imports, long = {}, []
    for path in glob.glob(os.path.join(REPO, "pad", "*.py")):
        name = os.path.splitext(os.path.basename(path))[0]
        tree = ast.parse(open(path).read())
        imports[name] = {(n.module or "").split(".")[0] or a.name for n in ast.walk(tree)
                         if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names}
        long += [f"{name}.{n.name}" for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.end_lineno - n.lineno + 1 > 80]

    def reaches(a, b, seen=()):
        return any(m == b or (m not in seen and reaches(m, b, (*seen, m))) for m in imports.get(a, ()))

    assert not [m for m in imports if reaches(m, m)] and not long
    assert "numbers" in imports["app"] and "app" not in imports["numbers"]  # the cycle that was
