"""The sample grid: fixed-noise samples of the EMA generator, refreshed live.

Grids arrive tiled and in uint8 from the training thread (`core.live_views.SampleSheet`);
this panel only shows them. Pixels are drawn as sharp squares (no smoothing) at any zoom, and
"1:1, 2:1, ..." sets an exact number of screen pixels per sample pixel. Hovering a sample shows
D's verdict on it; a click picks its latent for the explorer, a double click opens it large.
Real samples can be shown beside the fakes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLayout,
    QVBoxLayout,
    QWidget,
)

from ganviz_gui.core.workspace import Mode, Workspace
from ganviz_gui.gui.draw_clock import TimedLayoutWidget
from ganviz_gui.gui.panel_frame import PanelFrame, on_screen
from ganviz_gui.gui.theme import CaptionItem

if TYPE_CHECKING:
    from ganviz_gui.core.live_views import SampleSheet
    from ganviz_gui.core.workspace import RunInfo

ZOOMS = ("Fit", "1:1", "2:1", "4:1", "8:1")
GAP = 4  # sample pixels between the generated and the real grid


class SampleGrid(QWidget):
    sample_opened = Signal(str, int, object)  # (which, index, the SampleDialog showing it)

    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sampleGrid")
        self.workspace = workspace or Workspace()
        self.sheet: SampleSheet | None = None  # the sheet last shown
        self._pending_sheet: SampleSheet | None = None  # arrived while hidden: drawn when shown
        self.dialogs: list[SampleDialog] = []

        self.real_check = QCheckBox("Real samples beside", objectName="showRealCheck")
        self.zoom_combo = QComboBox(objectName="zoomCombo")
        self.zoom_combo.addItems(ZOOMS)
        self.zoom_combo.setToolTip("Screen pixels per sample pixel (nearest neighbour, no blur)")
        bar = QHBoxLayout()
        bar.addWidget(self.real_check)
        bar.addWidget(QLabel("Zoom"))
        bar.addWidget(self.zoom_combo)
        bar.addStretch(1)

        self.graphics = TimedLayoutWidget()
        self.graphics.setObjectName("sampleGraphics")
        self.graphics.setToolTip(
            "Click a sample to send its latent to the latent explorer; double-click it to "
            "open it large, with its nearest training images"
        )
        self.view = self.graphics.addViewBox(enableMenu=False, lockAspect=True, invertY=True)
        self.fake_item = pg.ImageItem(axisOrder="row-major")
        self.real_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.fake_item)
        self.view.addItem(self.real_item)
        self.real_item.hide()
        self.fake_label = CaptionItem("generated (EMA)")
        self.real_label = CaptionItem("real")
        self.view.addItem(self.fake_label)
        self.view.addItem(self.real_label)
        self.real_label.hide()

        self.frame = PanelFrame(
            self, bar, self.graphics, "sample", "Start a run on image data to see its samples here."
        )
        self.readout = self.frame.readout

        self.real_check.toggled.connect(self._on_real_toggled)
        self.zoom_combo.currentIndexChanged.connect(lambda _: self._apply_zoom())
        self._mouse_proxy = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        self.graphics.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.workspace.run_changed.connect(self._on_run_changed)
        self.workspace.sheet_changed.connect(self._on_sheet_changed)
        self.workspace.real_samples_changed.connect(self._on_real_samples_changed)

    # ------------------------------------------------------------------ the workspace
    def _on_run_changed(self, run: RunInfo | None) -> None:
        self.clear()
        if run is not None and not run.is_image:
            self.show_message("This run trains 2D points: its samples are in the 2D field view.")
        elif run is None and self.workspace.mode != Mode.TRAINING:
            self.show_message("Open a run folder or start a run on image data to see samples.")

    def _on_sheet_changed(self, sheet: SampleSheet | None) -> None:
        # A hidden panel is not drawn while training (drawing costs the training thread the
        # GIL); it catches up with the newest sheet when shown again.
        if sheet is None:
            self.clear()
        elif self.workspace.mode != Mode.TRAINING:
            self.set_sheet(sheet)
        elif self._on_screen():
            started = time.perf_counter()
            self.set_sheet(sheet)
            # The last paint stands for the one this update brings: about the same work.
            drawn = time.perf_counter() - started + self.graphics.paint_seconds
            self.workspace.note_picture_drawn("samples", drawn)
        else:
            self._pending_sheet = sheet

    def _on_screen(self) -> bool:
        return on_screen(self)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.dock_shown_changed(True)

    def dock_shown_changed(self, shown: bool) -> None:
        """Its dock came to the front (or went behind another tab): catch up with the newest."""
        if shown and self._pending_sheet is not None:
            sheet, self._pending_sheet = self._pending_sheet, None
            self.set_sheet(sheet)

    # ------------------------------------------------------------------ data in
    def show_message(self, text: str) -> None:
        self.frame.show_message(text)

    def set_sheet(self, sheet: SampleSheet) -> None:
        first = self.sheet is None or self.sheet.fake_grid.shape != sheet.fake_grid.shape
        self.sheet = sheet
        self.frame.show_view()
        levels = (0, 255)
        self.fake_item.setImage(sheet.fake_grid, autoLevels=False, levels=levels)
        has_real = sheet.real_grid is not None
        self.real_check.setEnabled(has_real)
        self._on_real_samples_changed(self.workspace.real_samples_note)
        if has_real:
            self.real_item.setImage(sheet.real_grid, autoLevels=False, levels=levels)
        else:
            self.real_check.setChecked(False)
        width = sheet.fake_grid.shape[1]
        self.real_item.setPos(width + GAP, 0)
        self.real_label.setPos(width + GAP, 0)
        self.fake_label.setPos(0, 0)
        self.fake_label.setText(f"{sheet.caption}, step {sheet.step:,}")
        if first:
            self._apply_zoom()

    def clear(self) -> None:
        self.sheet = self._pending_sheet = None
        self.fake_item.clear()
        self.real_item.clear()
        self.readout.setText("")

    # ------------------------------------------------------------------ view
    def _on_real_samples_changed(self, note: str) -> None:
        """The checkbox's tooltip says why there are no real samples to show beside."""
        if self.sheet is not None and self.sheet.real_grid is not None:
            self.real_check.setToolTip("The run's real samples, beside the generated ones")
        else:
            self.real_check.setToolTip(note or "No real samples at hand for this view")

    def _on_real_toggled(self, shown: bool) -> None:
        self.real_item.setVisible(shown)
        self.real_label.setVisible(shown)
        self._apply_zoom()

    def _content_size(self) -> tuple[int, int]:
        if self.sheet is None:
            return 1, 1
        h, w, _ = self.sheet.fake_grid.shape
        if self.real_check.isChecked():
            w = 2 * w + GAP
        return w, h

    def _apply_zoom(self) -> None:
        width, height = self._content_size()
        zoom = self.zoom_combo.currentText()
        if zoom == "Fit":
            self.view.setRange(xRange=(0, width), yRange=(0, height), padding=0.02)
            return
        factor = int(zoom.split(":")[0])
        # The view box is laid out 1:1 in the scene, so its size is in screen pixels.
        self.view.setRange(
            xRange=(0, max(self.view.width(), 1.0) / factor),
            yRange=(0, max(self.view.height(), 1.0) / factor),
            padding=0,
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.zoom_combo.currentText() != "Fit":
            self._apply_zoom()

    # ------------------------------------------------------------------ hover and click
    def sample_at(self, view_point: QPointF) -> tuple[str, int] | None:
        """("fake" | "real", index) of the sample under a point in view coordinates."""
        if self.sheet is None:
            return None
        x, y = view_point.x(), view_point.y()
        index = self.sheet.tile_at(x, y)
        if index is not None:
            return "fake", index
        if self.real_check.isChecked():
            index = self.sheet.tile_at(x - self.real_item.pos().x(), y)
            if index is not None:
                return "real", index
        return None

    def describe(self, which: str, index: int) -> str:
        scores = self.sheet.fake_scores if which == "fake" else self.sheet.real_scores
        name = "D(x)" if which == "real" else "D(G(z))"
        if not self.sheet.score_is_probability:
            name = "critic score"
        return f"{which} sample {index}: {name} = {scores[index]:.3f} (step {self.sheet.step:,})"

    def _on_mouse_moved(self, event: tuple) -> None:
        hit = self.sample_at(self.view.mapSceneToView(event[0]))
        self.readout.setText(self.describe(*hit) if hit else "")

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        hit = self.sample_at(self.view.mapSceneToView(event.scenePos()))
        if hit is None:
            return
        # A double click arrives after the single click of its first press, which has
        # picked the sample already: it only opens it.
        if event.double():
            self.open_sample(*hit)
        else:
            self.select_sample(*hit)

    def select_sample(self, which: str, index: int) -> None:
        """A generated sample's latent, where known, goes to the explorer (its origin, and one
        of the three for the plane through three samples)."""
        if which != "fake":
            return
        latent = self.workspace.latent_of_sample(index)
        if latent is None:
            return
        self.workspace.pick_latent(latent)
        picked = len(self.workspace.picked)
        self.workspace.say(
            f"Sample {index}'s latent is the explorer's origin now ({picked} of 3 picked "
            "for the plane through three samples; double-click a sample to open it large)"
        )

    def open_sample(self, which: str, index: int) -> SampleDialog:
        """The sample enlarged in a dialog of its own (its neighbours are found for it)."""
        grid = self.sheet.fake_grid if which == "fake" else self.sheet.real_grid
        dialog = SampleDialog(self.sheet.tile_picture(grid, index), self.describe(which, index))
        dialog.finished.connect(lambda _: self.dialogs.remove(dialog))
        self.dialogs.append(dialog)
        dialog.show()
        self.sample_opened.emit(which, index, dialog)
        return dialog


class SampleDialog(QDialog):
    """One sample, enlarged with nearest-neighbour scaling so its pixels stay visible; for a
    generated sample, its nearest training images below it (a memorisation check) once the
    window has found them."""

    def __init__(self, picture: np.ndarray, caption: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sampleDialog")
        self.setWindowTitle(caption)
        self.sample = np.ascontiguousarray(picture)  # (h, w, 3) uint8, as shown
        self.picture = QLabel(objectName="sampleLarge")
        self.picture.setPixmap(_enlarged(self.sample, 192))
        self.neighbours = QHBoxLayout()
        self.neighbours_label = QLabel(objectName="neighboursLabel", wordWrap=True)
        self.neighbours_label.setFixedWidth(max(320, self.picture.sizeHint().width()))
        self.neighbour_pictures: list[np.ndarray] = []
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QLayout.SetFixedSize)  # the dialog grows with what it shows
        layout.addWidget(self.picture, alignment=Qt.AlignCenter)
        layout.addWidget(QLabel(caption, wordWrap=True))
        layout.addLayout(self.neighbours)
        layout.addWidget(self.neighbours_label)

    def say(self, text: str) -> None:
        """A line under the sample: what the memorisation check is doing or found."""
        self.neighbours_label.setText(text)

    def show_neighbours(self, pictures: list[np.ndarray], text: str) -> None:
        """The nearest training images, nearest first, and what their distances say."""
        self.neighbour_pictures = pictures
        for picture in pictures:
            label = QLabel()
            label.setPixmap(_enlarged(picture, 56))
            self.neighbours.addWidget(label)
        self.neighbours.addStretch(1)
        self.neighbours_label.setText(text)


def _enlarged(picture: np.ndarray, size: int) -> QPixmap:
    """(h, w, 3) uint8 as a pixmap about `size` px across, whole-pixel nearest-neighbour."""
    picture = np.ascontiguousarray(picture)
    h, w, _ = picture.shape
    image = QImage(picture.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    factor = max(1, size // max(h, w))
    return QPixmap.fromImage(image).scaled(w * factor, h * factor, mode=Qt.FastTransformation)
