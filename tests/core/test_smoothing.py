"""The debiased EMA used by the loss plots."""

from __future__ import annotations

import numpy as np
import pytest

from ganviz_gui.core.smoothing import ema_smooth, is_smoothed


def reference(values, weight):
    """TensorBoard's loop: skip non-finite points, debias by the weight seen so far."""
    out, acc, n = [], 0.0, 0
    for x in values:
        if not np.isfinite(x):
            out.append(out[-1] if out else np.nan)
            continue
        acc = acc * weight + (1 - weight) * x
        n += 1
        out.append(acc / (1 - weight**n))
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.9, 0.99, 0.999, 1e-9])
def test_matches_the_reference_loop_including_gaps(weight):
    values = np.random.default_rng(1).normal(size=700) + 3.0
    values[[0, 5, 6, 300]] = [np.nan, np.inf, np.nan, -np.inf]
    smoothed, _ = ema_smooth(values, weight)
    np.testing.assert_allclose(smoothed, reference(values, weight), rtol=1e-10, equal_nan=True)


def test_continuing_from_a_state_equals_one_pass():
    values = np.random.default_rng(2).normal(size=1000)
    whole, _ = ema_smooth(values, 0.95)
    first, state = ema_smooth(values[:333], 0.95)
    second, _ = ema_smooth(values[333:], 0.95, state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12)


def test_first_point_is_not_pulled_towards_zero():
    smoothed, _ = ema_smooth(np.array([5.0, 5.0, 5.0]), 0.99)
    np.testing.assert_allclose(smoothed, 5.0)


def test_a_weight_of_one_is_refused():
    with pytest.raises(ValueError):
        ema_smooth(np.ones(3), 1.0)


@pytest.mark.parametrize(
    "key",
    [
        *("lr_g", "lr_d", "lr", "train/lr", "lr-Adam/pg1", "learning_rate", "generator_lr"),
        *("ema_decay", "weight_decay", "d_steps", "global_step", "epoch", "trainer/epoch"),
    ],
)
def test_settings_and_counters_are_drawn_raw(key):
    assert not is_smoothed(key)


@pytest.mark.parametrize(
    "key",
    [
        *("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "frechet_distance", "coverage"),
        *("diversity_ratio", "steps_per_sec", "train/loss", "accuracy", "sharpness", "flr_score"),
    ],
)
def test_measurements_are_smoothed(key):
    assert is_smoothed(key)
