"""The explorer's picture of a 2D generator: the latent plane as a lattice, and its image under
G as a deformed mesh in data space (GAN Lab's "generator's transformation").

The left view shows the plane in (u, v): rows of constant v in one colour, columns of constant
u in another, the cursor's cross in yellow. The right view shows the same lines mapped through
G, over the real data in grey, with G(cursor) and the images of the cursor's cross in yellow
and an interpolation's path in green. Folds and pinches of the mesh show where G stretches or
collapses the plane; rows bunching onto one blob is mode collapse seen from the latent side.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

ROW_PEN = pg.mkPen((90, 170, 255), width=1)  # lines of constant v
COLUMN_PEN = pg.mkPen((255, 150, 70), width=1)  # lines of constant u
CURSOR_PEN = pg.mkPen((255, 230, 0), width=2)
PATH_PEN = pg.mkPen((90, 220, 110), width=2)
REAL_BRUSH = pg.mkBrush(200, 200, 200, 150)

SUBDIVISIONS = 8  # points decoded between two lattice lines, so the mesh's lines bend smoothly
CROSS_POINTS = 41  # points decoded along each line of the cursor's cross


def dense_size(lines: int) -> int:
    """Side of the decoded grid for a lattice of `lines` x `lines` lines."""
    return SUBDIVISIONS * (lines - 1) + 1


def polyline(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y of (L, P, 2) lines as one curve, each line ended by a NaN break."""
    count = lines.shape[0]
    padded = np.concatenate([lines, np.full((count, 1, 2), np.nan)], axis=1).reshape(-1, 2)
    return padded[:, 0], padded[:, 1]


def lattice_lines(grid: np.ndarray, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a (M, M, 2) grid, every `step`-th one: two (L, M, 2) arrays."""
    return grid[::step], grid[:, ::step].transpose(1, 0, 2)


class MeshLayers:
    """The items drawn for a 2D generator, added to the explorer's plane and sample views."""

    def __init__(self, plane_view: pg.ViewBox, data_view: pg.ViewBox):
        self.data_view = data_view
        self.plane_rows = pg.PlotCurveItem(pen=ROW_PEN, connect="finite")
        self.plane_columns = pg.PlotCurveItem(pen=COLUMN_PEN, connect="finite")
        self.plane_cross = pg.PlotCurveItem(pen=CURSOR_PEN, connect="finite")
        self.real = pg.ScatterPlotItem(size=4, pen=None, brush=REAL_BRUSH)
        self.mesh_rows = pg.PlotCurveItem(pen=ROW_PEN, connect="finite")
        self.mesh_columns = pg.PlotCurveItem(pen=COLUMN_PEN, connect="finite")
        self.cross = pg.PlotCurveItem(pen=CURSOR_PEN, connect="finite")
        self.path = pg.PlotDataItem(pen=PATH_PEN, symbol="o", symbolSize=5, symbolBrush="g")
        self.point = pg.ScatterPlotItem(
            size=12, pen=pg.mkPen("k", width=1), brush=pg.mkBrush(255, 230, 0)
        )
        self.plane_items = (self.plane_rows, self.plane_columns, self.plane_cross)
        self.data_items = (
            self.real,
            self.mesh_rows,
            self.mesh_columns,
            self.cross,
            self.path,
            self.point,
        )
        for item in self.plane_items:
            plane_view.addItem(item)
        for item in self.data_items:
            data_view.addItem(item)
        self.set_visible(False)

    def set_visible(self, shown: bool) -> None:
        for item in (*self.plane_items, *self.data_items):
            item.setVisible(shown)

    def clear(self) -> None:
        self.real.clear()
        self.path.clear()
        for item in (*self.plane_items, self.mesh_rows, self.mesh_columns, self.cross):
            item.setData([], [])
        self.point.clear()

    def set_real(self, points: np.ndarray | None) -> None:
        if points is None:
            self.real.clear()
        else:
            self.real.setData(pos=points)

    def draw_lattice(self, lines: int, extent: float) -> None:
        """The plane's own lattice in (u, v): `lines` x `lines` straight lines."""
        ticks = np.linspace(-extent, extent, lines)
        uu, vv = np.meshgrid(ticks, ticks[::-1])  # row 0 is v = +extent, as decoded
        rows, columns = lattice_lines(np.stack([uu, vv], axis=-1))
        self.plane_rows.setData(*polyline(rows), connect="finite")
        self.plane_columns.setData(*polyline(columns), connect="finite")

    def draw_mesh(self, points: np.ndarray) -> None:
        """G applied to the lattice: `points` is the (M, M, 2) grid decoded, M = dense_size."""
        rows, columns = lattice_lines(points, SUBDIVISIONS)
        self.mesh_rows.setData(*polyline(rows), connect="finite")
        self.mesh_columns.setData(*polyline(columns), connect="finite")

    def draw_cursor(self, u: float, v: float, extent: float, points: np.ndarray) -> None:
        """The cursor's cross in the plane; `points`: G(cursor), then its two lines' images."""
        cross = np.array([[[-extent, v], [extent, v]], [[u, -extent], [u, extent]]])
        self.plane_cross.setData(*polyline(cross), connect="finite")
        self.point.setData(pos=points[:1])
        images = points[1:].reshape(2, CROSS_POINTS, 2)
        self.cross.setData(*polyline(images), connect="finite")

    def draw_path(self, points: np.ndarray | None) -> None:
        if points is None:
            self.path.clear()
        else:
            self.path.setData(points[:, 0], points[:, 1])

    def fit(self) -> None:
        """Frame the real data and the mesh."""
        self.data_view.autoRange(items=[self.real, self.mesh_rows, self.mesh_columns], padding=0.05)
