"""Findings from a run's recorded metrics and events: what is going wrong, where, and what
researchers commonly try.

Each detector reads the records as the run folder holds them (metrics.jsonl, events.jsonl), so
the same findings appear live, for an opened run, and from the command line. A finding names
the step range, the evidence in numbers, and the usual remedies. Detectors look for
sustained patterns (several consecutive records) so that one noisy record raises nothing.

The thresholds were set on runs recorded with the engine (`scripts/make_diagnostic_runs.py`:
a healthy 8 Gaussians run, a vanilla GAN that collapses, a D with 10x G's learning rate, a run
whose learning rates are too high) and are checked by tests on those recordings.

The records reach the detectors checked (`record_columns`: steps are whole numbers, values
floats); events are checked again here, since a live run's come straight from the trainer and
a caller may pass any: an event without a whole step from 0, or whose fields are of the wrong
type, is passed over, never an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ganviz_gui.core.record_columns import RecordColumns, as_columns, record_step

PROBABILISTIC = ("nonsaturating", "minimax")
SUSTAINED = 3  # consecutive evaluations (or records, for D's outputs) a pattern must last
WARMUP_RECORDS = 10  # records at the start where D's easy early win is not a finding


@dataclass
class Finding:
    kind: str  # mode_collapse, d_overpowering, oscillation, nonfinite
    title: str
    first_step: int
    last_step: int
    evidence: str
    advice: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        steps = (
            f"step {self.first_step:,}"
            if self.first_step == self.last_step
            else f"steps {self.first_step:,}-{self.last_step:,}"
        )
        return f"{self.title} ({steps}): {self.evidence} Try: {self.advice}"


def diagnose(
    records: Sequence[dict[str, Any]] | RecordColumns,
    events: list[dict[str, Any]] | None = None,
    loss: str | None = None,
) -> list[Finding]:
    """Every finding in a run's records and events, ordered by where it starts."""
    table = MetricTable(records)
    events = events or []
    loss = _loss_of(events) or loss  # a live change of loss wins over the starting one
    findings = [
        *mode_collapse(table),
        *d_overpowering(table, loss),
        *oscillation(table, loss),
        *nonfinite_recoveries(events),
    ]
    return sorted(findings, key=lambda f: (f.first_step, f.kind))


# ---------------------------------------------------------------------- detectors
TITLES = {
    "mode_collapse": "Mode collapse",
    "d_overpowering": "Discriminator overpowering",
    "oscillation": "Oscillation",
    "nonfinite": "Non-finite values",
}
ADVICE = {  # what researchers commonly try, per kind of finding
    "mode_collapse": "an R1 penalty on real data (r1_weight 0.1 for 2D, 1-10 for images), a "
    "lower learning rate for G, minibatch discrimination or PacGAN-style packing, or another "
    "loss (hinge, WGAN-GP).",
    "d_overpowering": "lower D's learning rate or its steps per G step, use the non-saturating "
    "loss, spectral normalisation or an R1 penalty on D, or add instance noise.",
    "oscillation": "lower both learning rates (or Adam's beta1 to 0.0-0.5), use Adam rather "
    "than SGD with momentum, two time-scale rates, an R1 or gradient penalty.",
    "nonfinite": "lower the learning rates, add a gradient penalty (WGAN-GP) or R1, check the "
    "data for extreme values, or use spectral normalisation in D.",
}
SWING = 0.3  # a swing of D's margin D(x) - D(G(z)) this large (on the probability scale)
SWINGS = 4  # ... this many times in a row, each within OSCILLATION_SPAN records of the last
OSCILLATION_SPAN = 6
ZIGZAG_PIECE = 1 << 14  # values handed to Python at a time (well under 1 ms of the GIL)


def _finding(kind: str, first_step: float, last_step: float, evidence: str) -> Finding:
    return Finding(kind, TITLES[kind], int(first_step), int(last_step), evidence, ADVICE[kind])


def mode_collapse(table: MetricTable) -> list[Finding]:
    """2D mixtures: G's samples land on modes (at least half of them high quality) yet cover
    at most half of the modes, for SUSTAINED consecutive evaluations: the classic collapse,
    told apart from a G that has not reached the data yet (few high-quality samples) and from
    mode hopping (coverage that comes back). Images: the classes covered or the diversity
    falling to at most half of their best so far, for SUSTAINED evaluations."""
    findings = []
    steps, covered = _series(table, "modes_covered")
    quality = _aligned(table, "high_quality", steps)
    total = _last(table, "modes_total")
    if total and len(covered) >= SUSTAINED:
        collapsed = (quality >= 0.5) & (covered <= total / 2)
        for start, end in _runs(_close_gaps(collapsed, 1), SUSTAINED):
            findings.append(
                _finding(
                    "mode_collapse",
                    steps[start],
                    steps[end],
                    f"G covers {_span(covered[start : end + 1])} of {total:.0f} modes while "
                    f"{np.nanmean(quality[start : end + 1]):.0%} of its samples are high quality: "
                    "it draws well from a few modes and ignores the others.",
                )
            )
    for key, what in (("classes_covered", "classes covered"), ("diversity_ratio", "diversity")):
        steps, values = _series(table, key)
        if len(values) < SUSTAINED:
            continue
        best = np.maximum.accumulate(values)
        fallen = values <= 0.5 * best
        for start, end in _runs(_close_gaps(fallen, 1), SUSTAINED):
            if any(f.first_step <= steps[end] and steps[start] <= f.last_step for f in findings):
                continue  # the same collapse, seen by another measure
            peak = int(np.argmax(values[: start + 1]))
            findings.append(
                _finding(
                    "mode_collapse",
                    steps[start],
                    steps[end],
                    f"{what} fell to {_span(values[start : end + 1])} from {values[peak]:.3g} at "
                    f"step {int(steps[peak]):,}.",
                )
            )
    return findings


def d_overpowering(table: MetricTable, loss: str | None) -> list[Finding]:
    """D separates real from fake almost perfectly: D(x) >= 0.85 and D(G(z)) <= 0.15 (over 3
    records) for SUSTAINED x 2 records; the evidence adds where G's gradient norm stands."""
    if loss is not None and loss not in PROBABILISTIC:
        return []  # a critic's raw scores have no "perfect" level to compare with
    steps, d_real = _series(table, "d_real")
    d_fake = _aligned(table, "d_fake", steps)
    if len(steps) < 2 * SUSTAINED:
        return []
    real, fake = _moving_average(d_real, 3), _moving_average(d_fake, 3)
    winning = (real >= 0.85) & (fake <= 0.15)
    winning[:WARMUP_RECORDS] = False  # D beats an untrained G at first in every run
    g_steps, g_norm = _series(table, "grad_norm_g")
    early = float(np.median(g_norm[: max(SUSTAINED, len(g_norm) // 10)])) if len(g_norm) else 0.0
    findings = []
    for start, end in _runs(_close_gaps(winning, 4), 2 * SUSTAINED):
        evidence = (
            f"D(x) averages {np.nanmean(d_real[start : end + 1]):.2f} and D(G(z)) "
            f"{np.nanmean(d_fake[start : end + 1]):.3f}: D tells real from fake almost perfectly."
        )
        # g_steps is sorted: the records inside the finding are one slice of it.
        first = np.searchsorted(g_steps, steps[start], side="left")
        inside = g_norm[first : np.searchsorted(g_steps, steps[end], side="right")]
        if len(g_norm) >= 2 * SUSTAINED and len(inside):
            ratio = float(np.median(inside)) / early if early > 0 else float("inf")
            evidence += f" G's gradient norm is {ratio:.0%} of its early level" + (
                ": it is vanishing." if ratio < 0.1 else "."
            )
        findings.append(_finding("d_overpowering", steps[start], steps[end], evidence))
    return findings


def oscillation(table: MetricTable, loss: str | None = None) -> list[Finding]:
    """D and G taking turns to win: D's margin D(x) - D(G(z)) swings up and down by at least
    SWING at least SWINGS times in a row, each swing within OSCILLATION_SPAN records."""
    if loss is not None and loss not in PROBABILISTIC:
        return []
    steps, d_real = _series(table, "d_real")
    margin = _moving_average(d_real - _aligned(table, "d_fake", steps), 3)
    pivots = _zigzag(margin, SWING)
    findings = []
    group = pivots[:1]
    for pivot in [*pivots[1:], None]:
        if pivot is not None and pivot - group[-1] <= OSCILLATION_SPAN:
            group.append(pivot)
            continue
        if len(group) > SWINGS:
            first, last = group[0], group[-1]
            findings.append(
                _finding(
                    "oscillation",
                    steps[first],
                    steps[last],
                    f"D's margin D(x) - D(G(z)) swung {len(group) - 1} times between "
                    f"{margin[first : last + 1].min():.2f} and {margin[first : last + 1].max():.2f}:"
                    " D and G take turns winning instead of settling.",
                )
            )
        group = [pivot] if pivot is not None else []
    return findings


def nonfinite_recoveries(events: list[dict[str, Any]]) -> list[Finding]:
    """Each non-finite loss or gradient the trainer recovered from."""
    recoveries = [
        e
        for e in events
        if isinstance(e, dict)
        and e.get("kind") == "nonfinite_recovery"
        and record_step(e.get("step")) is not None
    ]
    if not recoveries:
        return []
    steps = [record_step(e["step"]) or 0 for e in recoveries]
    networks = sorted(
        {e["network"] if isinstance(e.get("network"), str) else "?" for e in recoveries}
    )
    return [
        _finding(
            "nonfinite",
            min(steps),
            max(steps),
            f"{len(recoveries)} recover{'y' if len(recoveries) == 1 else 'ies'} from NaN or "
            f"infinite values in {', '.join(networks)}: the last good weights were restored "
            "and the learning rates halved each time.",
        )
    ]


# ---------------------------------------------------------------------- helpers
class MetricTable:
    """The records as columns, sorted by step (the detectors read the same metrics several
    times, and a long run has 10^6 records)."""

    def __init__(self, records: Sequence[dict[str, Any]] | RecordColumns):
        self._records = as_columns(records)
        self._order = np.argsort(self._records.steps, kind="stable")
        self.steps = self._records.steps[self._order]
        self._columns: dict[str, np.ndarray] = {}

    def column(self, key: str) -> np.ndarray:
        """`key` for every record, NaN where a record lacks a number there."""
        if key not in self._columns:
            self._columns[key] = self._records.column(key)[self._order]
        return self._columns[key]


def _series(table: MetricTable, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the records with a finite number under `key`."""
    values = table.column(key)
    keep = np.isfinite(values)
    return table.steps[keep], values[keep]


def _aligned(table: MetricTable, key: str, steps: np.ndarray) -> np.ndarray:
    """`key`'s values at `steps` (steps of the table; NaN where a record lacks it)."""
    return table.column(key)[np.searchsorted(table.steps, steps)]


def _span(values: np.ndarray) -> str:
    low, high = np.nanmin(values), np.nanmax(values)
    return f"{low:.3g}" if low == high else f"{low:.3g}-{high:.3g}"


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    """Fill runs of at most `gap` False between two True: one noisy record does not split a
    pattern in two."""
    mask = np.asarray(mask, dtype=bool)
    first, after = _true_runs(~mask)
    inner = (first > 0) & (after < len(mask)) & (after - first <= gap)  # True on both sides
    change = np.zeros(len(mask) + 1, np.int64)
    change[first[inner]] += 1  # the runs are apart: no index is marked twice
    change[after[inner]] -= 1
    return mask | (np.cumsum(change[:-1]) > 0)


def _zigzag(values: np.ndarray, threshold: float) -> list[int]:
    """Indices of the ends of each move of at least `threshold` (a zigzag indicator): the
    number of swings is one less than the number of indices. Non-finite values are passed
    over; `threshold` > 0 (at 0 a move would end inside a stretch `_turning_points` skips).

    Only the points where the direction of change turns (`_turning_points`) are walked, in
    pieces of ZIGZAG_PIECE: at 10^6 records one list of every value took the GIL for 25-50 ms
    at a time from the window's thread, and the walk was most of a diagnosis."""
    values = np.asarray(values, dtype=float)
    finite = np.flatnonzero(np.isfinite(values))
    if not len(finite):
        return []
    finite_values = values[finite]
    turns = _turning_points(finite_values)
    indices, points = finite[turns], finite_values[turns]
    pivots: list[int] = []
    low = high = extreme = int(indices[0])
    low_value = high_value = extreme_value = float(points[0])
    direction = 0  # 0 until the first move, then +1 rising, -1 falling
    for piece in range(1, len(points), ZIGZAG_PIECE):
        span = slice(piece, piece + ZIGZAG_PIECE)
        for i, value in zip(indices[span].tolist(), points[span].tolist(), strict=True):
            if direction == 0:
                if value < low_value:
                    low, low_value = i, value
                if value > high_value:
                    high, high_value = i, value
                if value - low_value >= threshold:
                    pivots, direction, extreme, extreme_value = [low], 1, i, value
                elif high_value - value >= threshold:
                    pivots, direction, extreme, extreme_value = [high], -1, i, value
            elif direction * (value - extreme_value) >= 0:
                extreme, extreme_value = i, value  # the move goes on
            elif direction * (extreme_value - value) >= threshold:
                pivots.append(extreme)  # it turned by at least the threshold
                direction, extreme, extreme_value = -direction, i, value
    return [*pivots, extreme] if direction else []


def _turning_points(values: np.ndarray) -> np.ndarray:
    """Positions of `values` (finite) a zigzag can turn at: the first and the last, and
    each where the direction of change (rising, falling, level) changes. Inside a strictly
    rising or falling stretch every test of the zigzag moves one way, and inside a level one
    none changes, so the stretch's two ends leave the walk where its every point would."""
    if len(values) < 3:
        return np.arange(len(values))
    direction = np.sign(np.diff(values))
    keep = np.ones(len(values), dtype=bool)
    keep[1:-1] = direction[1:] != direction[:-1]
    return np.flatnonzero(keep)


def _last(table: MetricTable, key: str) -> float | None:
    values = table.column(key)
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if len(finite) else None


def _runs(mask: np.ndarray, minimum: int) -> list[tuple[int, int]]:
    """(first, last) index of each run of True at least `minimum` long."""
    first, after = _true_runs(np.asarray(mask, dtype=bool))
    long = after - first >= minimum
    return list(zip(first[long].tolist(), (after[long] - 1).tolist(), strict=True))


def _true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of True in a boolean `mask` starts, and the index after its end."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    if len(values) < width:
        return values.copy()
    padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _loss_of(events: list[dict[str, Any]]) -> str | None:
    """The loss the run used last, from its events (live changes included)."""
    loss = None
    for event in events:
        if (
            isinstance(event, dict)
            and event.get("kind") == "settings_changed"
            and isinstance(event.get("loss"), str)
        ):
            loss = event["loss"]
    return loss
