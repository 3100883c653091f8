"""The pad's look-inside page (key I), headless: real key and mouse events through pygame's queue."""
import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

import tinycnn as tc  # noqa: E402
from pad.app import PadApp  # noqa: E402
from test_pad import frame_texts  # noqa: E402

pytestmark = pytest.mark.slow  # trains, runs commands, drives the pad or reads whole data sets


def post(type_, **kw):
    pygame.event.post(pygame.event.Event(type_, **kw))


def key(app, k):
    post(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0)
    post(pygame.KEYUP, key=k, mod=0, unicode="", scancode=0)
    app.frame(fps=0)


def panel_pixels(app):
    p = app.panel
    return pygame.surfarray.array3d(app.screen)[p.left:p.right, p.top:p.bottom].copy()


def test_key_i_shows_the_inside_and_follows_the_drawing(tmp_path):
    app = PadApp(tc.pretrained(), size=(900, 600))
    try:
        app.frame(fps=0)
        bars = panel_pixels(app)
        key(app, pygame.K_i)
        assert app.inside is not None
        blank = panel_pixels(app)
        assert np.abs(blank.astype(int) - bars).sum() > 0  # the panel changed page
        r = app.rect
        pts = [(int(r.x + r.w * u), int(r.y + r.h * v)) for u, v in
               [(0.25 + 0.5 * t, 0.2) for t in np.linspace(0, 1, 12)] + [(0.75 - 0.3 * t, 0.2 + 0.65 * t)
                                                                          for t in np.linspace(0, 1, 16)]]
        post(pygame.MOUSEBUTTONDOWN, pos=pts[0], button=1)
        seen = []
        for i, p in enumerate(pts[1:]):
            post(pygame.MOUSEMOTION, pos=p, rel=(1, 1), buttons=(1, 0, 0))
            if i % 5 == 4:  # mid-stroke frames: the maps follow the pen
                app.frame(fps=0)
                seen.append(app.inside.maps[0][1].copy())
        post(pygame.MOUSEBUTTONUP, pos=pts[-1], button=1)
        app.frame(fps=0)
        assert len(seen) >= 3 and not np.allclose(seen[0], seen[-1])
        inside = app.inside
        assert inside.eye is app.eye and inside.digit == int(np.argmax(app.probs))
        # What the page shows is the library's own numbers for this drawing.
        maps = tc.feature_maps(app.model, app.eye[None, None])
        assert [m.shape for _, m, _ in inside.maps] == [y[0].shape for _, _, y in maps]
        np.testing.assert_allclose(inside.maps[0][1], maps[0][2][0], rtol=1e-5, atol=1e-5)
        from pad.inside import saliency_rgb
        expected = saliency_rgb(app.eye, tc.saliency(app.model, app.eye, inside.digit)).transpose(1, 0, 2)
        assert np.abs(inside.sal.astype(int) - expected).max() <= 1
        assert np.abs(panel_pixels(app).astype(int) - blank).sum() > 0
        key(app, pygame.K_i)
        assert app.inside is None
    finally:
        app.close()


def test_the_page_looks_inside_the_pass_that_read_the_drawing(monkeypatch):
    """With the page open, the reading's forward is the recorded one: one pass per frame while
    drawing, not two, and the verdict, maps and saliency are the plain path's numbers."""
    import pad.inside
    calls = []
    real_record = pad.inside.record
    monkeypatch.setattr(pad.inside, "record", lambda *a: calls.append(1) or real_record(*a))
    app = PadApp(tc.pretrained(), size=(900, 600))
    try:
        key(app, pygame.K_i)
        r = app.rect
        post(pygame.MOUSEBUTTONDOWN, pos=(r.x + r.w // 2, r.y + r.h // 5), button=1)
        checked = 0
        for i, v in enumerate(np.linspace(0.2, 0.8, 12)):
            post(pygame.MOUSEMOTION, pos=(r.x + r.w // 2, int(r.y + r.h * v)), rel=(0, 1), buttons=(1, 0, 0))
            calls.clear()
            app.frame(fps=0)
            if app.reading.verdict not in ("blank", "too small"):
                assert len(calls) == 1  # the reading's pass, recorded; the page ran no other
                checked += 1
                strokes = [np.asarray(app.canvas.current["points"], np.float32)]
                plain = tc.read_digit(app.canvas.array, app.model, pen=2 * app.brush, strokes=strokes, views=app.views)
                assert plain.verdict == app.reading.verdict
                np.testing.assert_allclose(plain.probs, app.reading.probs, rtol=1e-5, atol=1e-6)
                maps = tc.feature_maps(app.model, app.eye[None, None])
                for (_, fmap, _), (_, _, y) in zip(app.inside.maps, maps):
                    np.testing.assert_allclose(fmap, y[0], rtol=1e-5, atol=1e-5)
                sal = tc.saliency(app.model, app.eye, app.inside.digit)
                expected = pad.inside.saliency_rgb(app.eye, sal).transpose(1, 0, 2)
                assert np.abs(app.inside.sal.astype(int) - expected).max() <= 1
        post(pygame.MOUSEBUTTONUP, pos=(r.x + r.w // 2, int(r.y + r.h * 0.8)), button=1)
        app.frame(fps=0)
        assert checked >= 6
        calls.clear()
        app.predict()
        app.draw()
        assert len(calls) == 1
        calls.clear()
        app.predict()
        app.model.forward(app.eye[None, None])  # another pass since the reading's: the page records its own
        app.draw()
        assert len(calls) == 2
        np.testing.assert_allclose(app.inside.maps[0][1], tc.feature_maps(app.model, app.eye[None, None])[0][2][0],
                                   rtol=1e-5, atol=1e-5)
    finally:
        app.close()


def test_mosaic_lays_maps_out_in_rows():
    from pad.inside import mosaic
    maps = np.random.default_rng(0).random((5, 3, 4)).astype(np.float32)
    maps[2] = 7.0  # a flat map shows as 0
    m = mosaic(maps, cols=2, pad=1)
    assert m.shape == (3 * 4 - 1, 2 * 5 - 1)
    for i in range(5):
        r, c = divmod(i, 2)
        tile = m[r * 4:r * 4 + 3, c * 5:c * 5 + 4]
        want = np.zeros((3, 4)) if i == 2 else (maps[i] - maps[i].min()) / np.ptp(maps[i])
        np.testing.assert_allclose(tile, want, rtol=1e-6, atol=1e-6)
    assert (m[3, :] == -1).all() and (m[:, 4] == -1).all() and (m[8:, 5:] == -1).all()  # gaps, and no sixth map


def test_layers_are_named_as_a_reader_would():
    from pad.inside import conv_labels

    assert conv_labels(tc.pretrained()) == {"0": "conv 1", "4": "conv 2", "8.0": "conv 3 (residual block)",
                                            "8.3": "conv 4 (residual block)"}




@pytest.mark.parametrize("size", [(420, 300), (900, 600), (1600, 1000)])
def test_the_maps_are_large_enough_to_see_at_every_size(size, monkeypatch):
    import pad.inside
    planned = []
    real_plan = pad.inside.plan
    monkeypatch.setattr(pad.inside, "plan", lambda *a: planned.append(real_plan(*a)) or planned[-1])
    app = PadApp(tc.pretrained(), size=size)
    try:
        r = app.rect
        post(pygame.MOUSEBUTTONDOWN, pos=(r.centerx, int(r.y + r.h * 0.2)), button=1)
        post(pygame.MOUSEMOTION, pos=(r.centerx, int(r.y + r.h * 0.8)), rel=(0, 1), buttons=(1, 0, 0))
        post(pygame.MOUSEBUTTONUP, pos=(r.centerx, int(r.y + r.h * 0.8)), button=1)
        key(app, pygame.K_i)
        labels = [t for t in frame_texts(app) if t.startswith("conv ")]
        assert [t.split(":")[0].split(" (")[0] for t in labels] == ["conv 1", "conv 2", "conv 3", "conv 4"]
        sides, shown = planned[-1]
        assert min(sides) >= 12  # at least 12 pixels a map: 7x7 maps at more than one pixel a value
        if size == (420, 300):  # too small for all 224: some of each layer, and it says so
            assert all("shown" in t for t in labels[1:])
        else:
            assert labels[1] == "conv 2: 64 maps, 14x14" and not any("shown" in t for t in labels)
            assert shown == [32, 64, 64, 64] and sides[0] > sides[2]  # 28x28 maps in larger tiles than 7x7
        if size == (1600, 1000):
            assert min(sides) >= 20
    finally:
        app.close()


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(1, 128), st.sampled_from([3, 7, 14, 28])), min_size=1, max_size=6),
       st.integers(40, 1500), st.integers(40, 1000), st.integers(8, 30))
def test_plan_fits_the_box(layers, width, height, label_h):
    from pad.inside import plan

    smallest, largest = 12, 160
    sides, shown = plan(layers, width, height, label_h, smallest, largest)
    cols = [max(1, width // t) for t in sides]
    used = sum(-(-n // c) * t for n, c, t in zip(shown, cols, sides)) + len(layers) * label_h
    assert all(1 <= n <= count for n, (count, _) in zip(shown, layers))
    assert all(t >= smallest for t in sides)
    if height >= len(layers) * (label_h + smallest):  # room for a row a layer: it all fits
        assert used <= height
    if shown != [n for n, _ in layers]:  # maps left out only at the smallest tiles
        assert sides == [smallest] * len(layers)
