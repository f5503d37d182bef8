"""Shaded step ranges that span a plot's height, all drawn by one graphics item.

A long run's diagnostics can find a hundred ranges; as one `LinearRegionItem` each (an item
with two lines, their pens and bounds) they cost the GUI thread more to paint than the curves
do. One item paints them all as one path, built when the ranges change, and merges the
overlapping ones so that a range found twice is not shaded twice as dark.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainterPath


class StepBands(pg.GraphicsObject):
    """Ranges of steps shaded across the whole height of the view, each with a tooltip."""

    def __init__(self, brush: tuple[int, ...], pen: tuple[int, ...]):
        super().__init__()
        self._brush = pg.mkBrush(*brush)
        self._pen = pg.mkPen(*pen)
        self._pen.setCosmetic(True)
        self._spans = np.empty((0, 2))  # (first, last) step of each range, as given
        self._merged = np.empty((0, 2))  # the union of the ranges, sorted: what is drawn
        self._tips: list[str] = []
        # The bands as rectangles from y 0 to 1 and their edges, built once per set of spans:
        # a paint scales them to the view's height instead of building them again.
        self._fill = QPainterPath()
        self._edges = QPainterPath()
        self.setAcceptHoverEvents(True)

    def set_spans(self, spans: list[tuple[float, float]], tips: list[str]) -> None:
        """Replace the ranges; a range narrower than one step is widened to one."""
        array = np.asarray(spans, dtype=float).reshape(-1, 2)
        array[:, 1] = np.maximum(array[:, 1], array[:, 0] + 1)
        if np.array_equal(array, self._spans) and tips == self._tips:
            return  # the diagnostics found the same again: nothing to repaint
        self.prepareGeometryChange()
        self._spans, self._tips = array, list(tips)
        self._merged = _union(array)
        self._fill, self._edges = QPainterPath(), QPainterPath()
        for first, last in self._merged:
            self._fill.addRect(QRectF(first, 0.0, last - first, 1.0))
            for x in (first, last):
                self._edges.moveTo(x, 0.0)
                self._edges.lineTo(x, 1.0)
        self.update()

    def spans(self) -> list[tuple[float, float]]:
        return [(float(a), float(b)) for a, b in self._spans]

    def tip_at(self, step: float) -> str:
        """The descriptions of every range holding `step`, one per paragraph."""
        inside = (self._spans[:, 0] <= step) & (step <= self._spans[:, 1])
        return "\n\n".join(self._tips[i] for i in np.flatnonzero(inside))

    # ------------------------------------------------------------------ QGraphicsItem
    def boundingRect(self) -> QRectF:
        view = self.viewRect()
        if view is None or not len(self._merged):
            return QRectF()
        first, last = self._merged[0, 0], self._merged[-1, 1]
        return QRectF(first, view.top(), last - first, view.height())

    def viewRangeChanged(self) -> None:
        # The bands span the view's height, so their bounds move with the view.
        self.prepareGeometryChange()

    def paint(self, painter, *args) -> None:
        view = self.viewRect()
        if view is None or not len(self._merged):
            return
        painter.save()
        painter.translate(0.0, view.top())
        painter.scale(1.0, view.height())
        painter.setPen(Qt.NoPen)
        painter.setBrush(self._brush)
        painter.drawPath(self._fill)
        painter.setBrush(Qt.NoBrush)
        painter.setPen(self._pen)  # cosmetic: one pixel wide whatever the scale
        painter.drawPath(self._edges)
        painter.restore()

    def hoverEvent(self, event) -> None:
        self.setToolTip("" if event.isExit() else self.tip_at(event.pos().x()))


def _union(spans: np.ndarray) -> np.ndarray:
    """The sorted union of closed intervals, as disjoint (first, last) rows."""
    if not len(spans):
        return spans
    ordered = spans[np.argsort(spans[:, 0], kind="stable")]
    # A row starts a new band where it begins after every earlier row has ended.
    reach = np.maximum.accumulate(ordered[:, 1])
    starts = np.ones(len(ordered), dtype=bool)
    starts[1:] = ordered[1:, 0] > reach[:-1]
    begin = np.flatnonzero(starts)
    end = np.append(begin[1:], len(ordered)) - 1
    return np.column_stack([ordered[begin, 0], reach[end]])
