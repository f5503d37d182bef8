"""Exponential smoothing of a metric curve, debiased at the start as TensorBoard does it.

TensorBoard's scalar smoothing starts its moving average at zero and divides by the weight
mass seen so far, so the first points are not dragged towards zero. Non-finite values (a
refused update's NaN) are skipped: the smoothed curve holds its last value through them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 64  # points smoothed per matrix product; the carry between blocks is a short loop


@dataclass
class SmoothingState:
    """Where an EMA left off, so appending points costs only the new points."""

    accumulator: float = 0.0  # the undebiased moving average
    mass: float = 0.0  # 1 - weight**count: how much weight real points hold so far


def ema_smooth(
    values: np.ndarray, weight: float, state: SmoothingState | None = None
) -> tuple[np.ndarray, SmoothingState]:
    """Smooth `values` continuing from `state`; return the smoothed points and the new state.

    weight 0 returns the values unchanged; weight 0.99 averages over about 100 points.
    """
    values = np.asarray(values, dtype=np.float64)
    state = SmoothingState() if state is None else SmoothingState(state.accumulator, state.mass)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    if values.size == 0:
        return values.copy(), state
    finite = np.isfinite(values)
    if weight == 0.0:
        out = values.copy()
        _hold_through_gaps(out, finite, state.accumulator if state.mass else np.nan)
        last = out[finite][-1] if finite.any() else state.accumulator
        return out, SmoothingState(float(last), 1.0 if finite.any() or state.mass else 0.0)

    # Points that are not finite contribute nothing and leave the average where it was.
    x = np.where(finite, values, 0.0)
    w_in = np.where(finite, 1.0 - weight, 0.0)  # each point's share, 0 for skipped points
    decay = np.where(finite, weight, 1.0)
    accumulated = np.empty_like(x)
    mass = np.empty_like(x)
    acc, m = state.accumulator, state.mass
    # Short enough blocks that weight**block stays far from float64 underflow.
    block = max(1, min(BLOCK, int(600 / -np.log(weight))))
    for start in range(0, x.size, block):
        stop = min(start + block, x.size)
        d = decay[start:stop]
        # Within a block: acc_k = D_k * acc_in + sum_j (D_k / D_j) * w_j * x_j, D = cumprod(d).
        cum = np.cumprod(d)
        ratio = np.tril(cum[:, None] / cum[None, :])
        accumulated[start:stop] = cum * acc + ratio @ (w_in[start:stop] * x[start:stop])
        mass[start:stop] = cum * m + ratio @ w_in[start:stop]
        acc, m = accumulated[stop - 1], mass[stop - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mass > 0, accumulated / mass, np.nan)
    return out, SmoothingState(float(acc), float(m))


def _hold_through_gaps(out: np.ndarray, finite: np.ndarray, previous: float) -> None:
    """Replace non-finite entries with the last finite value before them (in place)."""
    if finite.all():
        return
    index = np.where(finite, np.arange(out.size), -1)
    np.maximum.accumulate(index, out=index)
    held = np.where(index >= 0, out[np.maximum(index, 0)], previous)
    out[:] = held
