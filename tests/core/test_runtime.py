"""Process set-up for every way GANViz starts: streams, crash logs, resources, self-test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganviz_gui import runtime
from ganviz_gui.core import resources

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "GANVIZ_HOME": str(home), **env},
        cwd=ROOT,
        timeout=120,
    )


def test_an_uncaught_exception_leaves_a_crash_log_and_tells_where(tmp_path):
    result = _python(
        "from ganviz_gui import runtime\n"
        "runtime.prepare_process()\n"
        "runtime.set_crash_reporter(lambda path, summary: print('REPORTED', summary))\n"
        "raise RuntimeError('boom in a slot')\n",
        tmp_path,
    )
    assert result.returncode == 1
    (log,) = (tmp_path / "logs").glob("crash-*.log")
    text = log.read_text()
    assert "RuntimeError: boom in a slot" in text and "GANViz" in text and "frozen: False" in text
    assert f"logged in {log}" in result.stderr
    assert "REPORTED RuntimeError: boom in a slot" in result.stdout
    assert (tmp_path / "logs" / "faults.log").exists()  # faulthandler's file, opened at start


def test_a_windowed_build_without_streams_can_still_print(tmp_path):
    result = _python(
        "import sys\n"
        "sys.stdout = sys.stderr = None  # as in a windowed PyInstaller build\n"
        "from ganviz_gui import runtime\n"
        "runtime.prepare_process()\n"
        "print('no crash')\n"
        "import warnings; warnings.warn('nor here')\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr


def test_the_process_age_is_measured_from_the_os():
    age = runtime.seconds_since_process_start()
    if sys.platform.startswith("linux"):
        assert age is not None and 0 < age < 24 * 3600
    else:
        assert age is None


def test_resources_are_found_from_source_frozen_and_wheel_layouts(tmp_path, monkeypatch):
    assert resources.resource_path("icon.png") == ROOT / "resources" / "icon.png"
    assert resources.resource_path("examples", "digits-dcgan", "config.json").is_file()
    # A frozen build: everything under sys._MEIPASS/resources.
    frozen = tmp_path / "frozen"
    (frozen / "resources" / "data").mkdir(parents=True)
    (frozen / "resources" / "data" / "digits.csv.gz").write_bytes(b"x")
    monkeypatch.setattr(sys, "_MEIPASS", str(frozen), raising=False)
    assert resources.resource_path("data", "digits.csv.gz").parent == frozen / "resources" / "data"
    with pytest.raises(FileNotFoundError, match="GANViz resource missing"):
        resources.resource_path("icon.png")
    monkeypatch.delattr(sys, "_MEIPASS")
    # A wheel install: no checkout beside the package, data-files under the prefix.
    prefix = tmp_path / "venv"
    (prefix / "share" / "ganviz" / "resources").mkdir(parents=True)
    (prefix / "share" / "ganviz" / "resources" / "icon.png").write_bytes(b"png")
    monkeypatch.setattr(resources, "SOURCE_ROOT", tmp_path / "no-checkout" / "resources")
    monkeypatch.setattr(sys, "prefix", str(prefix))
    assert resources.resource_path("icon.png") == prefix / "share/ganviz/resources/icon.png"


def test_the_wheel_lists_every_resource_file():
    """pyproject's data-files cover each file under resources/ (a new file must be added)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ]
    covered = {
        path.resolve()
        for patterns in listed.values()
        for pattern in patterns
        for path in ROOT.glob(pattern)
    }
    files = {p.resolve() for p in (ROOT / "resources").rglob("*") if p.is_file()}
    assert files and files <= covered, sorted(str(p) for p in files - covered)
