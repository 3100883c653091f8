"""The pad's number mode, headless: real mouse and key events, and the log's "number"."""
import json
import subprocess
import sys

import numpy as np
import pygame
import pytest
from PIL import Image

from test_pad import REPO, key, model, path, stroke  # noqa: F401  (model is a fixture)
from pad.app import PadApp

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets

# 2, 0 and 6 as drawn with a mouse, in a 0..1 cell
STROKES = {
    2: [[(0.2, 0.3), (0.4, 0.12), (0.65, 0.15), (0.75, 0.32), (0.6, 0.55), (0.2, 0.88), (0.8, 0.88)]],
    0: [[(0.5, 0.12), (0.28, 0.25), (0.22, 0.5), (0.28, 0.75), (0.5, 0.88), (0.72, 0.75), (0.78, 0.5),
         (0.72, 0.25), (0.5, 0.12)]],
    6: [[(0.7, 0.1), (0.45, 0.25), (0.28, 0.55), (0.3, 0.8), (0.5, 0.9), (0.7, 0.8), (0.72, 0.62), (0.55, 0.52),
         (0.3, 0.62)]],
}


def write(app, digits):
    """Draw `digits` left to right across the canvas, one cell each."""
    n = len(digits)
    for i, d in enumerate(digits):
        for s in STROKES[int(d)]:
            stroke(app, path(app, [(0.08 + (i + 0.1 + 0.8 * u) * 0.84 / n, 0.12 + 0.76 * v) for u, v in s]))


def events(log):
    return [json.loads(line) for line in open(log)]


@pytest.fixture
def app(model, tmp_path):  # noqa: F811
    a = PadApp(model, size=(900, 600), log_path=tmp_path / "log.jsonl", number=True)
    a.log_path = tmp_path / "log.jsonl"
    yield a
    a.close()


def test_drawing_2026_shows_2026(app):
    assert app.rect.w > 2 * app.rect.h and app.canvas.array.shape == (app.canvas.height, app.canvas.size)
    write(app, "2026")
    last = events(app.log_path)[-1]
    assert last["number"] == "2026" and last["number_verdict"] == "number"
    assert all(e["number"] is not None for e in events(app.log_path) if e["event"] == "prediction")
    assert app.numbers.sentence() == "It's 2026"
    # a box over each digit, drawn on screen in the reading's colour, left to right
    boxes = [d.box for d in app.numbers.reading.digits]
    assert len(boxes) == 4 and [b[0] for b in boxes] == sorted(b[0] for b in boxes)
    screen = pygame.surfarray.array3d(app.screen)
    k = app.rect.w / app.canvas.size
    x, y, w, h = boxes[1]
    edge = screen[app.rect.x + int(x * k) - 4, app.rect.y + int((y + h / 2) * k)]
    assert tuple(edge) == (255, 170, 40)  # the box's left edge, in the "read" colour


def test_the_bars_follow_the_digit_under_the_pen(app):
    write(app, "206")
    first = app.numbers.reading.digits[0]
    x, y, w, h = first.box
    k = app.rect.w / app.canvas.size
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(app.rect.x + int((x + w / 2) * k),
                                                                  app.rect.y + int((y + h / 2) * k)),
                                         rel=(0, 0), buttons=(0, 0, 0)))
    app.frame(fps=0)
    assert app.reading is first and int(np.argmax(app.probs)) == 2


def test_n_switches_modes_and_each_keeps_its_drawing(model, tmp_path):  # noqa: F811
    a = PadApp(model, size=(900, 600), log_path=tmp_path / "log.jsonl")
    try:
        stroke(a, path(a, [(0.5, 0.15), (0.5, 0.85)]))
        square = a.canvas
        key(a, pygame.K_n, unicode="n")
        assert a.numbers is not None and a.canvas is not square and a.canvas.size > a.canvas.height
        write(a, "20")
        assert events(tmp_path / "log.jsonl")[-1]["number"] == "20"
        key(a, pygame.K_c, unicode="c")
        assert events(tmp_path / "log.jsonl")[-1]["number"] == ""
        key(a, pygame.K_n, unicode="n")
        assert a.numbers is None and a.canvas is square and a.canvas.array.any()
        assert events(tmp_path / "log.jsonl")[-1] == {"event": "mode", "mode": "digit", "canvas": list(a.rect)}
        key(a, pygame.K_z, pygame.KMOD_LCTRL)
        assert "number" not in events(tmp_path / "log.jsonl")[-1]
    finally:
        a.close()


def test_resize_in_number_mode_keeps_the_canvas_shape(app):
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(640, 700), w=640, h=700))
    app.frame(fps=0)
    r = app.rect
    assert abs(r.w / r.h - app.canvas.size / app.canvas.height) < 0.02
    assert r.right <= 640 and app.panel.top > r.bottom and app.panel.bottom <= 700
    write(app, "26")
    assert app.numbers.reading.text == "26"


def test_predict_prints_the_number_in_a_photo(tmp_path):
    from checks.numberwriting import compose

    img, _ = compose("2026", np.random.default_rng(5), "plain")
    photo = (255 - img * 200).astype(np.uint8)  # dark ink on light paper
    Image.fromarray(photo).save(tmp_path / "year.png")
    r = subprocess.run([sys.executable, "-m", "pad", "--predict", str(tmp_path / "year.png")],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0 and r.stdout.startswith(f"{tmp_path / 'year.png'}: 2026    digits: 2 (")
    r = subprocess.run([sys.executable, "-m", "pad", "--number", "--predict", str(tmp_path / "year.png")],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.stdout.split()[1] == "2026"


def test_number_mode_reads_through_the_strokes_even_where_digits_touch(app, monkeypatch):
    """The pad hands read_number its strokes; 2, 0 and 6 drawn so close that their ink touches."""
    import tinycnn as tc

    seen = []
    real = tc.read_number
    monkeypatch.setattr(tc, "read_number", lambda *a, **k: seen.append(k.get("strokes")) or real(*a, **k))
    for i, d in enumerate("206"):
        for s in STROKES[int(d)]:  # each digit's cell overlaps the next one's
            stroke(app, path(app, [(0.2 + i * 0.14 + 0.3 * u, 0.15 + 0.7 * v) for u, v in s]))
    pieces = tc.digits.parts.label_pieces(app.canvas.array > 0.5)[1]
    assert pieces < 3  # the ink of neighbours touches
    assert seen and seen[-1] is not None and len(seen[-1]) == 3
    assert app.numbers.reading.text == "206" and len(app.numbers.reading.digits) == 3
