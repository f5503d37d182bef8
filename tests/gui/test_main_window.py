"""The live training window, driven headless the way a user drives it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit, QMenu, QPushButton

from ganviz_gui.core.presets import PRESETS
from ganviz_gui.core.run_folder import list_checkpoints, read_jsonl
from ganviz_gui.gui import MainWindow
from ganviz_gui.gui.app_settings import app_settings
from ganviz_gui.gui.training_worker import RefreshRates
from tests.gui.conftest import WAIT_MS


def button(win: MainWindow, name: str) -> QPushButton:
    found = win.findChild(QPushButton, name)
    assert found is not None, name
    return found


def choose_preset(qtbot, win: MainWindow, name: str, steps: int) -> None:
    panel = win.setup_panel
    panel.preset_combo.setCurrentText(name)
    panel.preset_combo.activated.emit(panel.preset_combo.currentIndex())
    panel.steps_spin.setValue(steps)
    assert panel.config().steps == steps


def set_text(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setText(text)
    edit.editingFinished.emit()


def events_of(run_dir: str) -> list[dict]:
    return read_jsonl(Path(run_dir) / "events.jsonl")


# ---------------------------------------------------------------------- start-up
def test_importing_the_window_does_not_import_torch():
    code = "import sys; import ganviz_gui.gui.main_window; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_control_named_in_the_issue_exists(qtbot, window):
    for name in (
        "startButton",
        "pauseButton",
        "stepButton",
        "stepDButton",
        "stepGButton",
        "stopButton",
        "saveButton",
        "lossPlot",
        "sampleGrid",
        "fieldView",
        "datasetCombo",
        "presetCombo",
        "deviceCombo",
        "lrGEdit",
        "smoothingSlider",
        "logScaleCheck",
        "followLatestCheck",
        "runFolderLabel",
    ):
        assert window.findChild(object, name) is not None, name
    devices = [window.setup_panel.device_combo.itemData(i) for i in range(5)]
    assert "cpu" in devices and "auto" in devices
    preview = window.setup_panel.preview_label
    qtbot.waitUntil(lambda: not preview.pixmap().isNull(), timeout=WAIT_MS)
    assert "ring8: 50,000 samples" in preview.toolTip()


def test_every_preset_that_needs_no_folder_is_valid(window):
    for preset in PRESETS:
        window.setup_panel.apply_preset(preset.name)
        if preset.needs_folder:
            assert "data_path" in window.setup_panel.error_text()
        else:
            assert window.setup_panel.error_text() == ""
            assert window.setup_panel.config().dataset == preset.settings["dataset"]


# ---------------------------------------------------------------------- bad settings
def test_a_bad_setting_is_refused_at_the_field_with_the_engines_message(qtbot, window):
    panel = window.setup_panel
    set_text(qtbot, panel.lr_g_edit, "5")
    assert "lr_g" in panel.error_text() and "outside the allowed range" in panel.error_text()
    assert "d04040" in panel.lr_g_edit.styleSheet()
    qtbot.mouseClick(button(window, "startButton"), Qt.LeftButton)
    assert window.trainer.training is None
    assert window.error_box is not None and "lr_g" in window.error_box.text()
    set_text(qtbot, panel.lr_g_edit, "abc")
    assert "expected a number" in panel.error_text()
    set_text(qtbot, panel.lr_g_edit, "0.001")
    assert panel.error_text() == "" and panel.lr_g_edit.styleSheet() == ""


def test_dcgan_on_2d_data_is_refused(qtbot, window):
    panel = window.setup_panel
    panel.apply_preset("8 Gaussians")
    panel.model_combo.setCurrentText("dcgan")
    assert "dcgan generates images" in panel.error_text()


# ---------------------------------------------------------------------- a whole session
def test_train_pause_change_rate_resume_stop_on_8_gaussians(qtbot, window):
    choose_preset(qtbot, window, "8 Gaussians", steps=100_000)
    qtbot.mouseClick(button(window, "startButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.trainer.started is not None, timeout=WAIT_MS)
    # Plots and the field view fill while it trains.
    qtbot.waitUntil(lambda: window.loss_plots.series["loss_d"].count >= 5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.field_view.snapshot is not None, timeout=WAIT_MS)
    snapshot = window.field_view.snapshot
    assert snapshot.heat.shape == (96, 96) and snapshot.mesh.shape == (17, 17, 2)
    assert (
        "step" in window.status.step_label.text()
        and window.status.device_label.text().startswith("CPU")
    )
    assert window.trainer.started.run_dir in window.status.run_folder_label.toolTip()

    qtbot.mouseClick(button(window, "pauseButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.trainer.last_update.state == "paused", timeout=WAIT_MS)
    assert button(window, "pauseButton").text() == "Resume"
    paused_at = window.trainer.last_update.step
    assert not window.setup_panel.batch_spin.isEnabled()  # fixed while a run exists
    assert window.setup_panel.lr_g_edit.isEnabled()  # live

    set_text(qtbot, window.setup_panel.lr_g_edit, "0.0005")
    qtbot.waitUntil(
        lambda: any(e.get("lr_g") == 0.0005 for e in window.loss_plots.events), timeout=WAIT_MS
    )
    assert window.trainer.last_update.step == paused_at  # still paused: the change did not step
    window.setup_panel.loss_combo.setCurrentText("hinge")
    window.setup_panel.d_steps_spin.setValue(2)
    qtbot.waitUntil(
        lambda: (
            {e.get("loss") for e in window.loss_plots.events} >= {"hinge"}
            and any(e.get("d_steps") == 2 for e in window.loss_plots.events)
        ),
        timeout=WAIT_MS,
    )

    qtbot.mouseClick(button(window, "pauseButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.trainer.last_update.step > paused_at + 20, timeout=WAIT_MS)
    records = window.loss_plots.series["lr_g"]
    assert records.values[records.count - 1] == pytest.approx(0.0005)
    assert not window.field_view.snapshot.heat_is_probability  # hinge: a critic's raw score

    run_dir = window.trainer.started.run_dir
    qtbot.mouseClick(button(window, "stopButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    assert window.trainer.last_end.reason == "stopped"
    kinds = [e["kind"] for e in events_of(run_dir)]
    assert kinds[0] == "started" and "settings_changed" in kinds and kinds[-1] == "closed"
    assert list_checkpoints(run_dir)[-1][0] == window.trainer.last_end.step
    assert button(window, "startButton").isEnabled()
    assert window.setup_panel.batch_spin.isEnabled()


def test_digits_sample_grid_fills_hover_shows_d_and_click_enlarges(qtbot, window):
    choose_preset(qtbot, window, "Digits - DCGAN", steps=60)
    qtbot.mouseClick(button(window, "startButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    grid = window.sample_grid
    assert grid.sheet is not None and grid.sheet.step == 60
    assert grid.sheet.fake_grid.dtype.name == "uint8" and grid.sheet.fake_grid.shape == (73, 73, 3)
    assert (
        "only" not in window.field_view.frame.message.text()
        and "2D" in window.field_view.frame.message.text()
    )

    from PySide6.QtCore import QPointF

    assert grid.sample_at(QPointF(1.5, 1.5)) == ("fake", 0)
    assert grid.sample_at(QPointF(9.5 * 2, 1.5)) == ("fake", 2)
    assert "D(G(z)) = " in grid.describe("fake", 2)
    dialog = grid.open_sample("fake", 2)
    assert dialog.picture.pixmap().width() == 8 * 24  # nearest-neighbour, whole pixels
    dialog.close()

    grid.real_check.setChecked(True)
    width = grid.sheet.fake_grid.shape[1]
    assert grid.sample_at(QPointF(width + 4 + 1.5, 1.5)) == ("real", 0)
    assert "D(x) = " in grid.describe("real", 0)
    grid.zoom_combo.setCurrentText("4:1")
    view_range = grid.view.viewRange()
    assert view_range[0][1] - view_range[0][0] == pytest.approx(grid.view.width() / 4, rel=0.05)


def test_step_buttons_start_a_paused_run_and_step_once_each(qtbot, window):
    choose_preset(qtbot, window, "8 Gaussians", steps=1000)
    qtbot.mouseClick(button(window, "stepButton"), Qt.LeftButton)
    qtbot.waitUntil(
        lambda: window.trainer.last_update is not None and window.trainer.last_update.step == 1,
        timeout=WAIT_MS,
    )
    assert window.trainer.last_update.state == "paused"
    qtbot.mouseClick(button(window, "stepDButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.trainer.last_update.step == 2, timeout=WAIT_MS)
    qtbot.mouseClick(button(window, "stepGButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: window.trainer.last_update.step == 3, timeout=WAIT_MS)
    qtbot.mouseClick(button(window, "saveButton"), Qt.LeftButton)
    run_dir = window.trainer.started.run_dir
    qtbot.waitUntil(lambda: any(s == 3 for s, _ in list_checkpoints(run_dir)), timeout=WAIT_MS)


# ---------------------------------------------------------------------- failures and closing
def test_closing_while_training_stops_the_thread_and_autosaves(qtbot):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    choose_preset(qtbot, win, "8 Gaussians", steps=1_000_000)
    win.start_training()
    qtbot.waitUntil(
        lambda: win.trainer.last_update is not None and win.trainer.last_update.step > 5,
        timeout=WAIT_MS,
    )
    run_dir = win.trainer.started.run_dir
    thread = win.trainer.training.qthread
    started = time.perf_counter()
    win.close()
    took = time.perf_counter() - started
    assert not thread.isRunning()
    assert took < 10, f"closing took {took:.1f} s"  # measured well under 2 s; CI is slow
    closed = events_of(run_dir)[-1]
    assert closed["kind"] == "closed" and closed["reason"] == "window closed"
    assert list_checkpoints(run_dir)[-1][0] == closed["step"]


def test_an_exception_inside_training_is_reported_and_the_window_survives(
    qtbot, window, monkeypatch
):
    from ganviz_gui.core.trainer import Trainer

    real_step = Trainer.step

    def failing_step(self, kind="both"):
        if self.step_count == 25:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, kind)

    monkeypatch.setattr(Trainer, "step", failing_step)
    choose_preset(qtbot, window, "8 Gaussians", steps=1000)
    window.start_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    end = window.trainer.last_end
    assert end.reason == "error" and end.step == 25
    assert "out of memory" in window.error_box.text() and "step 25" in window.error_box.text()
    run_dir = window.trainer.started.run_dir
    kinds = [e["kind"] for e in events_of(run_dir)]
    assert "error" in kinds and kinds[-1] == "closed"
    assert list_checkpoints(run_dir)[-1][0] == 25  # the run up to the failure is kept

    monkeypatch.setattr(Trainer, "step", real_step)
    window.setup_panel.steps_spin.setValue(20)
    assert window.start_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    assert window.trainer.last_end.reason == "finished" and window.trainer.last_end.step == 20


def test_unreadable_data_is_a_message_not_a_crash(qtbot, window, tmp_path):
    broken = tmp_path / "points.csv"
    broken.write_text("this is not, numbers\n")
    panel = window.setup_panel
    panel.dataset_combo.setCurrentText("points")
    panel.dataset_combo.activated.emit(panel.dataset_combo.currentIndex())
    set_text(qtbot, panel.data_path_edit, str(broken))
    assert window.start_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    assert window.trainer.last_end.reason == "error"
    assert str(broken) in window.error_box.text()
    assert button(window, "startButton").isEnabled()
    # The form is editable again, so the path can be fixed; nothing says "starting" any more.
    assert panel.data_path_edit.isEnabled() and panel.preset_combo.isEnabled()
    assert window.status.step_label.text() == ""


# ---------------------------------------------------------------------- persistence
def test_settings_layout_and_recent_runs_persist(qtbot, isolated_home):
    first = MainWindow(RefreshRates())
    qtbot.addWidget(first)
    first.show()
    choose_preset(qtbot, first, "Digits - DCGAN", steps=5)
    first.setup_panel.seed_spin.setValue(7)
    first.start_training()
    qtbot.waitUntil(lambda: first.trainer.training is None, timeout=WAIT_MS)
    run_dir = first.trainer.started.run_dir
    first.sample_dock.hide()
    first.close()
    assert (isolated_home / "settings.ini").is_file()

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    config = second.setup_panel.config()
    assert (config.dataset, config.seed, config.steps) == ("digits", 7, 5)
    assert second.recent_runs.items == [run_dir]
    assert not second.sample_dock.isVisible()
    second.findChild(object, "restoreLayoutAction").trigger()
    assert second.sample_dock.isVisible()
    # A recent run can be continued from its newest checkpoint; it opens paused.
    second.findChild(QMenu, "recentRunsMenu").actions()[0].trigger()
    qtbot.waitUntil(lambda: second.trainer.last_update is not None, timeout=WAIT_MS)
    assert second.trainer.last_update.step == 5 and second.trainer.last_update.state == "paused"
    assert second.trainer.started.run_dir == run_dir
    second.close()
    assert (
        json.loads((Path(run_dir) / "events.jsonl").read_text().splitlines()[-2])["kind"]
        == "resumed"
    )


def test_corrupt_saved_settings_are_ignored_with_a_message(qtbot, isolated_home):
    (isolated_home / "settings.ini").write_text('[setup]\nconfig="{\\"dataset\\": \\"nope\\"}"\n')
    win = MainWindow()
    qtbot.addWidget(win)
    assert win.setup_panel.config().dataset == "ring8"  # the first preset


def test_the_live_pictures_share_is_set_from_the_view_menu_live_and_remembered(
    qtbot, isolated_home
):
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    assert first.findChild(QAction, "pictureBudget2Action").isChecked()  # the default, 2%
    choose_preset(qtbot, first, "8 Gaussians", steps=100_000)
    first.start_training()
    qtbot.waitUntil(lambda: first.trainer.last_update is not None, timeout=WAIT_MS)
    loop = first.trainer.training.worker.loop
    assert loop.budget.share == 0.02
    first.findChild(QAction, "pictureBudget10Action").trigger()  # while the run trains
    assert loop.budget.share == 0.10 and first.trainer.picture_budget == 0.10
    assert not first.findChild(QAction, "pictureBudget2Action").isChecked()
    first.close()

    second = MainWindow()
    qtbot.addWidget(second)
    assert second.findChild(QAction, "pictureBudget10Action").isChecked()
    assert second.trainer.picture_budget == 0.10  # the next run starts with it
    second.close()
    # A share the menu does not offer, or no number (an edited file): the default. Written
    # through QSettings, whose cache may miss a same-size edit made on disk in the same second.
    for edited in (0.5, "lots"):
        settings = app_settings()
        settings.setValue("view/picture_budget", edited)
        settings.sync()
        third = MainWindow()
        qtbot.addWidget(third)
        assert third.trainer.picture_budget == 0.02
        assert third.findChild(QAction, "pictureBudget2Action").isChecked()
        third.close()


def test_my_images_preset_asks_for_a_folder_and_trains_on_it(qtbot, window, tmp_path, monkeypatch):
    from PIL import Image

    from ganviz_gui.gui import setup_panel

    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = __import__("numpy").random.default_rng(0)
    for i in range(12):
        pixels = rng.integers(0, 255, size=(40, 48, 3), dtype="uint8")
        Image.fromarray(pixels).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    monkeypatch.setattr(
        setup_panel.QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder)
    )
    panel = window.setup_panel
    panel.preset_combo.setCurrentText("My images...")
    panel.preset_combo.activated.emit(panel.preset_combo.currentIndex())
    config = panel.config()
    assert (config.dataset, config.data_path, config.image_size) == ("folder", str(folder), 32)
    panel.steps_spin.setValue(3)
    panel.batch_spin.setValue(4)
    assert window.start_training()
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    assert window.trainer.last_end.reason == "finished"
    assert window.trainer.started.skipped_files[0][0].endswith("broken.png")
    assert window.sample_grid.sheet.tile == (32, 32)


def test_ganviz_without_a_command_opens_the_window(monkeypatch):
    from ganviz_gui import cli
    from ganviz_gui.gui import app

    opened = []
    monkeypatch.setattr(app, "run_app", lambda **kwargs: opened.append(kwargs) or 0)
    assert cli.main([]) == 0
    assert cli.main(["open", __file__, "--trust"]) == 0
    assert cli.main(["open", __file__, "--follow"]) == 0
    assert opened == [
        {"open_path": None, "trust": False, "follow": False},
        {"open_path": __file__, "trust": True, "follow": False},
        {"open_path": __file__, "trust": False, "follow": True},
    ]
    assert cli.main(["open", "/no/such/run"]) == 2


def test_every_control_a_user_sees_has_an_object_name(window):
    from PySide6.QtWidgets import (
        QAbstractSpinBox,
        QCheckBox,
        QComboBox,
        QDockWidget,
        QLabel,
        QSlider,
    )

    kinds = (QPushButton, QCheckBox, QComboBox, QAbstractSpinBox, QSlider, QLineEdit, QDockWidget)
    unnamed = []
    for widget in window.findChildren(object):
        if not isinstance(widget, kinds) or widget.objectName():
            continue
        if isinstance(widget, QLineEdit) and isinstance(
            widget.parent(), (QAbstractSpinBox, QComboBox)
        ):
            continue  # the text field inside a spin box or combo box
        unnamed.append(type(widget).__name__)
    assert unnamed == []
    named_labels = {w.objectName() for w in window.findChildren(QLabel) if w.objectName()}
    assert {"stepLabel", "rateLabel", "etaLabel", "deviceLabel", "settingsError"} <= named_labels
