"""Exponential smoothing of a metric curve, debiased at the start as TensorBoard does it.

TensorBoard's scalar smoothing starts its moving average at zero and divides by the weight
mass seen so far, so the first points are not dragged towards zero. Non-finite values (a
refused update's NaN) are skipped: the smoothed curve holds its last value through them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Points smoothed per block: within a block the EMA is a cumulative sum scaled by the decay so
# far, which must stay within float64's range (weight**-block <= 1e300). All blocks are
# computed at once as rows of a matrix; only the carry from block to block is a loop, of one
# multiply-add per block (10^6 points at weight 0.6: 740 blocks).
LARGEST_SCALE_LOG = 690.0  # ln(1e300)
MAX_BLOCK = 1 << 16
# Up to this many points (a live run's few new records), a plain loop is quicker than the
# matrices' set-up; it gives the same values.
SHORT = 32

# Quantities drawn as recorded, never smoothed: settings and counters change in steps (a
# learning-rate schedule, a live change, an EMA decay ramp), and a smoothed step is a ramp that
# never happened. Matched against each "/"-separated part of a key, so that TensorBoard tags
# ("train/lr", Lightning's "lr-Adam/pg1") are recognised too.
SETTING_NAMES = frozenset(
    {"lr", "learning_rate", "ema_decay", "decay", "momentum", "beta1", "beta2"}
    | {"step", "steps", "global_step", "epoch", "d_steps", "ema_updates", "world_size"}
)
SETTING_PREFIXES = ("lr_", "lr-", "learning_rate_")
SETTING_SUFFIXES = ("_lr", "_learning_rate", "_decay", "_momentum", "_steps", "_epoch")


@dataclass
class SmoothingState:
    """Where an EMA left off, so appending points costs only the new points."""

    accumulator: float = 0.0  # the undebiased moving average
    mass: float = 0.0  # 1 - weight**count: how much weight real points hold so far


def is_smoothed(key: str) -> bool:
    """Whether the plots smooth the metric `key`: noisy measurements (losses, D's outputs,
    gradient norms, quality scores) are; settings and step counters are drawn raw."""
    for part in key.lower().split("/"):
        if (
            part in SETTING_NAMES
            or part.startswith(SETTING_PREFIXES)
            or part.endswith(SETTING_SUFFIXES)
        ):
            return False
    return True


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

    if values.size <= SHORT:
        return _ema_loop(values, weight, state)

    # Points that are not finite contribute nothing and leave the average where it was.
    x = np.where(finite, values, 0.0)
    w_in = np.where(finite, 1.0 - weight, 0.0)  # each point's share, 0 for skipped points
    decay = np.where(finite, weight, 1.0)
    block = max(1, min(MAX_BLOCK, x.size, int(LARGEST_SCALE_LOG / -np.log(weight))))
    blocks = -(-x.size // block)
    pad = blocks * block - x.size  # padding points: no weight, no decay

    def rows(a: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([a, np.full(pad, fill)]).reshape(blocks, block)

    # Within block b: acc_k = D_k * (acc_in_b + sum_{j<=k} w_j x_j / D_j), D = decay so far.
    cum = np.cumprod(rows(decay, 1.0), axis=1)
    w = rows(w_in, 0.0)
    within_acc = cum * np.cumsum(w * rows(x, 0.0) / cum, axis=1)
    within_mass = cum * np.cumsum(w / cum, axis=1)
    acc_in, mass_in = np.empty(blocks), np.empty(blocks)
    acc, m = state.accumulator, state.mass
    for b, (decay_b, acc_b, mass_b) in enumerate(
        zip(
            cum[:, -1].tolist(),
            within_acc[:, -1].tolist(),
            within_mass[:, -1].tolist(),
            strict=True,
        )
    ):
        acc_in[b], mass_in[b] = acc, m
        acc, m = decay_b * acc + acc_b, decay_b * m + mass_b
    accumulated = (within_acc + cum * acc_in[:, None]).reshape(-1)[: x.size]
    mass = (within_mass + cum * mass_in[:, None]).reshape(-1)[: x.size]
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


def _ema_loop(
    values: np.ndarray, weight: float, state: SmoothingState
) -> tuple[np.ndarray, SmoothingState]:
    """ema_smooth of a few points (weight > 0), one at a time."""
    acc, mass = state.accumulator, state.mass
    out = []
    for value in values.tolist():
        if math.isfinite(value):
            acc = weight * acc + (1.0 - weight) * value
            mass = weight * mass + (1.0 - weight)
        out.append(acc / mass if mass > 0 else math.nan)
    return np.array(out), SmoothingState(acc, mass)
