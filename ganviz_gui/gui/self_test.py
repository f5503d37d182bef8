"""`ganviz --self-test` (and `GANViz --self-test` of the built app): open the window offscreen,
train a few steps on the default data, save and reopen the checkpoint, render every panel, and
exit 0, or exit 1 naming the stage that failed.

It runs in a fresh temporary GANVIZ_HOME, so it neither reads the user's settings nor leaves
a run among theirs. Each stage has a time limit; the report goes to stdout and to
`<home>/logs/self-test.log` (a windowed build has no console).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

STEPS = 60  # enough to cross a logging interval, an evaluation and a checkpoint at stop


class SelfTestFailure(Exception):
    pass


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="ganviz-self-test-"))
    os.environ["GANVIZ_HOME"] = str(home)
    report: list[str] = []

    def say(line: str) -> None:
        report.append(line)
        print(line, flush=True)

    started = time.perf_counter()
    try:
        _stages(say)
        code = 0
        say(f"self-test passed in {time.perf_counter() - started:.1f} s")
    except SelfTestFailure as failure:
        code = 1
        say(f"self-test FAILED: {failure}")
    except Exception as exc:  # anything else is a failure of the stage that raised it
        code = 1
        say(f"self-test FAILED: {type(exc).__name__}: {exc}")
    log = home / "logs" / "self-test.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(report) + "\n", encoding="utf-8")
    print(f"report: {log}", flush=True)
    return code


def _stages(say: Callable[[str], None]) -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])

    def wait_for(what: str, done: Callable[[], bool], seconds: float) -> float:
        began = time.perf_counter()
        while not done():
            box = getattr(app, "self_test_window", None) and app.self_test_window.error_box
            if box is not None:  # the window reported a problem: that is the failure
                raise SelfTestFailure(f"{what}: {box.text()}")
            if time.perf_counter() - began > seconds:
                raise SelfTestFailure(f"{what}: not done within {seconds:.0f} s")
            loop = QEventLoop()
            QTimer.singleShot(20, loop.quit)
            loop.exec()
        return time.perf_counter() - began

    from ganviz_gui import __version__
    from ganviz_gui.gui import MainWindow

    say(f"GANViz {__version__} self-test, Python {sys.version.split()[0]}, {sys.platform}")
    window = MainWindow()
    app.self_test_window = window
    window.resize(1400, 860)
    window.show()
    wait_for("the first paint", lambda: window._engine_load_started, 60)
    if window.first_paint_after is not None:
        say(
            f"first paint of the window: {window.first_paint_after:.2f} s after the process started"
        )
    seconds = wait_for("loading the engine (torch)", lambda: window.engine_ready, 180)
    import torch

    say(f"window and engine: ok ({seconds:.1f} s more for torch {torch.__version__})")

    window.setup_panel.apply_preset("8 Gaussians")
    window.setup_panel.steps_spin.setValue(STEPS)
    if not window.start_training():
        raise SelfTestFailure(f"training: refused to start: {window.setup_panel.error_text()}")
    seconds = wait_for("training", lambda: window.trainer.training is None, 180)
    end = window.trainer.last_end
    if end is None or end.reason != "finished" or end.step != STEPS:
        why = end.message if end else "no end reported"
        raise SelfTestFailure(f"training: ended {end and end.reason} at {end and end.step}: {why}")
    say(f"training {STEPS} steps of 8 Gaussians: ok ({seconds:.1f} s)")

    checkpoint = Path(end.checkpoint)
    if not checkpoint.is_file():
        raise SelfTestFailure(f"checkpoint: {checkpoint} was not written")
    window.open_path(str(checkpoint))
    seconds = wait_for(
        "reopening the checkpoint",
        lambda: (
            (window.workspace.shown is not None and window.workspace.shown.origin == "opened")
            or window.error_box is not None
        ),
        60,
    )
    if window.error_box is not None:
        raise SelfTestFailure(f"reopening the checkpoint: {window.error_box.text()}")
    if window.workspace.generator.step != STEPS:
        raise SelfTestFailure(
            f"reopening the checkpoint: it says step {window.workspace.generator.step}"
        )
    say(f"checkpoint saved and reopened: ok ({seconds:.1f} s, {checkpoint.name})")

    wait_for("the explorer's mesh", lambda: window.latent_explorer.mesh_points is not None, 60)
    for dock in window.panel_docks():
        dock.show()
        dock.raise_()
        wait_for(f"showing {dock.windowTitle()}", lambda d=dock: d.isVisible(), 10)
        _check_renders(dock.windowTitle(), dock.widget())
    _check_renders("plots", window.loss_plots)
    say(f"rendered {len(window.panel_docks()) + 1} panels: ok")
    window.close()
    app.processEvents()


def _check_renders(name: str, widget) -> None:
    """The panel paints a picture that is more than one flat colour."""
    image = widget.grab().toImage()
    if image.isNull() or image.width() < 50 or image.height() < 50:
        raise SelfTestFailure(f"rendering {name}: got a {image.width()}x{image.height()} picture")
    step_x, step_y = max(1, image.width() // 40), max(1, image.height() // 40)
    colours = {
        image.pixel(x, y)
        for x in range(0, image.width(), step_x)
        for y in range(0, image.height(), step_y)
    }
    if len(colours) < 3:
        raise SelfTestFailure(f"rendering {name}: the picture is blank")
