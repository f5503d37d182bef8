"""The application around the panels: self-test, Help, shortcuts, themes, the example run,
the icon, and the crash dialog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from ganviz_gui import runtime
from tests.gui.conftest import WAIT_MS

ROOT = Path(__file__).resolve().parents[2]


def run_offscreen(*args: str) -> subprocess.CompletedProcess:
    """`python ARGS` from the project's root, offscreen, its output caught."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
        timeout=600,
    )


def test_the_self_test_passes_and_reports_each_stage(tmp_path):
    result = run_offscreen("-m", "ganviz_gui", "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for stage in ("window and engine: ok", "training 60 steps", "checkpoint saved and reopened"):
        assert stage in out
    assert "rendered 8 panels: ok" in out and "self-test passed" in out
    report = Path(out.strip().splitlines()[-1].removeprefix("report: "))
    assert report.read_text().startswith("GANViz")


def test_a_failing_stage_exits_1_and_names_it(monkeypatch, capsys):
    from ganviz_gui.gui import self_test

    def broken(say):
        say("window and engine: ok")
        raise self_test.SelfTestFailure("training: refused to start: no data")

    monkeypatch.setattr(self_test, "_stages", broken)
    assert self_test.run_self_test() == 1
    assert "self-test FAILED: training: refused to start: no data" in capsys.readouterr().out


def test_space_starts_and_pauses_and_s_steps(qtbot, window):
    window.setup_panel.steps_spin.setValue(100_000)
    window.activateWindow()
    window.loss_plots.setFocus()
    qtbot.keyClick(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.trainer.last_update is not None, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.trainer.last_update.state == "paused", timeout=WAIT_MS)
    assert window.findChild(QAction, "startPauseAction").text() == "Resume"
    step = window.trainer.last_update.step
    qtbot.keyClick(window, Qt.Key_S)
    qtbot.waitUntil(lambda: window.trainer.last_update.step == step + 1, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key_Period, Qt.ControlModifier)  # Stop
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)


def test_help_tour_shortcuts_and_about(qtbot, window):
    tour = window.show_tour()
    titles = [title for title, _, _ in tour.steps]
    assert "Latent explorer" in titles and "Diagnostics" in titles
    tour.close()
    shortcuts = window.show_shortcuts()
    assert "Space" in shortcuts.text() and "Ctrl+." in shortcuts.text()
    import torch
    from PySide6.QtCore import qVersion

    about = window.show_about().text()
    assert torch.__version__ in about and qVersion() in about and "CPU" in about.upper()
    for action in ("tourAction", "shortcutsAction", "aboutAction"):
        assert window.findChild(object, action) is not None
    assert window.findChild(object, "tourAction").shortcut().toString() == "F1"


def test_light_and_dark_themes_restyle_the_plots(qtbot, window):
    window.set_theme("light")
    plot = window.loss_plots.graphics
    assert plot.backgroundBrush().color().name() == "#ffffff"
    assert window.findChild(object, "themeLightAction").isChecked()
    window.set_theme("dark")
    assert plot.backgroundBrush().color().name() == "#000000"
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    assert QApplication.palette().color(QPalette.Window).lightness() < 100
    window.set_theme("system")  # follows the platform (offscreen: light)
    assert window.findChild(object, "themeSystemAction").isChecked()


def test_the_example_run_opens_with_its_checkpoints(qtbot, window):
    window.findChild(object, "openExampleAction").trigger()
    qtbot.waitUntil(lambda: window.workspace.shown is not None, timeout=WAIT_MS)
    assert [step for step, _ in window.workspace.checkpoints] == [1000, 2000, 3000]
    assert window.scrubber.isVisible() and len(window.network_view.stats) == 30
    assert window.loss_plots.series["loss_d"].count == 300  # a record every 10 steps


def test_the_window_has_the_app_icon(qtbot, window):
    assert not window.windowIcon().isNull()


def test_an_uncaught_error_shows_a_dialog_with_the_log(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("GANVIZ_HOME", str(tmp_path))
    runtime.set_crash_reporter(window.show_crash)
    try:
        try:
            raise ValueError("a bug in a slot")
        except ValueError as error:
            runtime._on_uncaught(type(error), error, error.__traceback__)
    finally:
        runtime.set_crash_reporter(None)
    (log,) = (tmp_path / "logs").glob("crash-*.log")
    assert "ValueError: a bug in a slot" in window.error_box.text()
    assert str(log) in window.error_box.text()
    assert pg.getConfigOption("background") in ("#000000", "#ffffff", "k")


def test_quitting_mid_run_ends_the_process_and_keeps_the_run():
    """Ctrl+Q's action in a window `ganviz` started, mid-run: the process ends (quickly: its
    timing is benchmarks/bench_quit.py's) and the run's newest checkpoint is the quit's."""
    result = run_offscreen("benchmarks/bench_quit.py", "--smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "last checkpoint at step" in result.stdout
