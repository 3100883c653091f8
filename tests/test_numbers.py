"""read_number: cutting handwriting into digits, and bad input answered in bounded time."""
import numpy as np
import pytest

import tinycnn as tc
from pad.canvas import Canvas
from checks.handwriting import sample
from checks.numberwriting import PIECES, _crop, compose
from tinycnn.digits.parts import label_pieces


@pytest.fixture(scope="module")
def model():
    return tc.pretrained()


def glyph(strokes_or_style):
    """A glyph function drawing digits in a fixed style (a name, or strokes), the same each time."""
    def g(d, rng):
        style = strokes_or_style.get(d, "plain" if d == 7 else None)
        if style is None:
            from checks.handwriting import STYLES
            style = next(iter(STYLES[d]))
        return _crop(sample(d, style, np.random.default_rng(d)).array)
    return g


def test_label_pieces_matches_a_flood_fill():
    rng = np.random.default_rng(0)
    mask = rng.random((40, 50)) < 0.45
    labels, n = label_pieces(mask)
    # a plain flood fill, 8-connected
    seen = np.zeros_like(mask, int)
    count = 0
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        count += 1
        stack = [(y, x)]
        seen[y, x] = count
        while stack:
            cy, cx = stack.pop()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < 40 and 0 <= nx < 50 and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = count
                        stack.append((ny, nx))
    assert n == count
    assert ((labels > 0) == mask).all()
    # the same partition: each flood-fill piece has exactly one label, and vice versa
    pairs = set(zip(labels[mask], seen[mask]))
    assert len(pairs) == count


def read(img, model):
    return tc.read_number(img, model)


@pytest.mark.parametrize("seed", range(3))
def test_plain_numbers_and_their_boxes(model, seed):
    rng = np.random.default_rng(100 + seed)
    img, boxes = compose("2026", rng, "plain")
    r = read(img, model)
    assert r.text == "2026" and r.value == 2026 and r.verdict == "number" and len(r.digits) == 4
    for d, (x, y, w, h) in zip(r.digits, boxes):
        bx, by, bw, bh = d.box
        assert abs(bx - x) <= 3 and abs(by - y) <= 3 and abs(bw - w) <= 4 and abs(bh - h) <= 4


def test_a_seven_leaning_over_its_neighbour_stays_two_digits(model):
    # A 7 whose bar reaches over a 1 written under it: their boxes overlap, their ink does not touch.
    c = Canvas(260, 200)
    for points in ([(15, 25), (165, 25), (60, 185)], [(155, 80), (155, 185)]):
        c.begin_stroke(points[0], 6)
        for p in points[1:]:
            c.extend_stroke(p)
        c.end_stroke()
    assert label_pieces(c.array > 0.1)[1] == 2  # apart
    r = read(c.array, model)
    assert r.text == "71"
    seven, one = (d.box for d in r.digits)
    assert seven[0] + seven[2] > one[0] + one[2]  # the 1's box lies inside the 7's columns


@pytest.mark.parametrize("digit", sorted(PIECES))
def test_digits_in_separate_pieces_are_one_digit(model, digit):
    g = glyph({digit: PIECES[digit]})
    img, _ = compose(f"3{digit}8", np.random.default_rng(digit), "plain", g)
    if digit in (4, 5):  # a 4 in two strokes and a 5 with its bar apart really are in two pieces
        assert label_pieces(img > 0.1)[1] == 4
    assert read(img, model).text == f"3{digit}8"


def test_overlapping_boxes_sizes_and_a_slanted_baseline(model):
    for case, seed in (("overlapping boxes", 3), ("sizes", 4), ("slanted baseline", 5)):
        rng = np.random.default_rng(seed)
        img, boxes = compose("4096", rng, case, glyph({}))
        r = read(img, model)
        assert r.text == "4096", case
    # and the cases really are what they say
    img, boxes = compose("4096", np.random.default_rng(5), "slanted baseline", glyph({}))
    assert abs(boxes[0][1] - boxes[-1][1]) > 0.1 * boxes[0][3]


def test_two_touching_digits_are_cut(model):
    rng = np.random.default_rng(7)
    img, _ = compose("40", rng, "touching", glyph({}))
    assert label_pieces(img > 0.1)[1] == 1  # one piece of ink
    r = read(img, model)
    assert r.text == "40" and len(r.digits) == 2


def test_bad_inputs_get_clear_answers(model):
    with pytest.raises(ValueError, match="empty"):
        tc.read_number(np.zeros((0, 10), np.uint8), model)
    with pytest.raises(ValueError, match="2-D"):
        tc.read_number(np.zeros((5, 5, 3), np.uint8), model)
    blank = read(np.zeros((300, 900), np.uint8), model)
    assert blank.verdict == "blank" and blank.text == "" and blank.value is None and blank.digits == ()
    one = read(_crop(sample(3, "round", np.random.default_rng(0)).array), model)
    assert one.text == "3" and one.value == 3 and one.verdict == "number"
    specks = np.zeros((300, 900), np.float32)
    specks[100:103, 100:103] = specks[200:202, 600:603] = 1
    assert read(specks, model).verdict in ("too small", "not a number")
    # a long wavy scribble: one piece, no digits
    scribble = np.zeros((200, 3000), np.float32)
    xs = np.arange(100, 2900)
    ys = (100 + 60 * np.sin(xs / 40)).astype(int)
    for dy in range(-4, 5):
        scribble[ys + dy, xs] = 1
    r = read(scribble, model)
    assert r.verdict == "not a number" and r.value is None and "?" in r.text and len(r.digits) <= 2


def test_a_20000_pixel_wide_image_is_read_in_bounded_time(model):
    img, _ = compose("1987", np.random.default_rng(9), "plain", glyph({}))
    h, w = img.shape
    big = np.zeros((h * 25, 20000), np.uint8)
    from PIL import Image

    scaled = np.asarray(Image.fromarray((img * 255).astype(np.uint8)).resize((20000 * w // (w + 40), h * 25)))
    big[:, :scaled.shape[1]] = scaled
    from tinycnn.digits.parts import WORK_PIXELS, working_image

    assert working_image(big)[0].size <= WORK_PIXELS  # the work is bounded, whatever the width
    assert read(big, model).text == "1987"


def test_noise_is_capped(model):
    rng = np.random.default_rng(0)
    noise = (rng.random((400, 4000)) < 0.02).astype(np.float32)  # tens of thousands of specks
    r = read(noise, model)
    from tinycnn.digits.numbers import MAX_DIGITS

    assert r.verdict in ("too small", "not a number", "unsure") and len(r.digits) <= MAX_DIGITS
