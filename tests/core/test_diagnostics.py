"""The detectors on runs recorded with the engine (scripts/make_diagnostic_runs.py) and on
small made-up records."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from ganviz_gui.core import diagnostics
from ganviz_gui.core.diagnostics import _close_gaps, _runs, _zigzag, diagnose
from ganviz_gui.core.run_folder import read_jsonl

RUNS = Path(__file__).parent.parent / "data" / "diagnostic_runs"


def findings_of(name: str):
    folder = RUNS / name
    config = json.loads((folder / "config.json").read_text())
    return diagnose(
        read_jsonl(folder / "metrics.jsonl"), read_jsonl(folder / "events.jsonl"), config["loss"]
    )


def test_a_healthy_run_raises_nothing():
    assert findings_of("healthy") == []


def test_a_vanilla_gan_collapsing_on_ring8_is_found():
    (finding,) = findings_of("collapse")
    assert finding.kind == "mode_collapse"
    assert finding.last_step == 5000 and finding.first_step <= 3000  # it stays collapsed
    assert "of 8 modes" in finding.evidence and "R1" in finding.advice


def test_a_discriminator_with_ten_times_the_rate_overpowers_and_collapses_g():
    kinds = {f.kind: f for f in findings_of("strong_d")}
    assert set(kinds) == {"d_overpowering", "mode_collapse"}
    overpowering = kinds["d_overpowering"]
    assert overpowering.first_step <= 500 and overpowering.last_step == 4000
    assert "D(G(z))" in overpowering.evidence and "learning rate" in overpowering.advice
    assert "1 of 8 modes" in kinds["mode_collapse"].evidence


def test_sgd_with_momentum_blows_up_then_oscillates():
    found = findings_of("unstable")
    nonfinite = next(f for f in found if f.kind == "nonfinite")
    assert nonfinite.evidence.startswith("4 recoveries")
    oscillation = next(f for f in found if f.kind == "oscillation")
    assert oscillation.first_step > nonfinite.last_step  # after the recoveries calmed it


def _records(n: int, **series):
    return [{"step": 10 * (i + 1), **{k: v[i] for k, v in series.items()}} for i in range(n)]


def test_one_bad_record_is_not_a_finding():
    n = 40
    d_fake = [0.45] * n
    d_fake[25] = 0.01  # one outlier
    records = _records(n, d_real=[0.55] * n, d_fake=d_fake, loss_d=[1.3] * n, loss_g=[0.7] * n)
    assert diagnose(records, [], "nonsaturating") == []


def test_critic_scores_are_not_judged_on_a_probability_scale():
    n = 40
    records = _records(n, d_real=[5.0] * n, d_fake=[-5.0] * n)
    assert diagnose(records, [], "wgan-gp") == []
    assert {f.kind for f in diagnose(records, [], "nonsaturating")} == {"d_overpowering"}


@pytest.mark.parametrize("key", ["diversity_ratio", "classes_covered"])
def test_image_collapse_is_a_fall_from_the_best_so_far(key):
    values = [0.3, 0.6, 0.9, 0.95, 0.9, 0.4, 0.35, 0.3, 0.3]  # starts low (untrained), falls
    if key == "classes_covered":
        values = [round(v * 10) for v in values]
    (finding,) = diagnose(_records(len(values), **{key: values}), [])
    assert finding.kind == "mode_collapse" and finding.first_step == 60


# The detectors' helpers against plain loops over every record, which is what they were: now
# vectorised, and the zigzag walks only where the direction of change turns (10^6 records of a
# long run are diagnosed on a thread beside the window's).
def zigzag_every_point(values, threshold):
    finite = [i for i, v in enumerate(values) if np.isfinite(v)]
    if not finite:
        return []
    pivots, direction = [], 0
    low = high = extreme = finite[0]
    for i in finite[1:]:
        if direction == 0:
            low = i if values[i] < values[low] else low
            high = i if values[i] > values[high] else high
            if values[i] - values[low] >= threshold:
                pivots, direction, extreme = [low], 1, i
            elif values[high] - values[i] >= threshold:
                pivots, direction, extreme = [high], -1, i
        elif direction * (values[i] - values[extreme]) >= 0:
            extreme = i
        elif direction * (values[extreme] - values[i]) >= threshold:
            pivots.append(extreme)
            direction, extreme = -direction, i
    return [*pivots, extreme] if direction else []


def runs_every_point(mask, minimum):
    found, start = [], None
    for i, flag in enumerate([*mask, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start >= minimum:
                found.append((start, i - 1))
            start = None
    return found


def close_gaps_every_point(mask, gap):
    mask, true = list(mask), [i for i, flag in enumerate(mask) if flag]
    for a, b in itertools.pairwise(true):
        if 1 < b - a <= gap + 1:
            mask[a:b] = [True] * (b - a)
    return mask


@pytest.mark.parametrize("seed", range(40))
def test_the_detectors_helpers_give_what_a_loop_over_every_record_gives(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    # Rounded walks: level stretches and ties, where the first or last of equal values counts.
    values = np.round(np.cumsum(rng.normal(size=n)) * rng.choice([0.1, 0.4]), 1)
    values[rng.random(n) < 0.05] = np.nan
    values[rng.random(n) < 0.02] = rng.choice([np.inf, -np.inf])
    if seed % 2:
        monkeypatch.setattr(diagnostics, "ZIGZAG_PIECE", int(rng.integers(1, 9)))  # many pieces
    for threshold in (0.1, 0.3, 1.0):
        assert _zigzag(values, threshold) == zigzag_every_point(values.tolist(), threshold)
    mask = rng.random(n) < rng.uniform(0.2, 0.9)
    for minimum in (1, 3, 6):
        assert _runs(mask, minimum) == runs_every_point(mask.tolist(), minimum)
    for gap in (1, 4):
        assert _close_gaps(mask, gap).tolist() == close_gaps_every_point(mask.tolist(), gap)
