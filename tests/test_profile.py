"""The per-user profile: round trip, damaged and foreign folders, the default place."""
import json
from pathlib import Path

import numpy as np
import pytest

import tinycnn as tc


def filled(folder, n=4):
    p = tc.Profile(folder)
    rng = np.random.default_rng(0)
    for i in range(n):
        p.add(rng.random((28, 28), dtype=np.float32), i % 10, [{"kind": "ink", "radius": 9.0,
                                                                "points": [[1.0, 2.0], [3.5, 4.0]]}], canvas=560)
    return p


def test_round_trip(tmp_path):
    p = filled(tmp_path / "me", 4)
    images, labels, strokes = tc.Profile(tmp_path / "me").load_set()
    assert images.dtype == np.uint8 and images.shape == (4, 28, 28) and labels.tolist() == [0, 1, 2, 3]
    assert strokes[2] == {"label": 2, "canvas": 560, "strokes": [{"kind": "ink", "radius": 9.0,
                                                                  "points": [[1.0, 2.0], [3.5, 4.0]]}]}
    assert p.counts().tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    np.testing.assert_array_equal(tc.read_idx(tmp_path / "me" / "images.idx"), images)
    assert sorted(f.name for f in (tmp_path / "me").iterdir()) == ["images.idx", "labels.idx", "profile.json",
                                                                   "strokes.json"]
    assert p.load_model() is None
    model = tc.Sequential(tc.Flatten(), tc.Dense(784, 10))
    p.save_model(model)
    assert p.load_model().state_dict().keys() == model.state_dict().keys()
    assert p.reset_model() and p.load_model() is None and p.counts().sum() == 4  # the drawings stay


def test_new_folder_is_an_empty_profile(tmp_path):
    assert tc.Profile(tmp_path / "new").counts().sum() == 0
    assert not (tmp_path / "new").exists()  # reading creates nothing


@pytest.mark.parametrize("damage, words", [
    (lambda f: (f / "profile.json").write_text("{not json"), "profile.json is damaged"),
    (lambda f: (f / "profile.json").write_text(json.dumps({"format": "other", "count": 4})), "unknown format"),
    (lambda f: (f / "profile.json").write_text(json.dumps({"format": "tinycnn-profile-1", "count": 5})),
     "do not match"),
    (lambda f: (f / "images.idx").write_bytes((f / "images.idx").read_bytes()[:100]), "cannot read the drawings"),
    (lambda f: (f / "strokes.json").write_text("[]"), "strokes.json"),
    (lambda f: (f / "model.npz").write_bytes(b"garbage"), "personal model cannot be read"),
])
def test_damaged_profile_is_named(tmp_path, damage, words):
    filled(tmp_path / "me")
    damage(tmp_path / "me")
    with pytest.raises(tc.ProfileError, match=words) as e:
        p = tc.Profile(tmp_path / "me")
        p.load_set()
        p.load_model()
    assert str(tmp_path / "me") in str(e.value)


def test_foreign_folder_and_file_are_refused(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")
    with pytest.raises(tc.ProfileError, match="not a tinycnn profile"):
        tc.Profile(tmp_path / "photos").add(np.zeros((28, 28), np.float32), 3)
    assert sorted(f.name for f in (tmp_path / "photos").iterdir()) == ["cat.jpg"]  # nothing written
    (tmp_path / "afile").write_text("x")
    with pytest.raises(tc.ProfileError, match="is a file"):
        tc.Profile(tmp_path / "afile").counts()


def test_default_folder_is_the_users_data_directory(monkeypatch, tmp_path):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert tc.default_profile_dir() == tmp_path / "tinycnn"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert tc.default_profile_dir() == Path.home() / ".local" / "share" / "tinycnn"
    monkeypatch.setattr("sys.platform", "darwin")
    assert tc.default_profile_dir() == Path.home() / "Library" / "Application Support" / "tinycnn"
    assert not str(tc.default_profile_dir()).startswith(str(Path(tc.__file__).parent.parent))
