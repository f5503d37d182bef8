"""The setup panel: its Advanced group, the preset it names, the sizes of data sets, its fit in
the window's dock and its data preview in both themes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from ganviz_gui.core.presets import preset_named
from ganviz_gui.core.sample_images import scatter_plot
from ganviz_gui.gui.setup_panel import SetupPanel
from ganviz_gui.gui.theme import dark_palette
from tests.gui.conftest import WAIT_MS


@pytest.fixture
def panel(qtbot):
    shown = SetupPanel()
    qtbot.addWidget(shown)
    shown.resize(320, 800)
    shown.show()
    return shown


def type_into(edit: QLineEdit, text: str) -> None:
    edit.setText(text)
    edit.editingFinished.emit()


def choose(combo, text: str) -> None:
    """Pick an item as a user does (activated is what the panel listens to)."""
    combo.setCurrentText(text)
    combo.activated.emit(combo.currentIndex())


# ---------------------------------------------------------------------- the Advanced group
def test_the_advanced_group_is_folded_until_opened(qtbot, panel):
    assert panel.advanced_box.isHidden()
    qtbot.mouseClick(panel.advanced_button, Qt.LeftButton)
    assert panel.advanced_box.isVisible() and panel.advanced_button.isChecked()
    assert panel.findChild(QLineEdit, "r1WeightEdit").isVisible()


def test_each_advanced_field_changes_the_config(panel):
    edits = panel._float_edits
    for name, text, expected in (
        ("r1_weight", "2.5", 2.5),
        ("ema_decay", "0", 0.0),
        ("beta1_g", "0.0", 0.0),
        ("beta2_g", "0.99", 0.99),
        ("beta1_d", "0.9", 0.9),
        ("beta2_d", "0.9", 0.9),
    ):
        before = getattr(panel.config(), name)
        type_into(edits[name], text)
        assert getattr(panel.config(), name) == expected != before, name
    panel.spectral_norm_check.setChecked(True)
    assert panel.config().spectral_norm is True
    panel.checkpoint_every_spin.setValue(300)
    panel.sample_every_spin.setValue(30)
    config = panel.config()
    assert (config.checkpoint_every, config.sample_every) == (300, 30)
    assert (config.checkpoint_interval(), config.sample_interval()) == (300, 30)
    assert panel.error_text() == ""


def test_a_value_the_engine_refuses_is_marked_with_its_message(panel):
    assert panel.advanced_box.isHidden()
    type_into(panel._float_edits["beta1_g"], "1.5")
    assert panel.error_text().startswith("beta1_g:") and "outside the allowed range" in (
        panel.error_text()
    )
    assert "d04040" in panel._float_edits["beta1_g"].styleSheet()
    assert panel.advanced_box.isVisible()  # opened: the refused field can be seen and fixed
    type_into(panel._float_edits["beta1_g"], "0.5")
    assert panel.error_text() == "" and panel._float_edits["beta1_g"].styleSheet() == ""
    type_into(panel._float_edits["r1_weight"], "-1")
    assert panel.error_text().startswith("r1_weight:")


def test_auto_intervals_say_what_they_come_to_for_the_steps(panel):
    panel.steps_spin.setValue(1000)
    assert panel.checkpoint_every_spin.text() == "auto (100)"
    assert panel.sample_every_spin.text() == "auto (25)"
    assert (panel.config().checkpoint_every, panel.config().sample_every) == (0, 0)
    panel.steps_spin.setValue(20_000)
    assert panel.checkpoint_every_spin.text() == "auto (2,000)"


def test_presets_set_the_advanced_fields(panel):
    panel.apply_preset("8 Gaussians")
    assert panel._float_edits["r1_weight"].text() == "0.1"  # the 2D data's recommended R1
    type_into(panel._float_edits["ema_decay"], "0.9")
    panel.spectral_norm_check.setChecked(True)
    panel.checkpoint_every_spin.setValue(7)
    panel.apply_preset("Digits - DCGAN")
    config = panel.config()
    assert (config.r1_weight, config.ema_decay, config.spectral_norm) == (0.0, 0.999, False)
    assert config.checkpoint_every == 0 and panel.checkpoint_every_spin.text() == "auto (500)"


# ---------------------------------------------------------------------- the preset named
def test_the_preset_combo_stops_naming_a_preset_whose_settings_changed(panel):
    ring = preset_named("8 Gaussians")
    panel.apply_preset(ring.name)
    assert panel.preset_combo.currentText() == ring.name
    assert panel.preset_note.text() == ring.note
    choose(panel.dataset_combo, "spiral")
    assert panel.preset_combo.currentText() == "Custom"
    assert ring.note not in panel.preset_note.text()
    choose(panel.dataset_combo, "ring8")  # back to the preset's data and settings
    assert panel.preset_combo.currentText() == ring.name
    panel.steps_spin.setValue(1234)
    assert panel.preset_combo.currentText() == "8 Gaussians (changed)"
    assert "Steps" in panel.preset_note.text() and ring.note not in panel.preset_note.text()
    choose(panel.preset_combo, ring.name)  # choosing the preset again resets it
    assert panel.config().steps == ring.settings["steps"]
    assert panel.preset_combo.currentText() == ring.name
    assert panel.preset_combo.count() == len(panel._preset_names())  # no "changed" item left


def test_the_changed_preset_is_remembered_across_sessions(qtbot, panel, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    panel.apply_preset("Digits - DCGAN")
    panel.seed_spin.setValue(9)
    panel.save(settings)
    again = SetupPanel()
    qtbot.addWidget(again)
    assert again.restore(settings) == ""
    assert again.config().seed == 9
    assert again.preset_combo.currentText() == "Digits - DCGAN (changed)"
    choose(again.preset_combo, "Digits - DCGAN (changed)")  # the settings shown: kept
    assert again.config().seed == 9


def test_choosing_a_data_set_gives_it_its_own_image_size(panel, tmp_path):
    panel.apply_preset("My images...")
    type_into(panel.data_path_edit, str(tmp_path))
    assert panel.config().image_size == 32
    choose(panel.dataset_combo, "mnist")
    assert panel.config().image_size == 28  # not the folder's 32
    choose(panel.dataset_combo, "digits")
    assert panel.config().image_size == 8
    choose(panel.dataset_combo, "folder")
    assert panel.config().image_size == 32
    choose(panel.dataset_combo, "ring8")
    assert panel.config().image_size == 0


# ---------------------------------------------------------------------- the dock
def test_the_form_fits_its_dock_at_the_default_window_size(qtbot):
    from ganviz_gui.gui import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    qtbot.waitUntil(lambda: window.engine_ready, timeout=WAIT_MS)
    panel = window.setup_panel
    # What widened it: MNIST's long preview message, a GPU's long name, the Advanced group.
    panel.apply_preset("MNIST - DCGAN")
    window.workspace.set_devices(
        [("cuda:0", "cuda:0 - NVIDIA GeForce RTX 4090 Laptop GPU (16 GB)")]
    )
    preview = panel.preview_label
    qtbot.waitUntil(lambda: "loading" not in preview.text(), timeout=WAIT_MS)  # MNIST's answer
    window.workspace.set_preview(  # the engine's message, a long path in it
        None,
        "/home/someone/.cache/ganviz/datasets/mnist-idx-files: mnist training files not found;"
        " pass --data FOLDER with the IDX files, or --download",
    )
    panel.set_advanced_open(True)
    QApplication.processEvents()
    scroll = panel.scroll_area
    viewport = scroll.viewport()
    qtbot.waitUntil(lambda: scroll.widget().width() <= viewport.width())
    assert not scroll.horizontalScrollBar().isVisible()
    note = panel.preset_note
    right_edge = note.mapTo(viewport, note.rect().topRight()).x()
    assert right_edge <= viewport.width()  # the description is not cut off at the dock's edge
    assert note.heightForWidth(note.width()) <= note.height()  # every wrapped line shown
    for widget in (panel.device_combo, panel.preview_label, panel.sample_every_spin):
        assert widget.mapTo(viewport, widget.rect().topRight()).x() <= viewport.width()
    window.close()


# ---------------------------------------------------------------------- the preview
def _corner_lightness(panel: SetupPanel) -> int:
    return panel.preview_label.pixmap().toImage().pixelColor(0, 0).lightness()


def test_the_2d_preview_follows_the_theme(panel):
    panel.setPalette(QApplication.style().standardPalette())  # light, whatever ran before
    panel.apply_preset("8 Gaussians")
    points = np.random.default_rng(0).normal(size=(200, 2))
    panel.workspace.set_preview(scatter_plot(points, np.empty((0, 2)), size=64), "ring8")
    assert _corner_lightness(panel) == 255  # white, as the run folder's pictures
    panel.setPalette(dark_palette())
    assert _corner_lightness(panel) < 60  # the dark theme's base, not a white square
    picture = panel.preview_label.pixmap().toImage()
    colours = [
        picture.pixelColor(x, y) for x in range(picture.width()) for y in range(picture.height())
    ]
    grays = {c.lightness() for c in colours if c.saturation() == 0}
    assert max(grays) > min(grays) + 30  # grid lines stand out from the background
    assert any(c.saturation() > 100 for c in colours)  # the points keep their colour
    panel.setPalette(QApplication.style().standardPalette())
    assert _corner_lightness(panel) == 255


def test_the_diagnostics_advice_names_settings_the_form_shows():
    from ganviz_gui.core.diagnostics import ADVICE
    from ganviz_gui.gui.setup_panel import LABELS

    advice = " ".join(ADVICE.values()).lower()
    labels = " ".join(LABELS.values()).lower()
    for term in ("r1 penalty", "r1_weight", "spectral normalisation", "beta1", "steps per g"):
        assert term in advice and term in labels, term
