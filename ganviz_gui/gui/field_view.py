"""The 2D field view: GAN Lab's picture of a GAN, drawn from the real PyTorch models.

- D's output over the plane as a heat map (blue where D says real, orange where it says fake);
- real points (blue) and generated points (orange, from the raw generator D is fighting);
- the generator's manifold: a grid on a 2D slice of latent space, mapped through G, as a mesh;
- arrows on generated points: where G's own gradient would move each one.

Everything arrives computed (`core.live_views.FieldSnapshot`); this panel only draws it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage, QPixmap, QTransform
from PySide6.QtWidgets import QCheckBox, QGraphicsPixmapItem, QHBoxLayout, QLabel, QWidget

from ganviz_gui.core.workspace import Mode, Workspace
from ganviz_gui.gui.draw_clock import TimedPlotWidget
from ganviz_gui.gui.latent_mesh import lattice_lines, polyline
from ganviz_gui.gui.panel_frame import PanelFrame, on_screen

if TYPE_CHECKING:
    from ganviz_gui.core.live_views import FieldSnapshot
    from ganviz_gui.core.workspace import RunInfo

HEAT_LIGHTEN = 0.3  # share of white mixed into the heat map, so points and lines stand out
ARROW_FRACTION = 0.07  # the longest arrow spans this share of the view's width
REAL_BRUSH = pg.mkBrush(40, 90, 200, 200)
FAKE_BRUSH = pg.mkBrush(240, 120, 20, 220)


class FieldView(QWidget):
    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("fieldView")
        self.workspace = workspace or Workspace()
        self.snapshot: FieldSnapshot | None = None  # the snapshot last drawn
        self._pending: FieldSnapshot | None = None  # arrived while hidden: drawn when shown

        self.layer_checks: dict[str, QCheckBox] = {}
        bar = QHBoxLayout()
        for key, text in (
            ("heat", "D's field"),
            ("real", "Real"),
            ("fake", "Generated"),
            ("mesh", "G's manifold"),
            ("arrows", "G's gradient"),
        ):
            check = QCheckBox(text, objectName=f"show{key.capitalize()}Check", checked=True)
            check.toggled.connect(self._on_layers_changed)
            self.layer_checks[key] = check
            bar.addWidget(check)
        bar.addStretch(1)
        self.step_label = QLabel(objectName="fieldStepLabel")
        bar.addWidget(self.step_label)

        self.plot_widget = TimedPlotWidget(enableMenu=False)
        self.plot_widget.setObjectName("fieldPlot")
        plot = self.plot_widget.getPlotItem()
        plot.setAspectLocked(True)
        # Diverging map, reversed so that blue means "real" (as the real points) and red "fake".
        colors = pg.colormap.get("CET-D1A")
        colors.reverse()
        # Opaque colours lightened towards white, packed as 0xFFRRGGBB: drawn as an opaque
        # pixmap, the heat map costs 0.1 ms a frame where a translucent ImageItem took 2.5 ms.
        light = colors.getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.float32)
        light = np.rint(light * (1 - HEAT_LIGHTEN) + 255 * HEAT_LIGHTEN).astype(np.uint32)
        self._heat_lut = (0xFF << 24) | (light[:, 0] << 16) | (light[:, 1] << 8) | light[:, 2]
        self.heat = QGraphicsPixmapItem()  # a plain Qt item: no Python paint per frame
        self.heat.setZValue(-10)
        plot.addItem(self.heat)
        self.mesh = pg.PlotCurveItem(pen=pg.mkPen((90, 90, 90, 160), width=1), connect="finite")
        plot.addItem(self.mesh)
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=REAL_BRUSH, name="real")
        # The real points never move during a run: paint them from a cached pixmap.
        self.real.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.fake = pg.ScatterPlotItem(size=4, pen=None, brush=FAKE_BRUSH, name="generated")
        plot.addItem(self.real)
        plot.addItem(self.fake)
        self.arrows = pg.PlotCurveItem(pen=pg.mkPen((30, 30, 30), width=1), connect="pairs")
        plot.addItem(self.arrows)
        self.color_bar = pg.ColorBarItem(
            values=(0, 1), colorMap=colors, interactive=False, width=12
        )
        plot.layout.addItem(self.color_bar, 2, 5)  # right of the plot, as setImageItem puts it
        self.color_bar.axis.setLabel("D output")

        self.frame = PanelFrame(
            self,
            bar,
            self.plot_widget,
            "field",
            "Start a run on 2D data (e.g. the 8 Gaussians preset) to see D's field, "
            "G's manifold and G's gradient here.",
        )
        self.readout = self.frame.readout
        self._mouse_proxy = pg.SignalProxy(
            self.plot_widget.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        self.workspace.run_changed.connect(self._on_run_changed)
        self.workspace.field_changed.connect(self._on_field_changed)

    # ------------------------------------------------------------------ the workspace
    def _on_run_changed(self, run: RunInfo | None) -> None:
        self._pending = None
        if run is not None and run.is_image:
            self.show_message("The field view shows 2D data; this run trains images.")
        elif run is None:
            self.snapshot = None
            self.show_message(self.frame.placeholder)
        else:  # another 2D run: nothing of the last one's field until this one's arrives
            self.snapshot = None
            self.show_message(f"{run.name}: drawing D's field...")

    def _on_field_changed(self, snapshot: FieldSnapshot | None) -> None:
        if snapshot is None:
            return
        if self.workspace.mode != Mode.TRAINING:
            self.set_snapshot(snapshot)
        elif on_screen(self):
            started = time.perf_counter()
            self.set_snapshot(snapshot)
            # The last paint stands for the one this update brings: about the same work.
            drawn = time.perf_counter() - started + self.plot_widget.paint_seconds
            self.workspace.note_picture_drawn("field", drawn)
        else:
            self._pending = snapshot  # drawn when shown: hidden views cost training nothing

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.dock_shown_changed(True)

    def dock_shown_changed(self, shown: bool) -> None:
        """Its dock came to the front (or went behind another tab): catch up with the newest."""
        if shown and self._pending is not None:
            snapshot, self._pending = self._pending, None
            self.set_snapshot(snapshot)

    # ------------------------------------------------------------------ data in
    def show_message(self, text: str) -> None:
        self.frame.show_message(text)

    def set_snapshot(self, snapshot: FieldSnapshot) -> None:
        first = self.snapshot is None or self.snapshot.bounds != snapshot.bounds
        self.snapshot = snapshot
        self.frame.show_view()
        x0, x1, y0, y1 = snapshot.bounds
        heat = snapshot.heat
        if snapshot.heat_is_probability:
            levels = (0.0, 1.0)
        else:  # a critic's raw score: centre the colours on 0, scale to the bulk of values
            bound = float(np.nanpercentile(np.abs(heat), 98)) or 1.0
            levels = (-bound, bound)
        self._draw_heat(heat, levels, snapshot.bounds)
        if tuple(self.color_bar.levels()) != levels:  # redrawing its axis costs the GIL
            self.color_bar.setLevels(levels)
        if first:  # the real points shown never change during a run
            self.real.setData(pos=snapshot.real)
        self.fake.setData(pos=snapshot.fake)
        self._draw_mesh(snapshot.mesh)
        self._draw_arrows(snapshot)
        if first:
            self.plot_widget.getPlotItem().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self._on_layers_changed()
        self.step_label.setText(f"step {snapshot.step:,}")

    def _draw_heat(self, heat: np.ndarray, levels: tuple, bounds: tuple) -> None:
        low, high = levels
        index = np.clip((heat - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
        pixels = np.ascontiguousarray(self._heat_lut[index])  # (R, R) 0xFFRRGGBB
        rows, cols = pixels.shape
        image = QImage(pixels.data, cols, rows, 4 * cols, QImage.Format_RGB32).copy()
        self.heat.setPixmap(QPixmap.fromImage(image))
        x0, x1, y0, y1 = bounds
        # Row 0 is y0: with the plot's y axis pointing up, the picture's top row lands at y0.
        self.heat.setTransform(QTransform.fromScale((x1 - x0) / cols, (y1 - y0) / rows))
        self.heat.setPos(x0, y0)

    def _draw_mesh(self, mesh: np.ndarray) -> None:
        # Rows then columns of the deformed grid, as one curve broken between lines.
        self.mesh.setData(*polyline(np.concatenate(lattice_lines(mesh))), connect="finite")

    def _draw_arrows(self, snapshot: FieldSnapshot) -> None:
        starts = snapshot.fake[: len(snapshot.arrows)]
        vectors = snapshot.arrows
        lengths = np.linalg.norm(vectors, axis=1)
        longest = float(np.nanmax(lengths)) if len(lengths) else 0.0
        if not np.isfinite(longest) or longest <= 0:
            self.arrows.setData([], [])
            return
        x0, x1, _, _ = snapshot.bounds
        ends = starts + vectors * (ARROW_FRACTION * (x1 - x0) / longest)
        segments = np.stack([starts, ends], axis=1).reshape(-1, 2)  # start, end, start, end...
        self.arrows.setData(segments[:, 0], segments[:, 1], connect="pairs")

    def _on_layers_changed(self, *_: Any) -> None:
        shown = {key: check.isChecked() for key, check in self.layer_checks.items()}
        self.heat.setVisible(shown["heat"])
        self.real.setVisible(shown["real"])
        self.fake.setVisible(shown["fake"])
        self.mesh.setVisible(shown["mesh"])
        self.arrows.setVisible(shown["arrows"])

    def _on_mouse_moved(self, event: tuple) -> None:
        if self.snapshot is None:
            return
        point = self.plot_widget.getPlotItem().getViewBox().mapSceneToView(event[0])
        self.readout.setText(self.describe_point(point.x(), point.y()))

    def describe_point(self, x: float, y: float) -> str:
        """D's output at (x, y), read from the last heat map."""
        s = self.snapshot
        x0, x1, y0, y1 = s.bounds
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return f"({x:.2f}, {y:.2f})"
        rows, cols = s.heat.shape
        col = min(cols - 1, int((x - x0) / (x1 - x0) * cols))
        row = min(rows - 1, int((y - y0) / (y1 - y0) * rows))
        name = "D" if s.heat_is_probability else "critic"
        return f"({x:.2f}, {y:.2f}): {name} = {s.heat[row, col]:.3f}"
