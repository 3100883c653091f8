"""The pad's look-inside page (key I), headless: real key and mouse events through pygame's queue."""
import os

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pygame  # noqa: E402

import tinycnn as tc  # noqa: E402
from pad.app import PadApp  # noqa: E402


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
