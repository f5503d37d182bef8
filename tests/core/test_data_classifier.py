"""The data set's classifier and the image quality numbers built on it, with known answers:
a generator that outputs the real data, and one that outputs a single class."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import load_dataset, to_model_space
from ganviz_gui.core.data_classifier import classifier_for, data_fingerprint, frechet_distance
from ganviz_gui.core.evaluation import ImageReference, evaluate_images


@pytest.fixture(scope="module")
def digits():
    return load_dataset(TrainingConfig(dataset="digits", model="dcgan", image_size=8))


def test_frechet_distance_of_gaussians_with_known_answers():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    cov = a @ a.T + np.eye(5)
    mean = rng.normal(size=5)
    assert frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(mean, cov, mean + 2.0, cov) == pytest.approx(4.0 * 5, abs=1e-8)
    # Diagonal covariances: the trace term is sum (sqrt(a) - sqrt(b))^2.
    da, db = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    assert frechet_distance(np.zeros(2), da, np.zeros(2), db) == pytest.approx(4.0 + 1.0)


def test_the_classifier_learns_the_digits_and_is_cached(digits, digits_classifiers):
    cached = classifier_for(digits, digits_classifiers)
    assert cached.accuracy >= 0.9  # on the 10% held out
    key = data_fingerprint(digits)
    assert (digits_classifiers / f"{key}.pt").exists()
    weights_before = (digits_classifiers / f"{key}.pt").stat().st_mtime_ns
    again = classifier_for(digits, digits_classifiers)
    assert (digits_classifiers / f"{key}.pt").stat().st_mtime_ns == weights_before  # loaded
    torch.testing.assert_close(again.net.head.weight, cached.net.head.weight)


def test_a_damaged_cache_is_retrained_not_trusted(digits, tmp_path):
    key = data_fingerprint(digits)
    (tmp_path / f"{key}.pt").write_bytes(b"garbage")
    (tmp_path / f"{key}.json").write_text('{"accuracy": 2.0}')  # no real classifier has it
    classifier = classifier_for(digits, tmp_path)
    assert 0.9 <= classifier.accuracy <= 1.0  # measured again after training afresh
    torch.load(tmp_path / f"{key}.pt", weights_only=True)  # the damaged file was replaced


def test_real_data_scores_well_and_one_class_scores_as_collapse(digits, digits_classifiers):
    classifier = classifier_for(digits, digits_classifiers)
    real = to_model_space(digits.data[1000:1512])
    good = classifier.score(real)
    assert good.classes_covered == 10
    one_class = to_model_space(digits.data[digits.labels == 3][:170].repeat(3, 1, 1, 1))
    collapsed = classifier.score(one_class)
    assert collapsed.classes_covered == 1
    assert np.argmax(collapsed.class_counts) == 3
    assert collapsed.frechet_distance > 10 * good.frechet_distance


class _Replay(torch.nn.Module):
    """A "generator" that returns fixed images whatever the latents (the known-answer cases)."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.images = images
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # evaluation reads its device

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.images[: len(z)] + 0 * self.anchor


def test_evaluate_images_on_a_perfect_and_a_collapsed_generator(digits, cached_digits_classifier):
    reference = ImageReference(digits, samples=256)
    assert reference.classifier is not None
    perfect = _Replay(to_model_space(digits.data[-256:]))
    good = evaluate_images(perfect, 8, reference, 256, seed=0)
    assert good["diversity_ratio"] == pytest.approx(1.0, abs=0.1)
    assert good["classes_covered"] == good["classes_total"] == 10
    assert sum(good["class_counts"]) == 256
    single = _Replay(to_model_space(digits.data[:1]).repeat(256, 1, 1, 1))
    bad = evaluate_images(single, 8, reference, 256, seed=0)
    assert bad["diversity_ratio"] == 0.0 and bad["classes_covered"] == 1
    assert bad["frechet_distance"] > good["frechet_distance"]
