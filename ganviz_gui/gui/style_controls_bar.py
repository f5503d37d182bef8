"""The explorer's StyleGAN row: where the plane lies (z or W), truncation psi with a layer
cutoff, style mixing with a second latent over a range of layers, the noise mode, and the
class of a conditional generator. Shown only for style-based generators; it only collects
the user's choices (`controls()`), the explorer applies them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ganviz_gui.gui.flow_layout import FlowLayout, group

if TYPE_CHECKING:  # torch loads after the window's first paint
    from ganviz_gui.core.style_controls import StyleControls


class StyleControlsBar(QWidget):
    changed = Signal()  # any control edited
    space_changed = Signal()  # the plane moves between z and W (a new plane is needed)
    mix_requested = Signal()  # "Mix = cursor": take the cursor's latent as the mixing latent

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("styleControls")
        self.space_combo = QComboBox(objectName="styleSpaceCombo")
        self.space_combo.addItem("plane in z", "z")
        self.space_combo.addItem("plane in W", "w")
        self.space_combo.setToolTip(
            "z: the latent the mapping network takes. W: the mapping's output, a plane through "
            "the average w, in units of W's spread"
        )
        self.psi_spin = QDoubleSpinBox(objectName="truncationSpin", decimals=2, singleStep=0.05)
        self.psi_spin.setRange(-1.0, 2.0)
        self.psi_spin.setValue(1.0)
        self.psi_spin.setPrefix("psi ")
        self.psi_spin.setKeyboardTracking(False)
        self.psi_spin.setToolTip("Truncation: w_avg + psi (w - w_avg); 1 is none")
        self.cutoff_spin = QSpinBox(objectName="truncationCutoffSpin")
        self.cutoff_spin.setSpecialValueText("all layers")
        self.cutoff_spin.setPrefix("first ")
        self.cutoff_spin.setSuffix(" layers")
        self.cutoff_spin.setToolTip("Truncate only the first layers (the coarse styles)")
        self.mix_check = QCheckBox("mix", objectName="styleMixCheck")
        self.mix_check.setToolTip("Take the layers chosen beside from the mixing latent")
        self.mix_button = QPushButton("mix = cursor", objectName="styleMixButton")
        self.mix_button.setToolTip("The latent under the cursor becomes the mixing latent")
        self.mix_first_spin = QSpinBox(objectName="styleMixFirstSpin")
        self.mix_last_spin = QSpinBox(objectName="styleMixLastSpin")
        self.mix_first_spin.setPrefix("layers ")
        self.mix_last_spin.setPrefix("to ")
        self.noise_combo = QComboBox(objectName="noiseModeCombo")
        for mode, text in (
            ("const", "noise: fixed"),
            ("random", "noise: random"),
            ("none", "noise: off"),
        ):
            self.noise_combo.addItem(text, mode)
        self.class_label = QLabel("class")
        self.class_spin = QSpinBox(objectName="styleClassSpin")
        # In groups that wrap onto another row where the dock is narrow.
        self.class_group = group(self.class_label, self.class_spin)
        FlowLayout(self).add_widgets(
            self.space_combo,
            group(self.psi_spin, self.cutoff_spin),
            group(self.mix_check, self.mix_button, self.mix_first_spin, self.mix_last_spin),
            self.noise_combo,
            self.class_group,
        )
        self.space_combo.activated.connect(lambda _: self.space_changed.emit())
        for spin in (self.psi_spin, self.cutoff_spin, self.mix_first_spin, self.mix_last_spin):
            spin.valueChanged.connect(lambda _: self.changed.emit())
        self.class_spin.valueChanged.connect(lambda _: self.changed.emit())
        self.noise_combo.activated.connect(lambda _: self.changed.emit())
        self.mix_check.toggled.connect(lambda _: self.changed.emit())
        self.mix_button.clicked.connect(self.mix_requested.emit)
        self.mix_check.setEnabled(False)  # until a mixing latent is chosen

    def configure(self, num_ws: int, classes: int) -> None:
        """Ranges for a generator with `num_ws` style layers and `classes` classes."""
        for widget in (self, *self.findChildren(QWidget)):
            widget.blockSignals(True)
        self.cutoff_spin.setRange(0, max(num_ws - 1, 0))
        self.cutoff_spin.setValue(0)
        self.mix_first_spin.setRange(0, max(num_ws - 1, 0))
        self.mix_last_spin.setRange(0, max(num_ws - 1, 0))
        # Mixing the fine layers (the second half) keeps the pose and swaps colours and detail.
        self.mix_first_spin.setValue(num_ws // 2)
        self.mix_last_spin.setValue(max(num_ws - 1, 0))
        self.mix_check.setChecked(False)
        self.mix_check.setEnabled(False)
        self.class_spin.setRange(0, max(classes - 1, 0))
        self.class_group.setVisible(classes > 0)
        self.psi_spin.setValue(1.0)
        self.space_combo.setCurrentIndex(0)
        self.noise_combo.setCurrentIndex(0)
        for widget in (self, *self.findChildren(QWidget)):
            widget.blockSignals(False)

    def space(self) -> str:
        return str(self.space_combo.currentData())

    def set_space(self, space: str) -> None:
        """Move the plane's space without asking for a new plane (the caller makes it)."""
        self.space_combo.setCurrentIndex(self.space_combo.findData(space))

    def controls(self, mix_latent) -> StyleControls:
        from ganviz_gui.core.style_controls import StyleControls

        cutoff = self.cutoff_spin.value() or None
        mixing = mix_latent if self.mix_check.isChecked() else None
        return StyleControls(
            space=self.space(),
            psi=float(self.psi_spin.value()),
            cutoff=cutoff,
            mix_latent=mixing,
            mix_layers=(self.mix_first_spin.value(), self.mix_last_spin.value()),
            noise_mode=str(self.noise_combo.currentData()),
            class_index=self.class_spin.value(),
        )
