"""The setup panel: data, model, objective, optimiser and schedule of the next run.

Every field is checked by the engine's own validation (`TrainingConfig.validate`) as soon as it
is edited; a refused value is marked and the engine's message shown under the form, so what
the window accepts is exactly what the command line accepts. While a run trains, only the
settings the engine can change live stay editable: learning rates, D steps per G step, the
loss and the number of steps.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ganviz_gui.core.config import (
    DATASETS,
    IMAGE_DATASETS,
    LOSSES,
    MODELS,
    OPTIMIZERS,
    TrainingConfig,
    parse_setting,
    recommended_settings,
)
from ganviz_gui.core.errors import ConfigError
from ganviz_gui.core.presets import PRESETS, preset_named
from ganviz_gui.core.workspace import Workspace

if TYPE_CHECKING:
    from ganviz_gui.core.workspace import Progress, RunInfo

LIVE_FIELDS = ("lr_g", "lr_d", "d_steps", "loss", "steps")  # changeable while training
PATH_DATASETS = ("points", "folder", "array", "mnist", "fashion-mnist")
IMAGE_SIZES = (0, 8, 16, 28, 32, 64)
ERROR_STYLE = "border: 1px solid #d04040;"


class SetupPanel(QWidget):
    config_changed = Signal()  # a field changed and the whole config is valid again
    live_setting_changed = Signal(str, object)  # (field, value) while a run is training
    preview_wanted = Signal(object)  # TrainingConfig whose data should be previewed

    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("setupPanel")
        self.workspace = workspace or Workspace()
        self._running = False
        self._loading = False  # filling the fields from a config: no per-field checks
        self._extra: dict[str, Any] = {}  # settings with no field here (kept from presets)
        self._previewed: tuple | None = None  # the data of the last preview asked for

        self.preset_combo = self._combo("presetCombo", [p.name for p in PRESETS])
        self.preset_note = QLabel(objectName="presetNote", wordWrap=True)
        self.preset_note.setStyleSheet("color: gray;")
        self.dataset_combo = self._combo("datasetCombo", DATASETS)
        self.data_path_edit = QLineEdit(objectName="dataPathEdit")
        self.data_path_edit.setPlaceholderText("file or folder")
        self.browse_button = QPushButton("Browse...", objectName="browseButton")
        self.download_check = QCheckBox("Download if missing", objectName="downloadCheck")
        self.preview_label = QLabel(objectName="dataPreview", alignment=Qt.AlignCenter)
        self.preview_label.setMinimumHeight(140)
        self.preview_label.setFrameShape(QLabel.StyledPanel)
        self.model_combo = self._combo("modelCombo", MODELS)
        self.loss_combo = self._combo("lossCombo", LOSSES)
        self.optimizer_combo = self._combo("optimizerCombo", OPTIMIZERS)
        self.lr_g_edit = QLineEdit(objectName="lrGEdit")
        self.lr_d_edit = QLineEdit(objectName="lrDEdit")
        self.batch_spin = self._spin("batchSpin", 1, 65_536)
        self.d_steps_spin = self._spin("dStepsSpin", 1, 100)
        self.latent_spin = self._spin("latentSpin", 1, 4096)
        self.image_size_combo = self._combo(
            "imageSizeCombo", [str(s) if s else "data's own" for s in IMAGE_SIZES]
        )
        self.device_combo = QComboBox(objectName="deviceCombo")
        self.device_combo.addItem("auto (best available)", "auto")
        self.seed_spin = self._spin("seedSpin", 0, 2**31 - 1)
        self.steps_spin = self._spin("stepsSpin", 1, 100_000_000)
        self.steps_spin.setSingleStep(1000)
        self.error_label = QLabel(objectName="settingsError", wordWrap=True)
        self.error_label.setStyleSheet("color: #d04040;")
        self.error_label.hide()

        path_row = QHBoxLayout()
        path_row.setContentsMargins(0, 0, 0, 0)
        path_row.addWidget(self.data_path_edit, 1)
        path_row.addWidget(self.browse_button)
        self._path_row = QWidget()
        self._path_row.setLayout(path_row)

        form = QFormLayout()
        form.addRow("Preset", self.preset_combo)
        form.addRow("", self.preset_note)
        form.addRow("Data", self.dataset_combo)
        form.addRow("Data path", self._path_row)
        form.addRow("", self.download_check)
        form.addRow(self.preview_label)
        form.addRow("Model", self.model_combo)
        form.addRow("Loss", self.loss_combo)
        form.addRow("Optimizer", self.optimizer_combo)
        form.addRow("LR generator", self.lr_g_edit)
        form.addRow("LR discriminator", self.lr_d_edit)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("D steps per G step", self.d_steps_spin)
        form.addRow("Latent size", self.latent_spin)
        form.addRow("Image size (px)", self.image_size_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Steps", self.steps_spin)
        self._form = form

        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addLayout(form)
        inner_layout.addWidget(self.error_label)
        inner_layout.addStretch(1)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        self._fields: dict[str, QWidget] = {
            "dataset": self.dataset_combo,
            "data_path": self.data_path_edit,
            "download": self.download_check,
            "model": self.model_combo,
            "loss": self.loss_combo,
            "optimizer_g": self.optimizer_combo,
            "optimizer_d": self.optimizer_combo,
            "lr_g": self.lr_g_edit,
            "lr_d": self.lr_d_edit,
            "batch_size": self.batch_spin,
            "d_steps": self.d_steps_spin,
            "latent_dim": self.latent_spin,
            "image_size": self.image_size_combo,
            "device": self.device_combo,
            "seed": self.seed_spin,
            "steps": self.steps_spin,
        }
        self.preset_combo.activated.connect(self._on_preset_chosen)
        self.dataset_combo.activated.connect(self._on_dataset_chosen)
        self.browse_button.clicked.connect(self._browse_data)
        for name, widget in self._fields.items():
            self._connect_edit(name, widget)
        self.apply_preset(PRESETS[0].name)
        workspace = self.workspace
        workspace.devices_changed.connect(self.set_devices)
        workspace.preview_changed.connect(lambda shown: self.show_preview(*shown))
        workspace.run_changed.connect(self._on_run_changed)
        workspace.progress_changed.connect(self._on_progress_changed)
        workspace.setting_refused.connect(self.show_error)

    # ------------------------------------------------------------------ persistence
    def restore(self, settings: QSettings) -> str:
        """The last session's settings and preset; the first preset if there are none. Returns
        why saved settings were ignored ("" if they were used or there were none)."""
        saved = settings.value("setup/config")
        if isinstance(saved, str) and saved:
            try:
                config = TrainingConfig.from_dict(json.loads(saved), source="saved settings")
            except (ConfigError, ValueError, TypeError) as exc:
                self.apply_preset(self.preset_combo.currentText())
                return str(exc)
            self.set_config(config)
            preset = settings.value("setup/preset")
            if isinstance(preset, str):
                self.preset_combo.setCurrentText(preset)
            return ""
        self.apply_preset(self.preset_combo.currentText())
        return ""

    def save(self, settings: QSettings) -> None:
        try:
            settings.setValue("setup/config", self.config().to_json())
            settings.setValue("setup/preset", self.preset_combo.currentText())
        except ConfigError:
            pass  # an invalid form is not worth keeping; the last good one stays

    # ------------------------------------------------------------------ the workspace
    def _on_run_changed(self, run: RunInfo | None) -> None:
        """A run started here shows its settings (a resumed run's, or the engine's defaults)."""
        if run is not None and run.source == "trainer" and run.config is not None:
            self.set_config(run.config)

    def _on_progress_changed(self, progress: Progress | None) -> None:
        running = progress is not None and progress.state != "ended"
        if running != self._running:
            self.set_running(running)

    # ------------------------------------------------------------------ building
    @staticmethod
    def _combo(name: str, items) -> QComboBox:
        combo = QComboBox(objectName=name)
        combo.addItems(list(items))
        return combo

    @staticmethod
    def _spin(name: str, low: int, high: int) -> QSpinBox:
        spin = QSpinBox(objectName=name)
        spin.setRange(low, high)
        spin.setKeyboardTracking(False)  # one check when typing ends, not per keystroke
        return spin

    def _connect_edit(self, name: str, widget: QWidget) -> None:
        if isinstance(widget, QLineEdit):
            widget.editingFinished.connect(lambda: self._on_field_edited(name))
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(lambda _: self._on_field_edited(name))
        elif isinstance(widget, QSpinBox):
            widget.valueChanged.connect(lambda _: self._on_field_edited(name))
        elif isinstance(widget, QCheckBox):
            widget.toggled.connect(lambda _: self._on_field_edited(name))

    # ------------------------------------------------------------------ config <-> fields
    def config(self) -> TrainingConfig:
        """The settings shown, validated by the engine; raises ConfigError naming the field."""
        settings = dict(self._extra)
        settings.update(self._field_values())
        merged = {**TrainingConfig().to_dict(), **settings}
        try:
            return TrainingConfig(**merged).validate()
        except TypeError as exc:  # cannot happen with our own fields; keep the message
            raise ConfigError(str(exc)) from None

    def _field_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "dataset": self.dataset_combo.currentText(),
            "data_path": self.data_path_edit.text().strip(),
            "download": self.download_check.isChecked(),
            "model": self.model_combo.currentText(),
            "loss": self.loss_combo.currentText(),
            "optimizer_g": self.optimizer_combo.currentText(),
            "optimizer_d": self.optimizer_combo.currentText(),
            "lr_g": parse_setting("lr_g", self.lr_g_edit.text().strip()),
            "lr_d": parse_setting("lr_d", self.lr_d_edit.text().strip()),
            "batch_size": self.batch_spin.value(),
            "d_steps": self.d_steps_spin.value(),
            "latent_dim": self.latent_spin.value(),
            "image_size": IMAGE_SIZES[self.image_size_combo.currentIndex()],
            "device": self.device_combo.currentData() or "auto",
            "seed": self.seed_spin.value(),
            "steps": self.steps_spin.value(),
        }
        return values

    def set_config(self, config: TrainingConfig) -> None:
        """Show `config`; settings without a field here are kept and used as they are."""
        self._loading = True
        try:
            self._extra = {k: v for k, v in config.to_dict().items() if k not in self._fields}
            self.dataset_combo.setCurrentText(config.dataset)
            self.data_path_edit.setText(config.data_path)
            self.download_check.setChecked(config.download)
            self.model_combo.setCurrentText(config.model)
            self.loss_combo.setCurrentText(config.loss)
            self.optimizer_combo.setCurrentText(config.optimizer_g)
            self.lr_g_edit.setText(f"{config.lr_g:g}")
            self.lr_d_edit.setText(f"{config.lr_d:g}")
            self.batch_spin.setValue(config.batch_size)
            self.d_steps_spin.setValue(config.d_steps)
            self.latent_spin.setValue(config.latent_dim)
            size = config.image_size if config.image_size in IMAGE_SIZES else 0
            self.image_size_combo.setCurrentIndex(IMAGE_SIZES.index(size))
            self._select_device(config.device)
            self.seed_spin.setValue(min(config.seed, self.seed_spin.maximum()))
            self.steps_spin.setValue(config.steps)
        finally:
            self._loading = False
        self._update_visibility()
        self._check()
        self._want_preview(config)

    def apply_preset(self, name: str) -> None:
        preset = preset_named(name)
        self.preset_combo.setCurrentText(name)
        self.preset_note.setText(preset.note)
        settings = dict(preset.settings)
        config = TrainingConfig(
            **{**recommended_settings(settings["dataset"], settings["model"]), **settings}
        )
        config.device = self.device_combo.currentData() or "auto"
        self.set_config(config)

    # ------------------------------------------------------------------ devices
    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """(name, description) of the devices that exist; called once the engine has loaded."""
        current = self.device_combo.currentData() or "auto"
        self._loading = True
        try:
            self.device_combo.clear()
            self.device_combo.addItem("auto (best available)", "auto")
            for name, description in devices:
                self.device_combo.addItem(description, name)
        finally:
            self._loading = False
        self._select_device(current)

    def _select_device(self, name: str) -> None:
        index = self.device_combo.findData(name)
        if index < 0:  # a device from saved settings this machine lacks: show it, refuse later
            self.device_combo.addItem(f"{name} (not found here)", name)
            index = self.device_combo.count() - 1
        self.device_combo.setCurrentIndex(index)

    # ------------------------------------------------------------------ running state
    def set_running(self, running: bool) -> None:
        """While training only the live settings stay editable."""
        self._running = running
        self.preset_combo.setEnabled(not running)
        self.browse_button.setEnabled(not running)
        live_widgets = {self._fields[name] for name in LIVE_FIELDS}
        for widget in set(self._fields.values()):
            widget.setEnabled(not running or widget in live_widgets)

    # ------------------------------------------------------------------ checks
    def _on_field_edited(self, name: str) -> None:
        if self._loading:
            return
        if name in ("dataset", "model", "image_size"):
            self._update_visibility()
        config = self._check(name)
        if config is None:
            return
        if self._running and name in LIVE_FIELDS:
            self.live_setting_changed.emit(name, getattr(config, name))
        self.config_changed.emit()
        self._want_preview(config)

    def refresh_preview(self) -> None:
        """Ask again for a preview of the data shown (once someone listens for it)."""
        self._previewed = None
        # An invalid form has no data to preview; its error is shown under the form.
        with contextlib.suppress(ConfigError):
            self._want_preview(self.config())

    def _want_preview(self, config: TrainingConfig) -> None:
        """Ask for a preview when the data shown would differ (loading MNIST is not free)."""
        key = (config.dataset, config.data_path, config.image_size, config.color)
        if key != self._previewed:
            self._previewed = key
            self.preview_wanted.emit(config)

    def _check(self, edited: str | None = None) -> TrainingConfig | None:
        """Validate all fields; mark the field the engine names and show its message."""
        for widget in self._fields.values():
            widget.setStyleSheet("")
        try:
            config = self.config()
        except ConfigError as exc:
            message = str(exc)
            field_name = message.partition(":")[0].strip()
            widget = self._fields.get(field_name) or self._fields.get(edited or "")
            if widget is not None:
                widget.setStyleSheet(ERROR_STYLE)
            self.show_error(message)
            return None
        self.show_error("")
        return config

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    def _update_visibility(self) -> None:
        dataset = self.dataset_combo.currentText()
        needs_path = dataset in PATH_DATASETS
        self._form.setRowVisible(self._path_row, needs_path)
        self._form.setRowVisible(self.download_check, dataset in ("mnist", "fashion-mnist"))
        self._form.setRowVisible(self.image_size_combo, dataset in IMAGE_DATASETS)

    def _on_preset_chosen(self, _index: int) -> None:
        name = self.preset_combo.currentText()
        self.apply_preset(name)
        if preset_named(name).needs_folder:
            self._browse_data(folder=True)

    def _on_dataset_chosen(self, _index: int) -> None:
        """A new data set brings its recommended rates and batch size, as the CLI does."""
        dataset = self.dataset_combo.currentText()
        model = self.model_combo.currentText()
        if dataset not in IMAGE_DATASETS and model == "dcgan":
            model = "mlp"
        elif dataset in IMAGE_DATASETS and self.model_combo.currentText() == "mlp":
            model = "dcgan"
        try:
            current = self.config()
        except ConfigError:
            current = TrainingConfig()
        settings = {**current.to_dict(), **recommended_settings(dataset, model)}
        settings.update(dataset=dataset, model=model)
        if dataset not in IMAGE_DATASETS:
            settings["image_size"] = 0
        elif model == "dcgan" and settings["image_size"] == 0 and dataset != "digits":
            settings["image_size"] = 28 if dataset in ("mnist", "fashion-mnist") else 32
        self.set_config(TrainingConfig(**settings))

    def _browse_data(self, folder: bool | None = None) -> None:
        dataset = self.dataset_combo.currentText()
        if folder or dataset in ("folder", "mnist", "fashion-mnist"):
            path = QFileDialog.getExistingDirectory(self, "Choose a folder of images")
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Choose a data file", "", "Data (*.npy *.npz *.csv *.txt);;All files (*)"
            )
        if path:
            self.data_path_edit.setText(path)
            self._on_field_edited("data_path")

    # ------------------------------------------------------------------ preview
    def show_preview(self, picture: np.ndarray | None, message: str = "") -> None:
        """A uint8 (H, W, 3) picture of real samples, or a message when there is none."""
        if picture is None:
            self.preview_label.setPixmap(QPixmap())
            self.preview_label.setText(message)
            return
        picture = np.ascontiguousarray(picture)
        h, w, _ = picture.shape
        image = QImage(picture.data, w, h, 3 * w, QImage.Format_RGB888).copy()
        side = max(1, min(self.preview_label.width(), 220))
        pixmap = QPixmap.fromImage(image).scaled(
            side,
            140,
            Qt.KeepAspectRatio,
            Qt.FastTransformation,  # nearest: no blur
        )
        self.preview_label.setText("")
        self.preview_label.setPixmap(pixmap)
        self.preview_label.setToolTip(message)
