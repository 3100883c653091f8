"""read_number: reading handwriting as a whole number, from pixels and from strokes, its marks,
the dev set it is checked on, and bad input answered in bounded time and memory."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinycnn as tc
from pad.canvas import Canvas
from checks.handwriting import sample
from checks.numberwriting import PIECES, _crop, compose, drawn_strokes, write_number, writers_of
from tinycnn.digits.brush import render_strokes
from tinycnn.digits.numbers import MAX_DIGITS, NUMBER_VERDICTS
from tinycnn.digits.parts import MAX_PARTS, label_pieces
from tinycnn.digits.strokes import digit_strokes


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
    assert r.verdict in ("too small", "not a number", "unsure") and len(r.digits) <= MAX_DIGITS


# -- reading by recognition ------------------------------------------------------------------------
@pytest.mark.parametrize("pair", ["89", "98"])
def test_a_touching_pair_read_as_one_sure_digit_is_read_as_two(model, pair):
    img, _ = compose(pair, np.random.default_rng(1), "touching", glyph({}))
    assert label_pieces(img > 0.1)[1] == 1  # one piece of ink
    whole = tc.read_digit(img, model)
    assert whole.verdict == "digit" and whole.digit == 8 and whole.probs.max() > 0.99  # "one confident 8"
    r = read(img, model)
    assert r.text == pair and [d.digit for d in r.digits] == [int(c) for c in pair]
    assert r.digits[0].box[0] < r.digits[1].box[0]


def test_a_zero_standing_apart_is_not_cut_into_two_ones(model):
    # The two arcs of a 0 each read as a confident 1: a digit standing apart is read whole.
    img, _ = compose("0000", np.random.default_rng(3), "plain", glyph({}))
    assert read(img, model).text == "0000"


def digit_strokes_of(w, i):
    """The strokes of digit i of a written number (their points lie in its true box)."""
    x, _, bw, _ = w.boxes[i]
    return [s for s in w.strokes if x <= s[:, 0].mean() <= x + bw]


@pytest.mark.parametrize("seed", range(3))
def test_from_strokes_each_digit_is_read_from_its_own_strokes(model, seed):
    w = write_number("4071", np.random.default_rng(seed), "touching", pen_sample=drawn_strokes)
    assert w.touching == 1 and render_strokes(w.strokes, w.image.shape, w.pen / 2).max() > 0.5
    r = tc.read_number(w.image, model, pen=w.pen, strokes=w.strokes)
    assert r.text == "4071" and r.value == 4071 and r.verdict == "number"
    for i, d in enumerate(r.digits):
        own = tc.read_digit(w.image, model, strokes=digit_strokes_of(w, i))  # as the pad reads one digit
        assert d.digit == own.digit and np.abs(d.input - own.input).mean() < 0.01  # (points thinned first)
        x, y, bw, bh = w.boxes[i]
        bx, by, bbw, bbh = d.box
        assert abs(bx - x) <= 3 and abs(by - y) <= 3 and abs(bbw - bw) <= 4 and abs(bbh - bh) <= 4


def test_strokes_are_grouped_in_the_order_they_were_written(model):
    # A 1 leaning into the 4 before it, crossing its bar and standing between the 4's two strokes
    # from left to right: a digit's strokes come one after another, whatever their columns.
    four = [np.array([[60, 20], [20, 130], [170, 130]], np.float32), np.array([[150, 40], [150, 210]], np.float32)]
    one = [np.array([[185, 20], [115, 210]], np.float32)]
    six = [np.array([[300, 20], [250, 110], [255, 190], [300, 210], [330, 170], [300, 125], [255, 160]], np.float32)]
    strokes = four + one + six
    img = render_strokes(strokes, (240, 380), 6)
    assert label_pieces(img > 0.1)[1] == 2  # the 4 and the 1 are one piece of ink
    r = tc.read_number(img, model, pen=12, strokes=strokes)
    assert r.text == "416" and r.digits[1].box[0] < r.digits[0].box[0] + r.digits[0].box[2]


def test_a_thick_pen_reads_from_its_strokes(model):
    # Drawn with a marker, the ink of each digit is a blob; its strokes are still a clear digit.
    rng = np.random.default_rng(4)
    w = write_number("2580", rng, "plain", pen_sample=drawn_strokes)
    thick = 0.3 * np.median([b[3] for b in w.boxes])
    img = render_strokes(w.strokes, w.image.shape, thick / 2)
    assert tc.read_number(img, model, pen=thick, strokes=w.strokes).text == "2580"


def test_bad_strokes_get_clear_errors(model):
    img = np.zeros((50, 100), np.float32)
    with pytest.raises(ValueError, match=r"stroke 1 must be an \(n, 2\) array.*\(3, 3\)"):
        tc.read_number(img, model, strokes=[np.zeros((2, 2)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match="stroke 0 holds NaN"):
        tc.read_number(img, model, strokes=[np.array([[0.0, np.nan]])])
    assert tc.read_number(img, model, strokes=[]).verdict == "blank"  # no strokes: read the pixels
    assert tc.read_number(img, model, strokes=[np.zeros((0, 2))]).verdict == "blank"


@given(st.lists(st.lists(st.tuples(st.floats(-50, 400), st.floats(-50, 250)), min_size=1, max_size=12),
                min_size=1, max_size=30))
def test_any_strokes_end_in_a_reading(model, strokes):
    strokes = [np.array(s, np.float32) for s in strokes]
    r = tc.read_number(np.zeros((200, 350), np.float32), model, pen=8, strokes=strokes)
    assert r.verdict in NUMBER_VERDICTS and len(r.digits) <= MAX_DIGITS
    assert (r.value is None) == (r.verdict != "number")


# -- marks: decimal point and minus ------------------------------------------------------------------
def with_marks(digits, seed, points=(), minus=None, dots_after=False):
    """A number written with the pad's templates, with a point after digit i for i in `points`
    (near the baseline), a dash before it at `minus` (a fraction of the first digit's height
    from its top), and a dot after the last digit. Returns (image, strokes, pen)."""
    w = write_number(digits, np.random.default_rng(seed), "plain", pen_sample=drawn_strokes)
    h = float(np.median([b[3] for b in w.boxes]))
    strokes = [s + [h, 0] for s in w.strokes]  # room for a minus on the left
    boxes = [(x + h, y, bw, bh) for x, y, bw, bh in w.boxes]

    def dot(x, y):
        return np.array([[x, y], [x + 0.5, y]], np.float32)

    for i in points:
        (x, y, bw, bh), (nx, ny, _, nh) = boxes[i], boxes[i + 1]
        strokes.append(dot((x + bw + nx) / 2, max(y + bh, ny + nh) - 0.06 * h))
    if dots_after:
        x, y, bw, bh = boxes[-1]
        strokes.append(dot(x + bw + 0.3 * h, y + bh - 0.06 * h))
    if minus is not None:
        x, y, _, bh = boxes[0]
        strokes.insert(0, np.array([[x - 0.7 * h, y + minus * bh], [x - 0.25 * h, y + minus * bh]], np.float32))
    shape = (w.image.shape[0], w.image.shape[1] + int(2 * h))
    return render_strokes(strokes, shape, w.pen / 2), strokes, w.pen


@pytest.mark.parametrize("path", ["pixels", "strokes"])
def test_decimal_point_and_minus(model, path):
    def number(digits, seed, **marks):
        img, strokes, pen = with_marks(digits, seed, **marks)
        return tc.read_number(img, model, pen=pen, strokes=strokes if path == "strokes" else None)

    r = number("314", 0, points=[0])
    assert r.text == "3.14" and r.value == 3.14 and r.verdict == "number" and len(r.digits) == 3
    assert [m[0] for m in r.marks] == ["."] and r.digits[0].box[0] < r.marks[0][1][0] < r.digits[1].box[0]
    r = number("42", 1, minus=0.5)
    assert r.text == "-42" and r.value == -42 and r.verdict == "number" and r.marks[0][0] == "-"
    r = number("1205", 2, points=[1], minus=0.5)
    # the marks are what is tested here; the pixel path may leave one digit unsure ("-?2.05", seen
    # for this drawing's stick 1 with the model trained on real pen digits), never drop a mark
    assert r.text == "-12.05" and r.value == -12.05 if path == "strokes" else (
        len(r.text) == 6 and r.text[0] == "-" and r.text[3] == "." and r.text.replace("?", "1") == "-12.05")
    # a dot after the last digit is a full stop, not part of the number
    r = number("77", 0, dots_after=True)
    assert r.text == "77" and r.value == 77 and r.marks == ()
    # two points: read, but no number
    r = number("1234", 1, points=[0, 2])
    assert r.text == "1.23.4" and r.value is None and r.verdict == "unsure"
    # a dash before the first digit, low on the line: not a minus, and not dropped either
    r = number("42", 1, minus=0.95)
    assert r.text == "?42" and r.value is None and r.verdict == "unsure"


# -- bounded -----------------------------------------------------------------------------------------
def edits(a, b):
    """The Levenshtein distance: characters inserted, deleted or changed to turn a into b."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row, last = [i] + [0] * len(b), row
        for j, cb in enumerate(b, 1):
            row[j] = min(last[j] + 1, row[j - 1] + 1, last[j - 1] + (ca != cb))
    return row[-1]


def test_24_digits(model):
    truth = "".join(str(d) for d in np.random.default_rng(24).integers(0, 10, 24))
    w = write_number(truth, np.random.default_rng(24), "plain", pen_sample=drawn_strokes)
    # 24 digits are read, from the strokes and from the pixels; a stick 1 squeezed between two
    # digits may join one of them (seen with the model trained on real pen digits: "5 1 5" as "55")
    for got in (tc.read_number(w.image, model, pen=w.pen, strokes=w.strokes).text, read(w.image, model).text):
        assert edits(got, truth) <= 1, got
    more = write_number(truth + "12", np.random.default_rng(24), "plain", pen_sample=drawn_strokes)
    assert len(read(more.image, model).digits) == MAX_DIGITS  # read at most


def peak_memory(f):
    """(f(), the most memory numpy held above what it held before, in bytes)."""
    tracemalloc.start()
    try:
        out = f()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_a_60000_pixel_wide_image_costs_memory_of_the_working_image_not_of_the_input(model, dtype):
    img, _ = compose("1987", np.random.default_rng(9), "plain", glyph({}))
    h, w = img.shape
    peaks = []
    for width in (w + 40, 60000):
        canvas = np.zeros((h, width), dtype)
        canvas[:, width - w - 20:width - 20] = img * 255 if dtype == np.uint8 else img
        read(canvas, model)  # anything loaded once is not counted
        r, peak = peak_memory(lambda canvas=canvas: read(canvas, model))
        assert r.text == "1987" and r.digits[0].box[0] >= width - w - 20
        peaks.append(peak)
    assert peaks[1] < 1.2 * peaks[0] + 1e6 and peaks[1] < canvas.nbytes  # no copy of the input


def test_a_2000_stroke_scribble_ends_in_a_reading(model):
    rng = np.random.default_rng(0)
    strokes = [np.cumsum(rng.normal(0, 8, (rng.integers(1, 40), 2)), axis=0) + rng.uniform([0, 50], [3000, 250])
               for _ in range(2000)]
    img = render_strokes(strokes[:MAX_PARTS], (300, 3000), 4)
    for given_strokes in (strokes, None):
        r = tc.read_number(img, model, pen=8, strokes=given_strokes)
        assert r.verdict in NUMBER_VERDICTS and len(r.digits) <= MAX_DIGITS and r.value is None


# -- the dev set -------------------------------------------------------------------------------------
def test_numbers_are_written_from_samples_one_writer_each():
    rng = np.random.default_rng(1)
    samples = [(digit_strokes(d, rng), d, f"w{k}") for k in range(2) for d in range(10)]
    # writer w1's 7s are single vertical bars: a number by w1 has only those
    samples = [(s if (who, d) != ("w1", 7) else [np.array([[0.5, 0], [0.5, 1]])], d, who) for s, d, who in samples]
    writer = writers_of(samples)
    seen = set()
    for k in range(12):
        pen_sample = writer(np.random.default_rng(k))
        w = write_number("77", np.random.default_rng(k), "plain", pen_sample=pen_sample)
        seen.add(len(w.strokes[0]) == 2)
        assert w.pen is not None and len(w.boxes) == 2 and w.touching == 0
        assert np.abs(render_strokes(w.strokes, w.image.shape, w.pen / 2) - w.image).max() < 0.01
    assert seen == {True, False}  # both writers, never mixed within a number
    with pytest.raises(ValueError, match="no 3"):
        writers_of([s for s in samples if s[1] != 3])
    w = write_number("4096", np.random.default_rng(2), "touching", pen_sample=digit_strokes)
    assert w.touching >= 1 and label_pieces(w.image > 0.1)[1] < 4
