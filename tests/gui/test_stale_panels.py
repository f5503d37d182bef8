"""What the window shows always belongs to one run: the bugs of a window without a model.

Each test follows a sequence a new user tried, and checks what is drawn (labels, plots, combos
and dialogs found by their objectName), not the window's internals: the same tests ran against
the window before the workspace model existed, and failed there.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("pyqtgraph")

from PySide6.QtWidgets import QComboBox, QLabel, QMessageBox, QToolBar

from tests.core.test_generator_files import trained_example
from tests.gui.conftest import WAIT_MS


def label(window, name: str) -> str:
    return window.findChild(QLabel, name).text()


def error_dialogs(window) -> list[str]:
    return [box.text() for box in window.findChildren(QMessageBox, "errorDialog")]


def screenshot(window, name: str) -> None:
    """Keep a picture of the window where GANVIZ_SCREENSHOTS names a folder (to look at)."""
    folder = os.environ.get("GANVIZ_SCREENSHOTS")
    if folder:
        window.grab().save(str(Path(folder) / f"{name}.png"))


def train_to_the_end(qtbot, window, preset: str = "8 Gaussians", steps: int = 20) -> str:
    """A short run trained in the window; returns the status bar's text for it."""
    window.setup_panel.apply_preset(preset)
    window.setup_panel.steps_spin.setValue(steps)
    window.start_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    assert "inspecting" in label(window, "stepLabel") and label(window, "rateLabel") == ""
    return label(window, "runFolderLabel")


def test_opening_the_example_after_a_run_shows_the_examples_step_and_folder(qtbot, window):
    trained_folder = train_to_the_end(qtbot, window)
    window.open_example()
    scrubber = window.findChild(QToolBar, "scrubToolbar")
    qtbot.waitUntil(lambda: scrubber.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "digits-dcgan" in label(window, "runFolderLabel"), timeout=WAIT_MS)
    assert label(window, "runFolderLabel") != trained_folder
    assert "/ 20" not in label(window, "stepLabel")  # not the trained run's step any more
    assert "3,000" in label(window, "stepLabel")  # the example's newest checkpoint
    assert label(window, "deviceLabel") == ""  # nothing trains here now
    qtbot.waitUntil(lambda: window.latent_explorer.mosaic_picture is not None, timeout=WAIT_MS)
    screenshot(window, "after_open_example")


def test_opening_a_foreign_generator_after_a_run_clears_the_runs_curves(qtbot, window, tmp_path):
    train_to_the_end(qtbot, window)
    assert window.loss_plots.point_count() > 0
    path = tmp_path / "netG_epoch_5.pth"
    torch.save(trained_example(nz=10, ngf=8, nc=3).state_dict(), path)
    window.open_path(str(path))
    explorer = window.latent_explorer
    qtbot.waitUntil(lambda: explorer.mosaic_picture is not None, timeout=WAIT_MS)
    assert window.loss_plots.point_count() == 0  # a state_dict has no recorded curves
    assert label(window, "runFolderLabel") == "" and label(window, "stepLabel") == ""
    assert not window.findChild(QToolBar, "scrubToolbar").isVisible()
    screenshot(window, "after_open_foreign")


def test_after_stop_the_explorer_and_compare_offer_the_run_just_trained(qtbot, window):
    window.setup_panel.apply_preset("Digits - DCGAN")
    window.setup_panel.steps_spin.setValue(100_000)
    window.setup_panel.set_config(
        window.setup_panel.config().replace(image_size=8, checkpoint_every=5, n_samples=16)
    )
    window.start_training()
    qtbot.waitUntil(lambda: "step" in label(window, "stepLabel"), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: window.loss_plots.point_count() > 0 and "/ 100,000" in label(window, "stepLabel"),
        timeout=WAIT_MS,
    )
    # A few checkpoints (every 5 steps), as the window lists them.
    qtbot.waitUntil(lambda: len(window.workspace.checkpoints) >= 2, timeout=WAIT_MS)
    window.stop_training()
    scrubber = window.findChild(QToolBar, "scrubToolbar")
    qtbot.waitUntil(lambda: scrubber.isVisible(), timeout=WAIT_MS)
    compare = window.findChild(QComboBox, "compareCombo")
    assert compare.count() >= 2  # the run's checkpoints, to choose B from
    explorer = window.latent_explorer
    qtbot.waitUntil(lambda: explorer.mosaic_picture is not None, timeout=WAIT_MS)
    assert explorer.opened.step == int(window.scrubber.steps[-1])  # the newest checkpoint
    assert "inspecting" in label(window, "stepLabel")
    window.explorer_dock.raise_()
    qtbot.wait(200)
    screenshot(window, "after_stop")
    assert error_dialogs(window) == []


def test_closing_soon_after_opening_a_run_is_always_safe(qtbot, digits_run):
    """Closing while the opened run still loads (the checkpoint, its views, the explorer's
    decoder, the network tables) stops and joins everything; nothing arrives afterwards.
    Once at each delay here; ten times each in the slow test below."""
    close_soon_after_opening(qtbot, digits_run, (0.0, 0.1, 0.5, 1.0))


@pytest.mark.slow
def test_closing_soon_after_opening_a_run_ten_times_each(qtbot, digits_run):
    close_soon_after_opening(qtbot, digits_run, (0.0, 0.1, 0.5, 1.0) * 10)


def close_soon_after_opening(qtbot, run_dir, delays):
    from PySide6.QtCore import QThreadPool

    from ganviz_gui.gui import MainWindow
    from ganviz_gui.gui.background import LatestOnly
    from tests.conftest import check_no_dangling_qthreads

    for delay in delays:
        window = MainWindow()
        qtbot.addWidget(window)
        window.show()
        window.open_path(str(run_dir))
        if delay:
            qtbot.wait(int(delay * 1000))
        window.close()
        # Every thread and pool the window started is done: the shared pool, the window's own
        # job pools, and every QThread (the decoders, a training thread) started meanwhile.
        assert QThreadPool.globalInstance().activeThreadCount() == 0
        for jobs in window.findChildren(LatestOnly):
            assert jobs.pool.activeThreadCount() == 0
        check_no_dangling_qthreads()
        # Results still queued for the closed window are delivered, and dropped.
        changes = []
        window.workspace.generator_changed.connect(changes.append)
        window.workspace.run_changed.connect(changes.append)
        qtbot.wait(100)
        assert changes == [] and window.latent_explorer.decoder is None


def test_scrubbing_a_run_whose_checkpoints_rotate_offers_new_ones_without_errors(
    qtbot, window, digits_run, tmp_path
):
    run = tmp_path / "growing"
    shutil.copytree(digits_run, run)
    window.open_path(str(run))
    slider = window.scrubber.slider
    qtbot.waitUntil(lambda: window.scrubber.isVisible(), timeout=WAIT_MS)
    assert window.scrubber.steps == [10, 20, 30]
    slider.setValue(0)  # step 10: the oldest, about to rotate away
    checkpoints = run / "checkpoints"
    shutil.copy(checkpoints / "step_00000030.pt", checkpoints / "step_00000040.pt")
    (checkpoints / "step_00000010.pt").unlink()
    qtbot.waitUntil(lambda: window.scrubber.steps == [20, 30, 40], timeout=WAIT_MS)
    assert window.scrubber.steps[slider.value()] == 20  # the nearest one still there
    slider.setValue(2)
    assert window.workspace.step == 40
    grid = window.sample_grid
    qtbot.waitUntil(lambda: getattr(grid.sheet, "step", None) == 30, timeout=WAIT_MS)  # 30's copy
    assert error_dialogs(window) == []


def test_scrubbing_a_run_that_is_still_training_raises_no_error(qtbot, window, tmp_path):
    """Another process trains with checkpoints every few steps, keeping two; the user drags
    the slider back and forth meanwhile."""
    from ganviz_gui.core.training_session import TrainingSession
    from tests.core.helpers import tiny_image_config

    config = tiny_image_config(steps=100_000, checkpoint_every=3, keep_checkpoints=2)
    session = TrainingSession.start(config, run_dir=tmp_path / "live")
    session.run(6)
    stop = threading.Event()

    def train() -> None:
        while not stop.is_set():
            session.step()

    writer = threading.Thread(target=train, name="other process")
    writer.start()
    try:
        window.open_path(str(tmp_path / "live"))
        qtbot.waitUntil(lambda: window.scrubber.isVisible(), timeout=WAIT_MS)
        slider = window.scrubber.slider
        ends = time.monotonic() + 3
        moves = 0
        while time.monotonic() < ends:
            slider.setValue(moves % (slider.maximum() + 1))
            moves += 1
            qtbot.wait(60)
        assert error_dialogs(window) == []
        assert moves > 10
        assert window.scrubber.steps[-1] > 6  # it offered the checkpoints that appeared
    finally:
        stop.set()
        writer.join()
        session.close()


def test_compare_forgets_the_previous_runs_checkpoint_b(qtbot, window, digits_run, tmp_path):
    """Two runs with checkpoints at the same steps: B is loaded from the run shown."""
    from ganviz_gui.core.training_session import TrainingSession
    from tests.core.helpers import tiny_image_config

    config = tiny_image_config(steps=30, checkpoint_every=10, seed=5)
    other = TrainingSession.start(config, run_dir=tmp_path / "other")
    other.run(config.steps)
    other.close()
    compare = window.compare
    window.open_path(str(digits_run))
    qtbot.waitUntil(lambda: compare.sheet_b is not None, timeout=WAIT_MS)
    first_b = compare.sheet_b
    window.open_path(str(tmp_path / "other"))
    qtbot.waitUntil(
        lambda: compare.sheet_b is not None and compare.sheet_b is not first_b, timeout=WAIT_MS
    )
    assert compare.sheet_b.step == 10
    assert not np.array_equal(compare.sheet_b.fake_grid, first_b.fake_grid)  # the other run's


def test_opening_a_run_reads_its_checkpoint_once(qtbot, window, digits_run, monkeypatch):
    from ganviz_gui.core import generator_files, inspection

    reads = []
    real = generator_files.open_generator_file

    def counted(path, *args, **kwargs):
        reads.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(inspection, "open_generator_file", counted)
    monkeypatch.setattr(generator_files, "open_generator_file", counted)
    window.open_path(str(digits_run))
    grid = window.sample_grid
    qtbot.waitUntil(lambda: getattr(grid.sheet, "step", None) == 30, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.compare.sheet_b is not None, timeout=WAIT_MS)
    qtbot.wait(1000)
    # The newest (opened, shown at once) and the oldest (Compare's B), one read each.
    assert sorted(reads) == ["step_00000010.pt", "step_00000030.pt"]


def test_continuing_a_run_shows_its_curves_so_far(qtbot, window, digits_run):
    from ganviz_gui.core.run_folder import read_jsonl

    recorded = read_jsonl(digits_run / "metrics.jsonl")
    assert window.resume_run_folder(str(digits_run))
    qtbot.waitUntil(lambda: window.trainer.paused, timeout=WAIT_MS)  # it opens paused
    qtbot.waitUntil(lambda: len(window.workspace.records) == len(recorded), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(window.loss_plots.drawn_curve("loss_d")[0]) > 0, timeout=WAIT_MS)
    steps, _ = window.loss_plots.drawn_curve("loss_d", smoothed=False)
    assert list(steps) == [r["step"] for r in recorded if r.get("loss_d") is not None]
    assert "/ 30" in label(window, "stepLabel")  # where the continued run stands
    window.stop_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
