"""The 2D field view: GAN Lab's picture of a GAN, drawn from the real PyTorch models.

- D's output over the plane as a heat map (blue where D says real, orange where it says fake);
- real points (blue) and generated points (orange, from the raw generator D is fighting);
- the generator's manifold: a grid on a 2D slice of latent space, mapped through G, as a mesh;
- arrows on generated points: where G's own gradient would move each one.

Everything arrives computed (`core.live_views.FieldSnapshot`); this panel only draws it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QStackedLayout, QVBoxLayout, QWidget

ARROW_FRACTION = 0.07  # the longest arrow spans this share of the view's width
REAL_BRUSH = pg.mkBrush(40, 90, 200, 200)
FAKE_BRUSH = pg.mkBrush(240, 120, 20, 220)


class FieldView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("fieldView")
        self.snapshot: Any = None  # core.live_views.FieldSnapshot last drawn

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
        self.readout = QLabel(objectName="fieldReadout")

        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setObjectName("fieldPlot")
        plot = self.plot_widget.getPlotItem()
        plot.setAspectLocked(True)
        plot.setMenuEnabled(False)
        # Diverging map, reversed so that blue means "real" (as the real points) and red "fake".
        colors = pg.colormap.get("CET-D1A")
        colors.reverse()
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setColorMap(colors)
        self.heat.setOpacity(0.75)
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
        self.color_bar.setImageItem(self.heat, insert_in=plot)
        self.color_bar.axis.setLabel("D output")

        self.message = QLabel(objectName="fieldMessage", alignment=Qt.AlignCenter, wordWrap=True)
        self.message.setText(
            "Start a run on 2D data (e.g. the 8 Gaussians preset) to see D's field, "
            "G's manifold and G's gradient here."
        )
        self.stack = QStackedLayout()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.plot_widget)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addLayout(self.stack, 1)
        layout.addWidget(self.readout)
        self._mouse_proxy = pg.SignalProxy(
            self.plot_widget.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )

    # ------------------------------------------------------------------ data in
    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def set_snapshot(self, snapshot: Any) -> None:
        first = self.snapshot is None or self.snapshot.bounds != snapshot.bounds
        self.snapshot = snapshot
        self.stack.setCurrentWidget(self.plot_widget)
        x0, x1, y0, y1 = snapshot.bounds
        heat = snapshot.heat
        if snapshot.heat_is_probability:
            levels = (0.0, 1.0)
        else:  # a critic's raw score: centre the colours on 0, scale to the bulk of values
            bound = float(np.nanpercentile(np.abs(heat), 98)) or 1.0
            levels = (-bound, bound)
        self.heat.setImage(heat, autoLevels=False, levels=levels)
        if tuple(self.color_bar.levels()) != levels:  # redrawing its axis costs the GIL
            self.color_bar.setLevels(levels)
        self.heat.setRect(x0, y0, x1 - x0, y1 - y0)  # row 0 is y0: the plot's y axis points up
        if first:  # the real points shown never change during a run
            self.real.setData(pos=snapshot.real)
        self.fake.setData(pos=snapshot.fake)
        self._draw_mesh(snapshot.mesh)
        self._draw_arrows(snapshot)
        if first:
            self.plot_widget.getPlotItem().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self._on_layers_changed()
        self.step_label.setText(f"step {snapshot.step:,}")

    def _draw_mesh(self, mesh: np.ndarray) -> None:
        g = mesh.shape[0]
        # Rows then columns of the deformed grid, each line ended by a NaN break.
        lines = np.concatenate([mesh, mesh.transpose(1, 0, 2)], axis=0)  # (2g, g, 2)
        padded = np.concatenate([lines, np.full((2 * g, 1, 2), np.nan)], axis=1).reshape(-1, 2)
        self.mesh.setData(padded[:, 0], padded[:, 1], connect="finite")

    def _draw_arrows(self, snapshot: Any) -> None:
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
