"""The setup panel: data, model, objective, optimiser and schedule of the next run.

The preset combo names the preset the settings came from while they still are that preset's;
once edited it says "<preset> (changed)", or "Custom" when the data or the model changed. The
Advanced group (collapsed at first) holds the regularisers, Adam's betas and the intervals.

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
from PySide6.QtCore import QEvent, QSettings, Qt, Signal
from PySide6.QtGui import QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ganviz_gui.core.config import (
    DATASETS,
    IMAGE_DATASETS,
    LOSSES,
    MODELS,
    OPTIMIZERS,
    POINT_DATASETS,
    TrainingConfig,
    natural_image_size,
    parse_setting,
    recommended_settings,
)
from ganviz_gui.core.errors import ConfigError
from ganviz_gui.core.presets import PRESETS, preset_named
from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.theme import secondary_text

if TYPE_CHECKING:
    from ganviz_gui.core.workspace import Progress, RunInfo

LIVE_FIELDS = ("lr_g", "lr_d", "d_steps", "loss", "steps")  # changeable while training
PATH_DATASETS = ("points", "folder", "array", "mnist", "fashion-mnist")
IMAGE_SIZES = (0, 8, 16, 28, 32, 64)
ERROR_STYLE = "border: 1px solid #d04040;"
# What the form calls each setting. The Diagnostics tab's advice names "R1 penalty" and
# r1_weight, "spectral normalisation", "Adam's beta1": the labels use the same words.
LABELS = {
    "dataset": "Data",
    "data_path": "Data path",
    "download": "Download if missing",
    "model": "Model",
    "loss": "Loss",
    "optimizer_g": "Optimizer",
    "optimizer_d": "Optimizer",
    "lr_g": "LR generator",
    "lr_d": "LR discriminator",
    "batch_size": "Batch size",
    "d_steps": "D steps per G step",
    "latent_dim": "Latent size",
    "image_size": "Image size (px)",
    "device": "Device",
    "seed": "Seed",
    "steps": "Steps",
    "r1_weight": "R1 penalty (r1_weight)",
    "spectral_norm": "Spectral normalisation on D",
    "ema_decay": "EMA of G (0 = off)",
    "beta1_g": "Adam beta1, G",
    "beta2_g": "Adam beta2, G",
    "beta1_d": "Adam beta1, D",
    "beta2_d": "Adam beta2, D",
    "checkpoint_every": "Checkpoint every",
    "sample_every": "Samples every",
}
ADVANCED_FLOATS = ("r1_weight", "ema_decay", "beta1_g", "beta2_g", "beta1_d", "beta2_d")
ADVANCED_FIELDS = (*ADVANCED_FLOATS, "spectral_norm", "checkpoint_every", "sample_every")
COMBO_MIN_CHARACTERS = 10  # a combo asks for this much width, not its longest item's


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

        self._base_preset = PRESETS[0].name  # the preset the settings shown started from
        self._preview: tuple[np.ndarray | None, str] = (None, "")  # the last one shown
        self.preset_combo = QComboBox(objectName="presetCombo")
        for preset in PRESETS:
            self.preset_combo.addItem(preset.name, preset.name)
        self._fit_combo(self.preset_combo)
        self.preset_note = QLabel(objectName="presetNote", wordWrap=True)
        secondary_text(self.preset_note)  # grey in both themes, readable in each
        self.dataset_combo = self._combo("datasetCombo", DATASETS)
        self.data_path_edit = QLineEdit(objectName="dataPathEdit")
        self.data_path_edit.setPlaceholderText("file or folder")
        self.browse_button = QPushButton("Browse...", objectName="browseButton")
        self.download_check = QCheckBox("Download if missing", objectName="downloadCheck")
        # Word-wrapped: a long message ("mnist is not downloaded yet...") must not widen the form.
        self.preview_label = QLabel(objectName="dataPreview", alignment=Qt.AlignCenter)
        self.preview_label.setWordWrap(True)
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
        self.device_combo = self._fit_combo(QComboBox(objectName="deviceCombo"))
        self.device_combo.addItem("auto (best available)", "auto")
        self.seed_spin = self._spin("seedSpin", 0, 2**31 - 1)
        self.steps_spin = self._spin("stepsSpin", 1, 100_000_000)
        self.steps_spin.setSingleStep(1000)
        self.error_label = QLabel(objectName="settingsError", wordWrap=True)
        self.error_label.setStyleSheet("color: #d04040;")
        self.error_label.hide()
        # --- advanced
        self.advanced_button = QToolButton(objectName="advancedButton", text="Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setAutoRaise(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.RightArrow)
        self.advanced_box = QFrame(objectName="advancedBox")
        self.advanced_box.setVisible(False)  # collapsed until asked for
        self._float_edits = {"lr_g": self.lr_g_edit, "lr_d": self.lr_d_edit}
        for name in ADVANCED_FLOATS:
            self._float_edits[name] = QLineEdit(objectName=_object_name(name, "Edit"))
        self.spectral_norm_check = QCheckBox(
            LABELS["spectral_norm"], objectName="spectralNormCheck"
        )
        self.checkpoint_every_spin = self._spin("checkpointEverySpin", 0, 100_000_000)
        self.sample_every_spin = self._spin("sampleEverySpin", 0, 100_000_000)
        for spin, per_run in ((self.checkpoint_every_spin, 10), (self.sample_every_spin, 40)):
            spin.setToolTip(f"steps between them; auto (0): about {per_run} over the run's steps")
        tips = {
            "r1_weight": "gamma of the R1 gradient penalty on real data; 0 = off",
            "ema_decay": "decay of the moving average of G's weights that draws the samples",
            "beta1_g": "Adam's beta1 (SGD: momentum)",
            "beta1_d": "Adam's beta1 (SGD: momentum)",
        }
        for name, tip in tips.items():
            self._float_edits[name].setToolTip(tip)

        path_row = QHBoxLayout()
        path_row.setContentsMargins(0, 0, 0, 0)
        path_row.addWidget(self.data_path_edit, 1)
        path_row.addWidget(self.browse_button)
        self._path_row = QWidget()
        self._path_row.setLayout(path_row)

        form = self._new_form()
        form.addRow("Preset", self.preset_combo)
        form.addRow("", self.preset_note)
        form.addRow(LABELS["dataset"], self.dataset_combo)
        form.addRow(LABELS["data_path"], self._path_row)
        form.addRow("", self.download_check)
        form.addRow(self.preview_label)
        for name, widget in (
            ("model", self.model_combo),
            ("loss", self.loss_combo),
            ("optimizer_g", self.optimizer_combo),
            ("lr_g", self.lr_g_edit),
            ("lr_d", self.lr_d_edit),
            ("batch_size", self.batch_spin),
            ("d_steps", self.d_steps_spin),
            ("latent_dim", self.latent_spin),
            ("image_size", self.image_size_combo),
            ("device", self.device_combo),
            ("seed", self.seed_spin),
            ("steps", self.steps_spin),
        ):
            form.addRow(LABELS[name], widget)
        self._form = form

        advanced = self._new_form(self.advanced_box)
        advanced.setContentsMargins(12, 0, 0, 0)  # indented under its button
        advanced.addRow(LABELS["r1_weight"], self._float_edits["r1_weight"])
        advanced.addRow(self.spectral_norm_check)
        for name in ADVANCED_FLOATS[1:]:
            advanced.addRow(LABELS[name], self._float_edits[name])
        advanced.addRow(LABELS["checkpoint_every"], self.checkpoint_every_spin)
        advanced.addRow(LABELS["sample_every"], self.sample_every_spin)

        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addLayout(form)
        inner_layout.addWidget(self.advanced_button)
        inner_layout.addWidget(self.advanced_box)
        inner_layout.addWidget(self.error_label)
        inner_layout.addStretch(1)
        scroll = QScrollArea(widgetResizable=True, objectName="setupScroll")
        scroll.setWidget(inner)
        self.scroll_area = scroll
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
            **{name: self._float_edits[name] for name in ADVANCED_FLOATS},
            "spectral_norm": self.spectral_norm_check,
            "checkpoint_every": self.checkpoint_every_spin,
            "sample_every": self.sample_every_spin,
        }
        self.advanced_button.toggled.connect(self.set_advanced_open)
        self.steps_spin.valueChanged.connect(lambda _: self._update_auto_intervals())
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
                self.apply_preset(self._base_preset)
                return str(exc)
            preset = settings.value("setup/preset")
            if isinstance(preset, str) and preset in self._preset_names():
                self._base_preset = preset
            self.set_config(config)  # names the preset, or says how the settings differ
            return ""
        self.apply_preset(self._base_preset)
        return ""

    def save(self, settings: QSettings) -> None:
        try:
            settings.setValue("setup/config", self.config().to_json())
            settings.setValue("setup/preset", self._base_preset)
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
    @classmethod
    def _combo(cls, name: str, items) -> QComboBox:
        combo = QComboBox(objectName=name)
        combo.addItems(list(items))
        return cls._fit_combo(combo)

    @staticmethod
    def _fit_combo(combo: QComboBox) -> QComboBox:
        """Ask for a few characters' width, not the longest item's (a GPU's name, "fashion-mnist"):
        the dock stays narrow; the list that opens is as wide as its items."""
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_MIN_CHARACTERS)
        return combo

    @staticmethod
    def _new_form(parent: QWidget | None = None) -> QFormLayout:
        form = QFormLayout(parent)
        # Too narrow for a label beside its field (a long label, a large font): the field goes
        # under its label rather than past the dock's edge.
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        return form

    def _preset_names(self) -> list[str]:
        return [p.name for p in PRESETS]

    def set_advanced_open(self, shown: bool) -> None:
        """Show or fold the Advanced group."""
        self.advanced_button.setChecked(shown)
        self.advanced_button.setArrowType(Qt.DownArrow if shown else Qt.RightArrow)
        self.advanced_box.setVisible(shown)

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
            "batch_size": self.batch_spin.value(),
            "d_steps": self.d_steps_spin.value(),
            "latent_dim": self.latent_spin.value(),
            "image_size": IMAGE_SIZES[self.image_size_combo.currentIndex()],
            "device": self.device_combo.currentData() or "auto",
            "seed": self.seed_spin.value(),
            "steps": self.steps_spin.value(),
            "spectral_norm": self.spectral_norm_check.isChecked(),
            "checkpoint_every": self.checkpoint_every_spin.value(),
            "sample_every": self.sample_every_spin.value(),
        }
        for name, edit in self._float_edits.items():
            values[name] = parse_setting(name, edit.text().strip())
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
            for name, edit in self._float_edits.items():
                edit.setText(f"{getattr(config, name):g}")
            self.batch_spin.setValue(config.batch_size)
            self.d_steps_spin.setValue(config.d_steps)
            self.latent_spin.setValue(config.latent_dim)
            size = config.image_size if config.image_size in IMAGE_SIZES else 0
            self.image_size_combo.setCurrentIndex(IMAGE_SIZES.index(size))
            self._select_device(config.device)
            self.seed_spin.setValue(min(config.seed, self.seed_spin.maximum()))
            self.steps_spin.setValue(config.steps)
            self.spectral_norm_check.setChecked(config.spectral_norm)
            self.checkpoint_every_spin.setValue(config.checkpoint_every)
            self.sample_every_spin.setValue(config.sample_every)
        finally:
            self._loading = False
        self._update_auto_intervals()
        self._update_visibility()
        self._check()
        self._want_preview(config)

    def apply_preset(self, name: str) -> None:
        """Every setting from preset `name` (the others at their defaults, advanced ones too);
        the device stays the one chosen."""
        preset = preset_named(name)
        self._base_preset = name
        config = TrainingConfig(**preset.values())  # unvalidated: "My images..." needs a folder
        config.device = self.device_combo.currentData() or "auto"
        self.set_config(config)

    def _update_auto_intervals(self) -> None:
        """Auto (0) intervals say what they come to for the steps shown, e.g. "auto (100)"."""
        steps = self.steps_spin.value()
        resolved = TrainingConfig(steps=steps, checkpoint_every=0, sample_every=0)
        self.checkpoint_every_spin.setSpecialValueText(f"auto ({resolved.checkpoint_interval():,})")
        self.sample_every_spin.setSpecialValueText(f"auto ({resolved.sample_interval():,})")

    # ------------------------------------------------------------------ the preset named
    def _update_preset_state(self) -> None:
        """Name the preset while the settings are its own; else "<preset> (changed)", or
        "Custom" when the data or the model is another, with a note that says so."""
        preset = preset_named(self._base_preset)
        changed = self._changed_from(preset)
        combo = self.preset_combo
        if combo.count() > len(PRESETS):  # the one item that names changed settings
            combo.removeItem(len(PRESETS))
        if not changed:
            combo.setCurrentIndex(combo.findData(preset.name))
            self.preset_note.setText(preset.note)
            return
        labels = ", ".join(dict.fromkeys(LABELS.get(name, name) for name in changed))
        if {"dataset", "model"} & set(changed):
            combo.addItem("Custom", None)
            note = f"Your own settings (started from {preset.name}); choose a preset to reset."
        else:
            combo.addItem(f"{preset.name} (changed)", None)
            note = f"{preset.name} with your changes to: {labels}. Choose it again to reset."
        combo.setCurrentIndex(combo.count() - 1)
        self.preset_note.setText(note)

    def _changed_from(self, preset) -> list[str]:
        """The settings shown that differ from `preset`'s, by field name."""
        try:
            settings = {**TrainingConfig().to_dict(), **self._extra, **self._field_values()}
        except ConfigError as exc:  # text that is no number: whatever it is, not the preset's
            return [str(exc).partition(":")[0]]
        return preset.changed_settings(TrainingConfig(**settings))

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
        # The combo is narrow; its open list shows each device's whole name.
        view = self.device_combo.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 2 * view.frameWidth())

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
            named = field_name if field_name in self._fields else edited or ""
            widget = self._fields.get(named)
            if widget is not None:
                widget.setStyleSheet(ERROR_STYLE)
                if named in ADVANCED_FIELDS:
                    self.set_advanced_open(True)  # the refused field must be seen to be fixed
            self.show_error(message)
            self._update_preset_state()
            return None
        self.show_error("")
        self._update_preset_state()
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

    def _on_preset_chosen(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name is None:  # "Custom" / "(changed)": the settings shown, nothing to apply
            return
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
        # The size this data set trains at, never one left from the data set before (MNIST
        # with a folder's 32 px).
        settings["image_size"] = natural_image_size(dataset)
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
        self._preview = (picture, message)
        self._draw_preview()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange):
            self._draw_preview()  # a scatter plot follows the theme

    def _draw_preview(self) -> None:
        picture, message = self._preview
        if picture is None:
            self.preview_label.setPixmap(QPixmap())
            self.preview_label.setText(_breakable_paths(message))
            self.preview_label.setToolTip(message)
            return
        if self._previewed is not None and self._previewed[0] in POINT_DATASETS:
            picture = plot_on_palette(picture, self.palette())
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


def plot_on_palette(picture: np.ndarray, palette: QPalette) -> np.ndarray:
    """A scatter plot drawn on white (the engine's, as in the run folder), on a dark palette's
    base colour instead: its white and gray pixels move between Base and Text by how dark they
    were, so the grid keeps its contrast; the coloured points stay. Light palettes: unchanged."""
    base_color, text_color = palette.color(QPalette.Base), palette.color(QPalette.Text)
    if base_color.lightness() >= 128:
        return picture
    base = np.array(base_color.getRgb()[:3], float)
    text = np.array(text_color.getRgb()[:3], float)
    gray = (picture[..., 0] == picture[..., 1]) & (picture[..., 1] == picture[..., 2])
    # 0 on the background, ~0.4 on the axes (190), ~0.2 on the grid (225)
    ink = np.minimum(1.0, 1.5 * (255.0 - picture[..., 0][gray]) / 255.0)[:, None]
    themed = picture.copy()
    themed[gray] = np.clip(base + ink * (text - base), 0, 255).astype(np.uint8)
    return themed


def _breakable_paths(text: str) -> str:
    """`text` with a zero-width space after each path separator, so a word-wrapped label can
    break a long path ("/home/.../cache/mnist: not found") instead of widening the form."""
    return text.replace("/", "/\u200b").replace("\\", "\\\u200b")


def _object_name(field: str, suffix: str) -> str:
    """r1_weight -> r1WeightEdit: the objectName style of the other controls."""
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest) + suffix
