"""Other runs drawn over the run shown, on the loss plots' axes: the comparison of runs
researchers make daily in TensorBoard and W&B.

Each overlaid run has one colour (`workspace.overlays`); in each plot its first quantity (D's)
is drawn solid and its second (G's) dashed, smoothed as the run shown is (settings such as
learning rates are drawn raw, `core.smoothing.is_smoothed`). Like the run shown's, each curve
is kept as a `core.plot_decimation.CurveSeries`: records a followed overlay appends are smoothed
and decimated as they come, and what is drawn is what the view shows. A legend row names
every run, the run shown first, each with a check box that hides or shows its curves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QWidget

from ganviz_gui.core.plot_decimation import CurveSeries, extend_sharing_steps
from ganviz_gui.core.smoothing import is_smoothed
from ganviz_gui.core.workspace import OverlaidRun, Workspace
from ganviz_gui.gui.panel_frame import named

if TYPE_CHECKING:
    from ganviz_gui.core.record_columns import RecordColumns

# (plot name, [quantity keys]) in the loss plots' order; `series_of` reads one quantity.
PlotKeys = Sequence[tuple[str, Sequence[str]]]
SeriesOf = Callable[["RecordColumns", str], tuple[np.ndarray, np.ndarray]]
ShownSteps = Callable[[], tuple[float, float, float]]  # (first step, last step, pixels) shown
STEP_DTYPE = np.int32  # whole steps below 2**31, as the run shown's


class OverlayCurves:
    """The overlaid runs' curves on `plots`, redrawn when the runs or the smoothing change."""

    def __init__(
        self,
        workspace: Workspace,
        plots: dict[str, pg.PlotItem],
        keys: PlotKeys,
        series_of: SeriesOf,
        smoothing: Callable[[], float],
        shown_steps: ShownSteps,
    ):
        self.workspace = workspace
        self.plots = plots
        self.keys = keys
        self.series_of = series_of
        self.smoothing = smoothing
        self.shown_steps = shown_steps
        self.curves: dict[Path, dict[str, pg.PlotDataItem]] = {}  # run: {key: curve}
        self.series: dict[Path, dict[str, CurveSeries]] = {}  # run: {key: its points}
        workspace.overlays_changed.connect(self.rebuild)
        workspace.overlay_extended.connect(self._on_overlay_extended)

    def rebuild(self, overlays: list[OverlaidRun]) -> None:
        for curves in self.curves.values():
            for key, curve in curves.items():
                self._plot_of(key).removeItem(curve)
        self.curves, self.series = {}, {}
        for run in overlays:
            curves = {}
            for plot_name, keys in self.keys:
                for index, key in enumerate(keys):
                    style = Qt.PenStyle.SolidLine if index == 0 else Qt.PenStyle.DashLine
                    pen = pg.mkPen(run.color, width=1, style=style)
                    curves[key] = self.plots[plot_name].plot(pen=pen, name=run.name)
            self.curves[run.path] = curves
            self.series[run.path] = {key: self._new_series(key) for key in curves}
            self._append(run.path, run.records)
            self.redraw_run(run)

    def _new_series(self, key: str) -> CurveSeries:
        return CurveSeries(is_smoothed(key), self.smoothing())

    def _append(self, path: Path, records: RecordColumns) -> None:
        """Take new records of one run into its curves' series (only those records are read)."""
        points = {}
        for key in self.series[path]:
            steps, values = self.series_of(records, key)
            if len(steps):
                points[key] = (steps, values)
        extend_sharing_steps(self.series[path], points, STEP_DTYPE)

    def _on_overlay_extended(self, change: tuple[OverlaidRun, RecordColumns]) -> None:
        run, records = change
        if run.path in self.series:
            self._append(run.path, records)
            self.redraw_run(run)

    def redraw(self) -> None:
        """The smoothing changed: every overlaid curve is smoothed anew and drawn."""
        for run in self.workspace.overlays:
            for series in self.series.get(run.path, {}).values():
                series.smooth(self.smoothing())
            self.redraw_run(run)

    def redraw_view(self) -> None:
        """The step range shown changed: what each curve draws follows it."""
        for run in self.workspace.overlays:
            self.redraw_run(run)

    def redraw_run(self, run: OverlaidRun) -> None:
        curves = self.curves.get(run.path, {})
        for key, curve in curves.items():
            series = self.series[run.path][key]
            if series.count:
                steps, _, smoothed = series.drawn(*self.shown_steps(), raw=False)
                curve.setData(steps, smoothed, connect="finite")
            else:
                curve.setData([], [])
            curve.setVisible(run.visible)

    def extents(self, plot_name: str) -> tuple[float, list[np.ndarray]]:
        """(the last step, the extremes of the values drawn) of the visible overlaid runs on
        one plot (kept as records arrive: no curve is scanned)."""
        last, values = 0.0, []
        keys = next(keys for name, keys in self.keys if name == plot_name)
        for run in self.workspace.overlays:
            if not run.visible or run.path not in self.series:
                continue
            for key in keys:
                series = self.series[run.path][key]
                if series.count:
                    last = max(last, float(series.steps[series.count - 1]))
                    values.append(series.smoothed_extremes.as_array())
        return last, values

    def drawn(self, path: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, smoothed values) of one overlaid run's curve as drawn (for tests)."""
        x, y = self.curves[Path(path)][key].getData()
        return (np.asarray([]), np.asarray([])) if x is None else (np.asarray(x), np.asarray(y))

    def _plot_of(self, key: str) -> pg.PlotItem:
        return next(self.plots[name] for name, keys in self.keys if key in keys)


class RunLegend(QWidget):
    """ "Runs: [x] this run  [x] other-run ...  [Remove overlays]": shown while runs are
    overlaid; each check box hides or shows one run's curves."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runLegend")
        self.workspace = workspace
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.checks: dict[Path | None, QCheckBox] = {}
        self.remove_button = named(QPushButton("Remove overlays"), "removeOverlaysButton")
        self.remove_button.clicked.connect(workspace.remove_overlays)
        workspace.overlays_changed.connect(self.rebuild)
        workspace.run_changed.connect(lambda _: self.rebuild(workspace.overlays))
        self.rebuild(workspace.overlays)

    def rebuild(self, overlays: list[OverlaidRun]) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None and widget is not self.remove_button:
                widget.deleteLater()
        self.checks = {}
        self._layout.addWidget(QLabel("Runs:"))
        shown = self.workspace.run.name if self.workspace.run is not None else "this run"
        self._add_check(None, f"{shown} (D blue, G orange)", None, self.workspace.shown_visible)
        for run in overlays:
            self._add_check(run.path, f"{run.name} (D solid, G dashed)", run.color, run.visible)
        self._layout.addStretch(1)
        self._layout.addWidget(self.remove_button)
        self.setVisible(bool(overlays))

    def _add_check(
        self, path: Path | None, text: str, color: tuple[int, int, int] | None, checked: bool
    ) -> None:
        check = named(QCheckBox(text), "overlayCheck")
        check.setChecked(checked)
        if color is not None:
            check.setStyleSheet("QCheckBox {{ color: rgb({}, {}, {}); }}".format(*color))
        check.setToolTip(str(path) if path is not None else "the run shown")
        check.toggled.connect(lambda on, p=path: self.workspace.set_overlay_visible(p, on))
        self._layout.addWidget(check)
        self.checks[path] = check
