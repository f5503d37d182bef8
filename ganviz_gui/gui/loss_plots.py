"""Live training curves: losses, D's outputs, gradient norms, learning rates and quality.

Five pyqtgraph plots share one step axis. Each measured quantity is drawn raw (faint) and
smoothed (an EMA debiased at the start, as TensorBoard does); settings such as learning rates
are drawn as recorded (`core.smoothing.is_smoothed`). The quality row names what the kind of
run records: a 2D run's modes and JS divergence, or an image run's classes, diversity and
Frechet distance (on a right axis). Events (a live setting change, a non-finite recovery, a
resume) are marked on every plot, labelled on the top one. Long runs stay smooth: a curve hands
pyqtgraph only what the view shows, about two points per pixel column, read from min/max pyramids
built as records arrive (`core.plot_decimation`: no spike or step is lost at any zoom), so a
refresh costs about the same at 10^5 and 10^7 points; pens are 1 px (a 2 px pen was measured
at 680 ms a repaint of 10^6 points).

Painting holds the GIL the training thread needs, so it is kept rare and cheap: curves are
redrawn at most `REDRAW_HZ` times a second, and only once a second while what came since the
last draw fits in one pixel column (a long run: every paint then changes its last column only);
there are no grid lines (measured: the four plots
repaint in 19 ms with pyqtgraph's grid, 2.7 ms without); and "follow latest" sets ranges
rounded out to nice numbers itself, so the axes (2 ms each to regenerate) change only when
the data outgrow them, not on every frame as pyqtgraph's auto-range would.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from ganviz_gui.core.plot_decimation import CurveSeries, Smoothing, extend_sharing_steps
from ganviz_gui.core.record_columns import RecordColumns, as_columns
from ganviz_gui.core.smoothing import is_smoothed
from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.background import LatestOnly
from ganviz_gui.gui.plot_labels import CompactAxis, EventLabel, event_text, nice_ceiling, nice_range
from ganviz_gui.gui.run_overlays import OverlayCurves, RunLegend
from ganviz_gui.gui.step_bands import StepBands

if TYPE_CHECKING:
    from ganviz_gui.core.diagnostics import Finding
    from ganviz_gui.core.workspace import RunDelta, RunInfo


@dataclass(frozen=True)
class CurveSpec:
    key: str  # the metric's name in the run folder's metrics.jsonl
    label: str
    color: tuple[int, int, int]
    right_axis: bool = False  # drawn on a scale of its own, read on the plot's right axis


D_COLOR, G_COLOR = (66, 133, 244), (244, 140, 40)  # blue for D, orange for G, everywhere
PLOTS: tuple[tuple[str, str, tuple[CurveSpec, ...]], ...] = (
    ("losses", "Loss", (CurveSpec("loss_d", "D", D_COLOR), CurveSpec("loss_g", "G", G_COLOR))),
    (
        "d_outputs",
        "D output",
        (CurveSpec("d_real", "D(x)", D_COLOR), CurveSpec("d_fake", "D(G(z))", G_COLOR)),
    ),
    (
        "grad_norms",
        "Grad norm",
        (CurveSpec("grad_norm_d", "D", D_COLOR), CurveSpec("grad_norm_g", "G", G_COLOR)),
    ),
    (
        "learning_rates",
        "Learning rate",
        (CurveSpec("lr_d", "D", D_COLOR), CurveSpec("lr_g", "G", G_COLOR)),
    ),
    (
        # Every eval_every steps. A 2D run records modes covered, high-quality share and JS
        # divergence; an image run its classes covered, diversity (shares in [0, 1], diversity
        # may pass 1 a little) and the Frechet distance in the data classifier's features,
        # which is in the hundreds and has the right axis to itself.
        "quality",
        "Quality",
        (
            CurveSpec("coverage", "cover", (80, 200, 120)),
            CurveSpec("high_quality", "HQ", (200, 120, 220)),
            CurveSpec("js_divergence", "JS", (220, 80, 80)),
            CurveSpec("diversity_ratio", "div", (200, 170, 30)),
            CurveSpec("frechet_distance", "FD", (40, 170, 200), right_axis=True),
        ),
    ),
)
# What the quality row names, by the kind of run: (left axis title, its curves, right axis).
QUALITY_LEGENDS = {
    "points": ("Quality", ("coverage", "high_quality", "js_divergence"), None),
    "images": ("Quality", ("coverage", "diversity_ratio"), "frechet_distance"),
}
QUALITY_LABELS = {"images": {"coverage": "classes"}}  # the share covered is of classes there
RIGHT_AXIS_WIDTH = 44  # px of tick labels; the axis title is added. Every row keeps this room,
# so that a step is at the same x in every row.
FINDING_PLOTS = {  # where each kind of diagnostic finding is shaded
    "mode_collapse": "quality",
    "d_overpowering": "d_outputs",
    "oscillation": "d_outputs",
    "nonfinite": "losses",
}
# Recorded quantities not drawn as curves: bookkeeping, and what the Quality tab shows.
NOT_PLOTTED = frozenset(
    {"step", "time", "elapsed", "steps_per_sec", "d_steps", "refused_updates", "world_size"}
    | {"modes_covered", "modes_total", "classes_covered", "classes_total", "class_counts"}
)
OTHER_PLOT = "other"  # any other scalar a run records (its own loop's, a TensorBoard tag)
MAX_OTHER_CURVES = 8
OTHER_COLORS = (
    (80, 200, 220), (220, 120, 160), (160, 200, 80), (200, 160, 240),
    (240, 200, 120), (120, 160, 240), (240, 120, 90), (170, 170, 170),
)  # fmt: skip
EVENT_KINDS = ("settings_changed", "nonfinite_recovery", "resumed", "error", "stopped")
EVENT_LABEL_GAP = 3  # px between an event's line and its label
MAX_EVENT_LANES = 3  # labels of nearby events go up to this many lines deep, then overlap
DEFAULT_SMOOTHING = 0.6
SLIDER_MIN_WIDTH = 90  # px: room to drag the smoothing slider in, however narrow the plots
REDRAW_HZ = 3
# While the new points would not reach the next pixel column, curves wait this long to be drawn:
# 10^6 steps on 1,000 px are 1,000 steps a column, minutes of a live run.
SLOW_REDRAW_S = 1.0
# Curves holding more points than this in all are re-smoothed off the GUI thread once the
# slider pauses for SMOOTHING_PAUSE_MS; fewer, at once (10^6 points: 37 ms on one 2-core VM core).
SYNC_SMOOTHING_POINTS = 1_000_000
SMOOTHING_PAUSE_MS = 120


# A run's steps are whole numbers below 2**31 (record_columns.MAX_STEP): int32 holds them.
STEP_DTYPE = np.int32
REDRAW_AFTER_ZOOM_MS = 30  # a zoom or pan is redrawn once it pauses this long


class LossPlots(QWidget):
    step_clicked = Signal(float)  # the step under a click in any plot (to scrub a run there)

    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lossPlot")
        self.workspace = workspace or Workspace()
        self.series: dict[str, CurveSeries] = {}
        self._raw_curves: dict[str, pg.PlotCurveItem] = {}
        self._smooth_curves: dict[str, pg.PlotCurveItem] = {}
        self._plot_of: dict[str, pg.PlotItem] = {}
        self._event_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._event_labels: list[EventLabel] = []
        self.events: list[dict[str, Any]] = []
        self._quality_kind = ""  # "points" or "images": what the quality row names
        self._weight = DEFAULT_SMOOTHING
        self._dirty: set[str] = set()  # curves with points not drawn yet
        self._redraw_timer = QTimer(self, singleShot=True, interval=round(1000 / REDRAW_HZ))
        self._redraw_timer.timeout.connect(self._on_cooled_down)
        # What is drawn depends on the step range shown: a zoom redraws every curve.
        self._view_timer = QTimer(self, singleShot=True, interval=REDRAW_AFTER_ZOOM_MS)
        self._view_timer.timeout.connect(self._on_view_settled)
        self._in_redraw = False
        self._drawn_at = -math.inf  # time.monotonic() of the last redraw
        self._drawn_until = -math.inf  # the last step drawn then

        self.smoothing_slider = QSlider(Qt.Horizontal, objectName="smoothingSlider")
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * 100))
        self.smoothing_slider.setToolTip(
            "EMA smoothing weight (debiased), as in TensorBoard; learning rates are drawn raw"
        )
        # Squeezed by the check boxes beside it, a slider shrinks to its handle and reads as a
        # check box: it keeps room to drag in, and its value is written beside it.
        self.smoothing_slider.setMinimumWidth(SLIDER_MIN_WIDTH)
        self.smoothing_label = QLabel(objectName="smoothingLabel")
        self.smoothing_label.setMinimumWidth(
            self.smoothing_label.fontMetrics().horizontalAdvance("0.00 ")
        )
        self.raw_check = QCheckBox("Raw", objectName="rawCheck", checked=True)
        self.log_check = QCheckBox("Log scale", objectName="logScaleCheck")
        self.follow_check = QCheckBox("Follow latest", objectName="followLatestCheck", checked=True)
        self.follow_check.setToolTip("Keep every curve in view; zooming by hand turns this off")
        self.readout = QLabel(objectName="plotReadout")
        self.readout.setTextFormat(Qt.RichText)
        self.readout.setMinimumWidth(200)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self.smoothing_slider, 1)
        bar.addWidget(self.smoothing_label)
        bar.addWidget(self.raw_check)
        bar.addWidget(self.log_check)
        bar.addWidget(self.follow_check)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("lossGraphics")
        self.graphics.ci.setSpacing(14)  # room between one plot's last tick and the next's first
        self.plots: dict[str, pg.PlotItem] = {}
        self._cursor_lines: list[pg.InfiniteLine] = []
        first = None
        for row, (name, title, curves) in enumerate(PLOTS):
            axes = {"left": CompactAxis("left"), "right": CompactAxis("right")}
            plot = self.graphics.addPlot(enableMenu=False, row=row, col=0, axisItems=axes)
            plot.hideAxis("right")  # shown where a row has a quantity of its own scale
            plot.setObjectName(name)
            plot.setLabel("left", _colored_title(title, curves))
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(64)  # fixed: changing tick labels cause no relayout
            plot.disableAutoRange()  # "follow latest" sets the ranges (see _follow)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            if row == len(PLOTS) - 1:
                plot.setLabel("bottom", "step")
            else:  # the step axes are linked: one set of tick labels, at the bottom, is enough
                plot.hideAxis("bottom")
            for spec in curves:
                if spec.right_axis:
                    raw, smooth = self._add_right_axis_curves(plot, spec)
                else:
                    raw = _line(plot, pg.mkPen((*spec.color, 70), width=1))
                    smooth = _line(plot, pg.mkPen(spec.color, width=1))
                self._raw_curves[spec.key] = raw
                self._smooth_curves[spec.key] = smooth
                self._plot_of[spec.key] = plot
                self.series[spec.key] = self._new_series(spec.key)
            cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((150, 150, 150), width=1))
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
            self._cursor_lines.append(cursor)
            plot.getViewBox().sigRangeChangedManually.connect(self._on_zoomed_by_hand)
            self.plots[name] = plot
        self._add_other_plot(first)
        self._show_quality_kind("points")
        top_view = self.plots[PLOTS[0][0]].getViewBox()
        top_view.sigRangeChanged.connect(self._place_event_labels)
        top_view.sigResized.connect(self._place_event_labels)
        top_view.sigXRangeChanged.connect(self._on_view_changed)
        top_view.sigResized.connect(self._on_view_changed)
        self.overlay_curves = OverlayCurves(
            self.workspace,
            self.plots,
            # Overlaid runs share the left axes: a right-axis quantity is not overlaid.
            [
                (name, [spec.key for spec in curves if not spec.right_axis])
                for name, _, curves in PLOTS
            ],
            series_of,
            lambda: self._weight,
            self._shown_steps,
        )
        self.run_legend = RunLegend(self.workspace)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.run_legend)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.readout)

        self.smoothing_slider.valueChanged.connect(self._on_smoothing_changed)
        self._smoothing_timer = QTimer(self, singleShot=True, interval=SMOOTHING_PAUSE_MS)
        self._smoothing_timer.timeout.connect(self._smooth_in_background)
        self._smoother = LatestOnly(self, own_thread=True)
        self._smoother.finished.connect(self._on_smoothed)
        self.raw_check.toggled.connect(self._on_raw_toggled)
        self.log_check.toggled.connect(self._on_log_toggled)
        self.follow_check.toggled.connect(self._on_follow_toggled)
        self._mouse_proxy = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)
        # The step being inspected when a run is scrubbed: a solid line on every plot.
        self._step_lines: list[pg.InfiniteLine] = []
        for plot in self.plots.values():
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen((230, 200, 60), width=1))
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self._step_lines.append(line)
        # Diagnostic findings: one item per plot shades all of that plot's step ranges.
        self._finding_bands: dict[str, StepBands] = {}
        for key, plot in self.plots.items():
            bands = StepBands(brush=(230, 60, 60, 40), pen=(230, 60, 60, 90))
            bands.setZValue(-20)
            plot.addItem(bands, ignoreBounds=True)
            self._finding_bands[key] = bands
        self._on_smoothing_changed(self.smoothing_slider.value())
        self.workspace.run_changed.connect(self._on_run_changed)
        self.workspace.run_extended.connect(self._on_run_extended)
        self.workspace.step_changed.connect(self.set_step_cursor)
        self.workspace.findings_changed.connect(self.set_findings)
        self.step_clicked.connect(self.workspace.scrub_to)
        self.workspace.shown_visible_changed.connect(self._on_shown_visible_changed)

    # ------------------------------------------------------------------ the workspace
    def _on_run_changed(self, _run: RunInfo | None) -> None:
        """Another run (or none): its curves so far replace the last run's."""
        self.clear()
        run = self.workspace.run
        self._show_quality_kind("images" if run is not None and run.is_image else "points")
        self.add_records(self.workspace.records)
        self.add_events(self.workspace.events)
        self.redraw()  # a whole run arrived at once: drawn now, not at the next live tick

    def _on_run_extended(self, delta: RunDelta) -> None:
        if delta.restarted:  # the run's files were rewritten: its curves are drawn anew
            following = self.follow_check.isChecked()
            self._on_run_changed(self.workspace.run)
            self.follow_check.setChecked(following)
            self.set_step_cursor(self.workspace.step)
            return
        self.add_records(delta.records)
        self.add_events(delta.events)

    # ------------------------------------------------------------------ data in
    def add_records(self, records: list[dict[str, Any]] | RecordColumns) -> None:
        """Append metric records (dicts with 'step' and any metrics, or columns of them) and
        redraw what changed. Whole curves are copied at once: 10^6 records cost milliseconds."""
        if not records:
            return
        columns = as_columns(records)
        self._add_other_curves(columns)
        points = {}
        for key in self.series:
            steps, values = drawable_points(*series_of(columns, key))
            if len(steps):
                points[key] = (steps, values)
        # Only the new points are read: appended to the columns, smoothed and taken into the
        # pyramids; curves recorded at the same steps share one step column.
        extend_sharing_steps(self.series, points, STEP_DTYPE)
        changed = list(points)
        if changed:
            self._fit_rows()
        self._dirty.update(changed)
        if not self._redraw_timer.isActive():
            # New points are drawn at once, then not again until the timer runs out: a
            # followed run's poll shows at the poll, and live training is drawn REDRAW_HZ.
            self._redraw_if_it_shows()
            self._redraw_timer.start(self._redraw_interval_ms())

    def _on_cooled_down(self) -> None:
        if self._dirty:
            self._redraw_if_it_shows()
            self._redraw_timer.start(self._redraw_interval_ms())

    def _redraw_if_it_shows(self) -> None:
        """Redraw, unless the points that came since the last draw stay within one pixel
        column and that draw is under SLOW_REDRAW_S old (they wait for a later tick)."""
        low, high, pixels = self._shown_steps()
        steps_per_column = (high - low) / pixels if high > low else 0.0
        recent = time.monotonic() - self._drawn_at < SLOW_REDRAW_S
        if recent and self._last_step() - self._drawn_until < steps_per_column:
            return
        self.redraw()

    def _last_step(self) -> float:
        """The largest step of any curve's last point (0 with none)."""
        ends = (s.steps[s.count - 1] for s in self.series.values() if s.count)
        return float(max(ends, default=0))

    def _redraw_interval_ms(self) -> int:
        """1/REDRAW_HZ: a draw costs what the view shows, however long the curves."""
        return round(1000.0 / REDRAW_HZ)

    def redraw(self) -> None:
        """Draw the curves that have new points (at most REDRAW_HZ, see add_records)."""
        if not self.isVisible():
            return  # drawn when shown again (showEvent)
        self._in_redraw = True
        try:
            # The ranges first: what a curve draws depends on the step range it is drawn in.
            if self.follow_check.isChecked():
                self._follow()
            for key in self._dirty:
                self._draw(key)
            self._dirty.clear()
            self._drawn_at, self._drawn_until = time.monotonic(), self._last_step()
        finally:
            self._in_redraw = False

    def _on_view_changed(self, *_: Any) -> None:
        """The step range or the width changed: every curve is drawn anew for it (at once
        within a redraw, else once the zoom pauses)."""
        self._dirty.update(key for key, series in self.series.items() if series.count)
        if self._in_redraw:
            self.overlay_curves.redraw_view()
        else:
            self._view_timer.start()

    def _on_view_settled(self) -> None:
        self.redraw()
        self.overlay_curves.redraw_view()

    def _shown_steps(self) -> tuple[float, float, float]:
        """(first step, last step, pixels) of the step range the plots show."""
        shown = [plot for plot in self.plots.values() if plot.isVisible()]
        view = (shown[0] if shown else self.plots[PLOTS[0][0]]).getViewBox()
        low, high = view.viewRange()[0]
        # Before the first layout a view has no width yet: a wide screen's is assumed.
        return float(low), float(high), float(view.width()) if view.width() > 1 else 1920.0

    def _follow(self) -> None:
        """Show all data: x from 0 to a nice step count, y rounded out to nice ticks."""
        last = self._last_step()
        extents = {name: self.overlay_curves.extents(name) for name, _, _ in PLOTS}
        last = max([last, *(extent[0] for extent in extents.values())])
        x_range = (0.0, nice_ceiling(max(last, 10.0)))
        log = self.log_check.isChecked()
        other = (OTHER_PLOT, "", tuple(CurveSpec(key, key, (0, 0, 0)) for key in self._other_keys))
        for name, _, curves in (*PLOTS, other):
            plot = self.plots[name]
            if not plot.isVisible():
                continue  # it gets its range when it is shown
            view = plot.getViewBox()
            values = [self._shown_values(spec.key) for spec in curves if not spec.right_axis]
            values += extents.get(name, (0, []))[1] if self.workspace.overlays else []
            if not values:
                continue
            from_zero = name in ("grad_norms", "learning_rates", "quality")  # never below 0
            y_range = nice_range(np.concatenate(values), log, from_zero=from_zero)
            if tuple(view.state["targetRange"][1]) != y_range:
                view.setRange(yRange=y_range, padding=0, update=False)
                view.updateViewRange()
        # The step range is set on the first plot shown only and reaches the others through
        # their link: set on a plot not laid out yet (just shown), the link would carry its
        # stale geometry back and shift every plot's steps. (The top plot may be hidden: a
        # run from elsewhere that recorded no losses.)
        shown = [plot for plot in self.plots.values() if plot.isVisible()]
        if shown and tuple(shown[0].getViewBox().state["targetRange"][0]) != x_range:
            shown[0].getViewBox().setRange(xRange=x_range, padding=0, update=False)
            shown[0].getViewBox().updateViewRange()
        self._follow_right_view(log)
        # The views' transforms for their new ranges now: left to the paint, they would mark
        # the scene changed again and the plots would be painted twice (9-16 ms more).
        for view in (*(plot.getViewBox() for plot in self.plots.values()), self._right_view):
            view.updateMatrix()

    def _follow_right_view(self, log: bool) -> None:
        """The right axis's range, as _follow sets the others' (from zero: a distance)."""
        view = self._right_view
        if not view.isVisible():
            return
        values = [self._shown_values(key) for key in self._right_keys]
        y_range = nice_range(np.concatenate(values), log, from_zero=True)
        current = view.state["targetRange"][1]
        if tuple(current) != y_range:
            view.setRange(yRange=y_range, padding=0, update=False)
            view.updateViewRange()

    def _shown_values(self, key: str) -> np.ndarray:
        """The extremes of what one curve draws (raw and smoothed, or smoothed): their range
        is the range of the whole curve."""
        series = self.series[key]
        if not self.workspace.shown_visible:
            return np.empty(0)
        smoothed = series.smoothed_extremes.as_array()
        if self.raw_check.isChecked():
            return np.concatenate([series.raw_extremes.as_array(), smoothed])
        return smoothed

    def add_events(self, events: list[dict[str, Any]]) -> None:
        top = self.plots[PLOTS[0][0]]
        for event in events:
            step = marked_step(event)
            if step is None:
                continue  # not an event the plots mark, or not at a step they can draw
            self.events.append(event)
            text = event_text(event, self._values_before(event, step))
            alarming = event["kind"] in ("nonfinite_recovery", "error")
            color = (220, 60, 60) if alarming else (120, 120, 120)
            for plot in self.plots.values():
                line = pg.InfiniteLine(
                    pos=step, angle=90, pen=pg.mkPen(color, width=1, style=Qt.DashLine)
                )
                line.setToolTip(text)
                plot.addItem(line, ignoreBounds=True)
                self._event_lines.append((plot, line))
            label = EventLabel(step, text, color)
            top.addItem(label, ignoreBounds=True)
            self._event_labels.append(label)
        self._place_event_labels()

    def _values_before(self, event: dict[str, Any], step: float) -> dict[str, float]:
        """The recorded values of the settings an event changes, as they were at its step
        (the record of that step was written before the change)."""
        before = {}
        for key in event:
            series = self.series.get(key)
            if series is None or not series.count or key in ("step", "time", "kind", "previous"):
                continue
            i = series.steps.searchsorted(step, side="right") - 1
            if i >= 0:
                before[key] = float(series.values[i])
        return before

    def _place_event_labels(self, *_: Any) -> None:
        """Put each event's label under the top plot's upper edge, beside its line: on the
        right, or on the left where the right has no room for it (near the plot's right
        edge); a line lower where it would overlap the label before it. A label wider than
        either side is cut to fit, its whole text in the tooltip."""
        view = self.plots[PLOTS[0][0]].getViewBox()
        (x0, x1), (_, top) = view.viewRange()
        width = view.width()
        if width <= 0 or x1 <= x0:
            return
        per_px = (x1 - x0) / width
        lane_ends: list[float] = []  # the right end (px) of the last label in each lane
        for label in sorted(self._event_labels, key=lambda item: item.step):
            at = (label.step - x0) / per_px  # px from the view's left edge
            right_room, left_room = width - at - EVENT_LABEL_GAP, at - EVENT_LABEL_GAP
            label.fit(max(right_room, left_room))
            wide = label.boundingRect().width()
            right_side = wide <= right_room or right_room >= left_room
            left = at + EVENT_LABEL_GAP if right_side else at - EVENT_LABEL_GAP - wide
            free = [i for i, end in enumerate(lane_ends) if end <= left]
            lane = free[0] if free else min(len(lane_ends), MAX_EVENT_LANES - 1)
            if lane == len(lane_ends):
                lane_ends.append(left + wide)
            else:
                lane_ends[lane] = max(lane_ends[lane], left + wide)
            # The anchor is in units of the label's size: a y of -lane puts it lane lines down.
            label.setAnchor((0, -lane) if right_side else (1, -lane))
            gap = EVENT_LABEL_GAP * per_px * (1 if right_side else -1)
            label.setPos(label.step + gap, top)

    def event_labels(self) -> list[EventLabel]:
        """The labels of the events marked (on the top plot)."""
        return list(self._event_labels)

    def set_findings(self, findings: list[Finding]) -> None:
        """Shade each diagnostic finding's step range on the plot of its evidence."""
        ranges: dict[str, list[tuple[float, float]]] = {key: [] for key in self._finding_bands}
        tips: dict[str, list[str]] = {key: [] for key in self._finding_bands}
        for finding in findings:
            key = FINDING_PLOTS.get(finding.kind, "losses")
            ranges[key].append((finding.first_step, finding.last_step))
            tips[key].append(finding.describe())
        for key, bands in self._finding_bands.items():
            bands.set_spans(ranges[key], tips[key])

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.redraw()

    def clear(self) -> None:
        self._dirty.clear()
        self._drawn_at = self._drawn_until = -math.inf
        self._remove_other_curves()
        for key in self.series:
            self.series[key] = self._new_series(key)
            self._raw_curves[key].setData([], [])
            self._smooth_curves[key].setData([], [])
        for plot, line in self._event_lines:
            plot.removeItem(line)
        self._event_lines.clear()
        for label in self._event_labels:
            self.plots[PLOTS[0][0]].removeItem(label)
        self._event_labels.clear()
        self.set_findings([])
        self.events.clear()
        self.set_step_cursor(None)
        self.follow_check.setChecked(True)
        self._fit_rows()

    def set_step_cursor(self, step: float | None) -> None:
        """Mark the inspected step on every plot (None removes the mark)."""
        for line in self._step_lines:
            line.setVisible(step is not None)
            if step is not None:
                line.setPos(step)

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        for plot in self.plots.values():
            if plot.sceneBoundingRect().contains(event.scenePos()):
                self.step_clicked.emit(plot.getViewBox().mapSceneToView(event.scenePos()).x())
                return

    # ------------------------------------------------------------------ what is drawn
    def drawn_curve(self, key: str, smoothed: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of a curve as drawn (the smoothed or the faint raw one)."""
        curves = self._smooth_curves if smoothed else self._raw_curves
        x, y = curves[key].getData()
        return (np.asarray([]), np.asarray([])) if x is None else (x, y)

    def step_cursor(self) -> float | None:
        """The step marked on every plot, or None when none is."""
        line = self._step_lines[0]
        return float(line.value()) if line.isVisible() else None

    def shaded_ranges(self) -> list[tuple[float, float]]:
        """The step ranges shaded for diagnostic findings."""
        return [span for bands in self._finding_bands.values() for span in bands.spans()]

    def marker_count(self) -> int:
        """Dashed event markers drawn, over all plots."""
        return len(self._event_lines)

    def points_drawn(self, key: str) -> int:
        """Points of one quantity its curve draws (a decimated view of them)."""
        return 0 if key in self._dirty else self.series[key].count

    def point_count(self) -> int:
        return sum(s.count for s in self.series.values())

    # ------------------------------------------------------------------ the quality row
    def _add_right_axis_curves(
        self, plot: pg.PlotItem, spec: CurveSpec
    ) -> tuple[pg.PlotCurveItem, pg.PlotCurveItem]:
        """A curve on a scale of its own: a second view over the plot's, read on its right
        axis (pyqtgraph's two-axes pattern). It lies under the plot's own view, so that the
        mouse still zooms, pans and clicks that one."""
        view = pg.ViewBox(enableMenu=False)
        view.setMouseEnabled(x=False, y=False)
        view.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        view.setZValue(-100)
        plot.scene().addItem(view)
        view.setXLink(plot)
        view.disableAutoRange()  # "follow latest" sets its range too
        axis = plot.getAxis("right")
        axis.linkToView(view)
        axis.enableAutoSIPrefix(False)
        axis.setWidth(RIGHT_AXIS_WIDTH)
        own = plot.getViewBox()

        def follow_geometry() -> None:
            view.setGeometry(own.sceneBoundingRect())

        own.sigResized.connect(follow_geometry)
        own.geometryChanged.connect(follow_geometry)
        plot.geometryChanged.connect(follow_geometry)
        curves = []
        for pen in (pg.mkPen((*spec.color, 70), width=1), pg.mkPen(spec.color, width=1)):
            curves.append(_line(view, pen))
        self._right_view, self._right_keys = view, [spec.key]
        return curves[0], curves[1]

    def _show_quality_kind(self, kind: str) -> None:
        """Name the quality row's quantities for a 2D ("points") or an image run ("images"),
        and show the right axis (and every row's room for it) where that kind has one."""
        if kind == self._quality_kind:
            return
        self._quality_kind = kind
        title, _, right_key = QUALITY_LEGENDS[kind]
        plot = self.plots["quality"]
        plot.setLabel("left", _colored_title(title, self.quality_curves(left_only=True)))
        axis = plot.getAxis("right")
        if right_key is None:
            plot.hideAxis("right")
        else:
            spec = next(s for s in PLOTS[-1][2] if s.key == right_key)
            plot.showAxis("right")
            color = "#{:02x}{:02x}{:02x}".format(*spec.color)
            axis.setLabel(f"<span style='color:{color}'>Fréchet distance</span>")
        room = axis.maximumWidth() if right_key is not None else 0
        for other in self.plots.values():
            if other is not plot:
                other.layout.setColumnFixedWidth(2, room)
        self._right_view.setVisible(self._has_right_axis() and plot.isVisible())

    def _has_right_axis(self) -> bool:
        return bool(self._quality_kind) and QUALITY_LEGENDS[self._quality_kind][2] is not None

    def quality_curves(self, left_only: bool = False) -> tuple[CurveSpec, ...]:
        """The quality row's quantities for the kind of run shown, as its legend names them."""
        _, keys, right_key = QUALITY_LEGENDS[self._quality_kind]
        specs = {spec.key: spec for spec in PLOTS[-1][2]}
        labels = QUALITY_LABELS.get(self._quality_kind, {})
        named = [
            CurveSpec(key, labels.get(key, specs[key].label), specs[key].color) for key in keys
        ]
        if right_key is not None and not left_only:
            named.append(specs[right_key])
        return tuple(named)

    def quality_legend(self) -> tuple[str, str]:
        """The quality row's axis titles as shown (left, right; "" where hidden), as plain
        text."""
        plot = self.plots["quality"]
        right = plot.getAxis("right")
        texts = [plot.getAxis("left").labelText, right.labelText if right.isVisible() else ""]
        return tuple(re.sub("<[^>]+>", "", text) for text in texts)

    # ------------------------------------------------------------------ other scalars
    def _add_other_plot(self, first: pg.PlotItem) -> None:
        """A last plot, shown once a run records a scalar the plots above do not draw."""
        plot = self.graphics.addPlot(
            enableMenu=False, row=len(PLOTS), col=0, axisItems={"left": CompactAxis("left")}
        )
        plot.setObjectName(OTHER_PLOT)
        plot.setLabel("left", "Other")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.getAxis("left").setWidth(64)
        plot.disableAutoRange()
        plot.setXLink(first)
        plot.setLabel("bottom", "step")
        plot.getViewBox().sigRangeChangedManually.connect(self._on_zoomed_by_hand)
        self.other_legend = plot.addLegend(offset=(-10, 5), labelTextSize="8pt")
        self.plots[OTHER_PLOT] = plot
        self._other_keys: list[str] = []
        self._other_left_out: list[str] = []
        self._show_other_plot(False)

    def _show_other_plot(self, shown: bool) -> None:
        self.plots[OTHER_PLOT].setVisible(shown)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """A run from elsewhere (a folder, a log) shows only the plots it recorded something
        for (its own loop may log no gradient norms or learning rates); the run trained here
        shows them all from its start. The step axis is drawn once, under the lowest plot."""
        run = self.workspace.run
        every_row = run is None or run.source == "trainer"
        for name, _, curves in PLOTS:
            recorded = any(self.series[spec.key].count for spec in curves)
            self.plots[name].setVisible(every_row or recorded or not self._any_recorded())
        self._right_view.setVisible(self._has_right_axis() and self.plots["quality"].isVisible())
        shown = [plot for plot in self.plots.values() if plot.isVisible()]
        for plot in self.plots.values():
            # Only changes are made: setting a label lays the axis out anew (0.6 ms a row).
            bottom = plot.getAxis("bottom")
            if shown and plot is shown[-1]:
                if not bottom.isVisible() or bottom.labelText != "step":
                    plot.showAxis("bottom")
                    plot.setLabel("bottom", "step")
            elif bottom.isVisible():
                plot.hideAxis("bottom")

    def _any_recorded(self) -> bool:
        return any(series.count for series in self.series.values())

    def _add_other_curves(self, columns: RecordColumns) -> None:
        plotted = set(self.series) | NOT_PLOTTED | set(self._other_left_out)
        new = [key for key in columns.quantities() if key not in plotted]
        if not new:
            return
        plot = self.plots[OTHER_PLOT]
        for key in new:
            if len(self._other_keys) >= MAX_OTHER_CURVES:
                self._other_left_out.append(key)
                continue
            color = OTHER_COLORS[len(self._other_keys) % len(OTHER_COLORS)]
            self._raw_curves[key] = _line(plot, pg.mkPen((*color, 70), width=1))
            self._smooth_curves[key] = _line(plot, pg.mkPen(color, width=1))
            self.other_legend.addItem(self._smooth_curves[key], key)
            self._plot_of[key] = plot
            self.series[key] = self._new_series(key)
            self._other_keys.append(key)
        if self._other_left_out:
            plot.setTitle(
                f"{len(self._other_left_out)} more not drawn (File > Export > Metrics as CSV): "
                + ", ".join(self._other_left_out[:4]),
                size="8pt",
            )
        self._show_other_plot(True)

    def _remove_other_curves(self) -> None:
        plot = self.plots[OTHER_PLOT]
        for key in self._other_keys:
            plot.removeItem(self._raw_curves.pop(key))
            plot.removeItem(self._smooth_curves.pop(key))
            del self.series[key], self._plot_of[key]
        self.other_legend.clear()
        plot.setTitle(None)
        self._other_keys, self._other_left_out = [], []
        self._show_other_plot(False)

    @property
    def other_keys(self) -> list[str]:
        """The other scalars drawn in the last plot."""
        return list(self._other_keys)

    def _on_shown_visible_changed(self, visible: bool) -> None:
        for key in self.series:
            self._smooth_curves[key].setVisible(visible)
            self._raw_curves[key].setVisible(visible and self.raw_check.isChecked())
        if self.follow_check.isChecked():
            self._follow()

    # ------------------------------------------------------------------ drawing
    def _new_series(self, key: str) -> CurveSeries:
        return CurveSeries(is_smoothed(key), self._weight)

    def _draw(self, key: str) -> None:
        """Hand the curve what the view shows: about two points per pixel column."""
        series = self.series[key]
        # A setting's faint raw curve would lie exactly under its line: it is not drawn.
        raw = self.raw_check.isChecked() and series.smoothed_quantity
        steps, values, smoothed = series.drawn(*self._shown_steps(), raw=raw)
        if self.log_check.isChecked():  # the curves are plain lines: log scales are ours
            smoothed = _log10(smoothed)
            values = None if values is None else _log10(values)
        # connect="finite": on a log scale a value at or below zero is a gap, not a line.
        if raw:
            self._raw_curves[key].setData(steps, values, connect="finite")
        self._smooth_curves[key].setData(steps, smoothed, connect="finite")

    def _on_smoothing_changed(self, value: int) -> None:
        self._weight = value / 100.0
        self.smoothing_label.setText(f"{self._weight:.2f}")
        held = sum(s.count for s in self.series.values() if s.smoothed_quantity)
        if held > SYNC_SMOOTHING_POINTS:
            self._smoothing_timer.start()  # restarted by every notch: once the drag pauses
            return
        for key, series in self.series.items():
            series.smooth(self._weight)
            if series.count:
                self._draw(key)
        self.overlay_curves.redraw()

    def _smooth_in_background(self) -> None:
        """Re-smooth a long run's curves off the GUI thread (a pass over every point: 0.2 s
        at 10^6 points a curve); they are drawn with the new weight when it is done."""
        weight = self._weight
        jobs = [
            (key, series, series.count)
            for key, series in self.series.items()
            if series.smoothed_quantity and series.count and series.weight != weight
        ]

        def run() -> tuple[float, list[tuple[str, CurveSeries, Smoothing]]]:
            return weight, [(k, s, s.smoothing(weight, count)) for k, s, count in jobs]

        self._smoother.submit(run)

    def _on_smoothed(self, result: Any, error: str) -> None:
        if error or result is None:
            return
        weight, smoothed = result
        if weight != self._weight:
            return  # the slider moved on: a newer pass is coming
        for key, series, smoothing in smoothed:
            if self.series.get(key) is series:  # not a curve cleared meanwhile
                series.use_smoothing(smoothing)
                self._dirty.add(key)
        self.redraw()
        self.overlay_curves.redraw()

    def _on_raw_toggled(self, shown: bool) -> None:
        for key, curve in self._raw_curves.items():
            curve.setVisible(shown)
            if shown:
                self._draw(key)

    def _on_log_toggled(self, log: bool) -> None:
        for plot in self.plots.values():
            plot.setLogMode(y=log)  # the axes; the curves are drawn in log10 by _draw
        for key, series in self.series.items():
            if series.count:
                self._draw(key)
        if self.follow_check.isChecked():
            self._follow()

    def _on_follow_toggled(self, follow: bool) -> None:
        if follow:
            self._follow()

    def _on_zoomed_by_hand(self, *_: Any) -> None:
        self.follow_check.setChecked(False)

    # ------------------------------------------------------------------ hover read-out
    def _on_mouse_moved(self, event: tuple) -> None:
        position = event[0]
        for name, plot in self.plots.items():
            if plot.sceneBoundingRect().contains(position):
                step = plot.getViewBox().mapSceneToView(position).x()
                self.show_readout(name, step)
                return
        for line in self._cursor_lines:
            line.hide()

    def show_readout(self, plot_name: str, step: float) -> str:
        """Values of the plot's curves at the recorded step nearest `step`; returns the text."""
        if plot_name == OTHER_PLOT:
            curves = tuple(
                CurveSpec(key, key, OTHER_COLORS[i % len(OTHER_COLORS)])
                for i, key in enumerate(self._other_keys)
            )
        elif plot_name == "quality":
            curves = self.quality_curves()
        else:
            curves = next(c for n, _, c in PLOTS if n == plot_name)
        parts = []
        nearest_step = None
        for spec in curves:
            series = self.series[spec.key]
            if not series.count:
                continue
            # The nearest record's own values (not a decimated bucket's extremes).
            i = series.nearest(step)
            nearest_step = series.steps[i]
            color = "#{:02x}{:02x}{:02x}".format(*spec.color)
            exact = series.smoothed_values(i, i + 1)[0]
            smoothed = f" (smoothed {exact:.4g})" if series.smoothed_quantity else ""
            parts.append(
                f"<span style='color:{color}'>{spec.label}</span> {series.values[i]:.4g}{smoothed}"
            )
        if nearest_step is None:
            self.readout.setText("")
            return ""
        for line in self._cursor_lines:
            line.setPos(nearest_step)
            line.show()
        text = f"step {int(nearest_step):,}: " + " &nbsp; ".join(parts)
        self.readout.setText(text)
        return text


def _line(parent: pg.PlotItem | pg.ViewBox, pen) -> pg.PlotCurveItem:
    """A curve handed points already decimated to the view: a plain `PlotCurveItem`, whose
    setData costs a ninth of a `PlotDataItem`'s (no downsampling, clipping or log mode of
    its own to run again over what the decimation drew)."""
    curve = pg.PlotCurveItem(pen=pen)
    parent.addItem(curve)
    return curve


def _log10(values: np.ndarray) -> np.ndarray:
    """log10 of what a curve draws on a log scale; a value at or below zero is a gap (NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(values > 0, np.log10(values), np.nan)


def series_of(columns: RecordColumns, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one drawn quantity (coverage is computed from its counts)."""
    return coverage(columns) if key == "coverage" else columns.series(key)


def drawable_points(steps: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """The points of a curve the plots can draw: steps and values as flat arrays of one
    length, both finite. Sources hand over checked records; this is the plots' own guard, so
    that nothing of another shape or type ever reaches pyqtgraph."""
    empty = (np.empty(0), np.empty(0))
    try:
        steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        return empty
    if steps.ndim != 1 or steps.shape != values.shape:
        return empty
    finite = np.isfinite(steps) & np.isfinite(values)
    return (steps, values) if finite.all() else (steps[finite], values[finite])


def marked_step(event: Any) -> float | None:
    """The step at which an event is marked: a dict of a kind the plots mark, at a finite
    step; None for anything else."""
    if not isinstance(event, dict):
        return None
    kind, step = event.get("kind"), event.get("step")
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        return None
    if isinstance(step, bool) or not isinstance(step, (int, float)):
        return None
    try:
        step = float(step)
    except OverflowError:  # an integer beyond any float
        return None
    return step if math.isfinite(step) else None


def coverage(columns: RecordColumns) -> tuple[np.ndarray, np.ndarray]:
    """(steps, share of modes (2D) or classes (images) covered) of the records measuring it."""
    steps, shares = [], []
    for covered, total in (("modes_covered", "modes_total"), ("classes_covered", "classes_total")):
        count, of = columns.column(covered), columns.column(total)
        measured = np.isfinite(count) & np.isfinite(of) & (of > 0)
        if measured.any():
            steps.append(columns.steps[measured])
            shares.append(count[measured] / of[measured])
    if not steps:
        return np.empty(0), np.empty(0)
    steps_all, shares_all = np.concatenate(steps), np.concatenate(shares)
    order = np.argsort(steps_all, kind="stable")
    return steps_all[order], shares_all[order]


def _colored_title(title: str, curves: tuple[CurveSpec, ...]) -> str:
    """An axis title naming each curve in its colour (instead of legends, which are several
    Python items per plot to paint on every frame)."""
    names = " ".join(
        f"<span style='color:#{c.color[0]:02x}{c.color[1]:02x}{c.color[2]:02x}'>{c.label}</span>"
        for c in curves
    )
    return f"{title}: {names}"
