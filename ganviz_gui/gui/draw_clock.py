"""Plot widgets that keep how long their last paint took.

A live picture's cost to training is what making it costs the training thread and what
drawing it costs the GUI thread, since both hold the GIL the training step needs; the views
send the second to the picture budget (`core.picture_budget.PictureBudget`).
"""

from __future__ import annotations

import time

import pyqtgraph as pg


class _PaintClock:
    paint_seconds = 0.0  # how long the last paint took (0 before the first)

    def paintEvent(self, event) -> None:
        started = time.perf_counter()
        super().paintEvent(event)  # type: ignore[misc]
        self.paint_seconds = time.perf_counter() - started


class TimedPlotWidget(_PaintClock, pg.PlotWidget):
    """A `pg.PlotWidget` that times its paints."""


class TimedLayoutWidget(_PaintClock, pg.GraphicsLayoutWidget):
    """A `pg.GraphicsLayoutWidget` that times its paints."""
