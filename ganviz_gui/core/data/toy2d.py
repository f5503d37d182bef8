"""2D toy distributions, generated in code, and a user's own 2D points.

The mixtures follow the papers that made them benchmarks, so `modes_covered` and
`high_quality` mean what they mean there: ring8 is the Unrolled GAN ring (8 Gaussians on a
circle of radius 2, std 0.02), grid25 the PacGAN / VEEGAN grid (5x5 Gaussians 2 apart, std 0.05).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import torch

from ganviz_gui.core.data.array_file import load_numeric
from ganviz_gui.core.data.dataset import Dataset
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.regular_files import open_regular

RING8_RADIUS = 2.0
RING8_STD = 0.02
GRID25_SPACING = 2.0
GRID25_STD = 0.05


def ring8_centers() -> np.ndarray:
    angles = np.arange(8) * (2 * np.pi / 8)
    return RING8_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid25_centers() -> np.ndarray:
    ticks = (np.arange(5) - 2) * GRID25_SPACING
    xs, ys = np.meshgrid(ticks, ticks, indexing="xy")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def make_toy(name: str, n: int, seed: int) -> Dataset:
    """Draw `n` points of the named distribution, reproducibly from `seed`."""
    rng = np.random.default_rng(seed)
    centers: np.ndarray | None = None
    std: float | None = None
    if name in ("ring8", "grid25"):
        centers = ring8_centers() if name == "ring8" else grid25_centers()
        std = RING8_STD if name == "ring8" else GRID25_STD
        which = rng.integers(len(centers), size=n)
        points = centers[which] + rng.normal(scale=std, size=(n, 2))
    elif name == "spiral":
        # Two interleaved arms, as in the classic two-spirals problem, within about [-2, 2].
        t = np.sqrt(rng.uniform(size=n)) * 3 * np.pi
        arm = rng.integers(2, size=n)
        angle = t + np.pi * arm
        radius = t / (1.5 * np.pi)
        points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
        points += rng.normal(scale=0.04, size=(n, 2))
    elif name == "moons":
        # scikit-learn's make_moons, centred on the origin and scaled by 1.5.
        t = rng.uniform(0, np.pi, size=n)
        upper = rng.integers(2, size=n).astype(bool)
        x = np.where(upper, np.cos(t), 1 - np.cos(t))
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
        points = 1.5 * (np.stack([x - 0.5, y - 0.25], axis=1))
        points += rng.normal(scale=0.05, size=(n, 2))
    elif name == "swissroll":
        # The 2D swiss roll (x, z of scikit-learn's make_swiss_roll), scaled into about [-2.5, 2.5].
        t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
        points = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 5.0
        points += rng.normal(scale=0.05, size=(n, 2))
    elif name == "circle":
        angle = rng.uniform(0, 2 * np.pi, size=n)
        points = RING8_RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        points += rng.normal(scale=RING8_STD, size=(n, 2))
    else:
        raise DataError(f"unknown 2D distribution {name!r}")
    return Dataset(
        name=name,
        data=torch.from_numpy(points.astype(np.float32)),
        source=f"generated ({name}, seed {seed})",
        mode_centers=centers,
        mode_std=std,
    )


def load_points(path: str | Path) -> Dataset:
    """A user's own 2D points: a CSV with two numeric columns (header optional) or an (N, 2) .npy."""
    path = Path(path)
    if not os.path.lexists(path):
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        with open_regular(path) as handle:
            points = load_numeric(handle, path)
        if not isinstance(points, np.ndarray):
            raise DataError(f"{path}: an .npz archive; points must be one .npy array")
    elif suffix in (".csv", ".txt"):
        points = _read_points_csv(path)
    else:
        raise DataError(f"{path}: points must be a .csv or .npy file")
    if points.dtype.kind not in "iuf":
        raise DataError(f"{path}: expected numbers, found {points.dtype}")
    if points.ndim != 2 or points.shape[1] != 2:
        raise DataError(f"{path}: expected N rows of 2 values, got shape {points.shape}")
    if len(points) < 2:
        raise DataError(f"{path}: needs at least 2 points, found {len(points)}")
    points = points.astype(np.float32)
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points)).any(axis=1).sum())
        raise DataError(f"{path}: {bad} row(s) hold NaN or infinite values")
    return Dataset(name="points", data=torch.from_numpy(points), source=str(path))


def _read_points_csv(path: Path) -> np.ndarray:
    rows: list[list[float]] = []
    try:
        with io.TextIOWrapper(open_regular(path), newline="", encoding="utf-8-sig") as handle:
            for line_number, row in enumerate(csv.reader(handle), start=1):
                cells = [c.strip() for c in row if c.strip()]
                if not cells:
                    continue
                try:
                    values = [float(c) for c in cells]
                except ValueError:
                    if not rows and line_number == 1:
                        continue  # a header line
                    raise DataError(f"{path}, line {line_number}: not a number in {row}") from None
                if len(values) != 2:
                    raise DataError(
                        f"{path}, line {line_number}: expected 2 values (x, y), got {len(values)}"
                    )
                rows.append(values)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None
    except csv.Error as exc:  # a field longer than csv's limit, a NUL byte
        raise DataError(f"{path}: not a CSV file of points ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)
