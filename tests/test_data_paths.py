"""The one data folder (tinycnn.data.paths) and the `python -m tinycnn.data fetch NAME` command."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinycnn.data import paths
from tinycnn.data.mnist import default_root

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("TINYCNN_DATA", "XDG_DATA_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def test_tinycnn_data_wins(clean_env, tmp_path):
    clean_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    clean_env.setenv("TINYCNN_DATA", str(tmp_path / "mine"))
    assert paths.data_root() == tmp_path / "mine"
    assert default_root() == tmp_path / "mine" / "mnist"


def test_xdg_then_home(clean_env, tmp_path):
    assert paths.data_root() == tmp_path / "home" / ".local" / "share" / "tinycnn"
    clean_env.setenv("XDG_DATA_HOME", "relative/is/invalid")  # the XDG spec says: ignore it
    assert paths.data_root() == tmp_path / "home" / ".local" / "share" / "tinycnn"
    clean_env.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.data_root() == tmp_path / "xdg" / "tinycnn"


def test_windows_uses_localappdata(clean_env, tmp_path):
    clean_env.setattr(paths.sys, "platform", "win32")
    clean_env.setenv("LOCALAPPDATA", str(tmp_path / "AppData" / "Local"))
    assert paths.data_root() == tmp_path / "AppData" / "Local" / "tinycnn"


def test_same_folder_from_any_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TINYCNN_DATA", "XDG_DATA_HOME")}
    env.update(HOME=str(tmp_path), PYTHONPATH=REPO)
    code = "from tinycnn.data.mnist import default_root; print(default_root())"
    for cwd in (REPO, tmp_path):
        r = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
        assert Path(r.stdout.strip()) == tmp_path / ".local" / "share" / "tinycnn" / "mnist", r.stderr


def _fetch(*args):
    return subprocess.run([sys.executable, "-m", "tinycnn.data", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, PYTHONPATH=REPO))


@pytest.mark.parametrize("args, code, message", [
    (["fetch", "--from", "/no/such/folder"], 1, "--from /no/such/folder: no such folder"),  # plain fetch = mnist
    (["fetch", "mnist", "--from", "/no/such/folder"], 1, "--from /no/such/folder: no such folder"),
    (["fetch", "unipen", "--from", "/no/such/folder"], 1, "--from /no/such/folder: no such folder"),
    (["fetch", "emnist"], 2, "no data set called 'emnist'; known: mnist, unipen"),
    (["get"], 2, "usage: python -m tinycnn.data fetch [mnist|unipen]"),
])
def test_fetch_command_names_the_data_set(args, code, message):
    r = _fetch(*args)
    assert r.returncode == code and r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
