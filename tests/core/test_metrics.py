import numpy as np

from ganviz_gui.core.data.toy2d import make_toy
from ganviz_gui.core.metrics import js_divergence_2d, mean_pairwise_distance, mixture_quality


def test_real_data_covers_every_mode_with_high_quality():
    data = make_toy("ring8", 5000, seed=1)
    quality = mixture_quality(data.data.numpy()[:2500], data.mode_centers, data.mode_std)
    assert quality["modes_covered"] == 8
    # A 2D Gaussian puts 1 - exp(-4.5) = 98.9% of its mass within 3 standard deviations.
    assert 0.975 < quality["high_quality"] < 1.0


def test_a_generator_stuck_on_one_mode_covers_one():
    data = make_toy("grid25", 5000, seed=1)
    one_mode = data.mode_centers[3] + np.random.default_rng(0).normal(0, data.mode_std, (2500, 2))
    quality = mixture_quality(one_mode, data.mode_centers, data.mode_std)
    assert quality["modes_covered"] == 1 and quality["modes_total"] == 25
    assert quality["high_quality"] > 0.975


def test_js_divergence_is_small_for_same_distribution_and_one_for_disjoint():
    real = make_toy("ring8", 50_000, seed=1).data.numpy()
    same = make_toy("ring8", 10_000, seed=2).data.numpy()
    assert js_divergence_2d(same, real) < 0.02
    far_away = np.full((1000, 2), 50.0)
    assert js_divergence_2d(far_away, real) > 0.99


def test_mean_pairwise_distance_shrinks_to_zero_for_identical_samples():
    assert mean_pairwise_distance(np.ones((10, 3))) == 0.0
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]])) == 5.0
