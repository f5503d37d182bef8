"""View > TensorBoard tags: what each scalar tag of an opened log is taken for, and the
user's corrections (`core.tag_mapping`). One row per tag: the tag, the GANViz quantity it is
plotted as (or "its own name", drawn in the Other plot), and whether GANViz guessed it or the
user chose it; and the image tag shown as the sample history."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ganviz_gui.core.tag_mapping import QUANTITIES, TagMapping, TagRow
from ganviz_gui.gui.panel_frame import named

OWN_NAME = "(its own name)"


class TagMappingDialog(QDialog):
    def __init__(
        self,
        rows: list[TagRow],
        image_counts: dict[str, int],
        mapping: TagMapping,
        picture_tag: str | None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("tagMappingDialog")
        self.setWindowTitle("TensorBoard tags")
        self.mapping = mapping
        self.rows = rows
        self.table = named(QTableWidget(len(rows), 3), "tagTable")
        self.table.setHorizontalHeaderLabels(["tag", "plotted as", ""])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.combos: dict[str, QComboBox] = {}
        for i, row in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(row.tag))
            combo = QComboBox()
            combo.addItems([OWN_NAME, *QUANTITIES])
            combo.setCurrentText(row.quantity or OWN_NAME)
            self.table.setCellWidget(i, 1, combo)
            self.table.setItem(i, 2, QTableWidgetItem("guessed" if row.was_guessed else "yours"))
            self.combos[row.tag] = combo
        self.picture_combo = named(QComboBox(), "pictureTagCombo")
        for tag, count in image_counts.items():
            self.picture_combo.addItem(f"{tag} ({count} pictures)", tag)
        if picture_tag is not None:
            self.picture_combo.setCurrentIndex(self.picture_combo.findData(picture_tag))
        self.picture_combo.setEnabled(bool(image_counts))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Sample history", self.picture_combo)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Each scalar tag is plotted as the quantity chosen here; a tag left under its "
                "own name is drawn in the Other plot."
            )
        )
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(560, 420)

    def chosen_mapping(self) -> TagMapping:
        """The mapping with the user's choices: a choice that differs from the guess is kept
        as an override, as are the overrides made before."""
        overrides = dict(self.mapping.overrides)
        for row in self.rows:
            text = self.combos[row.tag].currentText()
            chosen = None if text == OWN_NAME else text
            if chosen != row.quantity or row.tag in overrides:
                overrides[row.tag] = chosen
        picture = self.picture_combo.currentData() if self.picture_combo.isEnabled() else None
        return TagMapping(overrides=overrides, picture_tag=picture or self.mapping.picture_tag)
