"""The memorisation check: a generated sample's nearest training images."""

from __future__ import annotations

import pytest
import torch

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import load_dataset, to_model_space
from ganviz_gui.core.memorisation import nearest_images, typical_neighbour_distance


def test_nearest_training_images_find_the_copy_and_the_typical_distance():
    digits = load_dataset(TrainingConfig(dataset="digits", model="dcgan", image_size=8))
    copy = to_model_space(digits.data[123])
    indices, distances = nearest_images(copy, digits, k=3)
    assert indices[0] == 123 and distances[0] == pytest.approx(0.0, abs=1e-5)
    assert list(distances) == sorted(distances)
    brute = torch.cdist(copy.reshape(1, -1), to_model_space(digits.data).reshape(len(digits), -1))
    assert distances[1] == pytest.approx(float(torch.sort(brute[0]).values[1]), rel=1e-5)
    typical = typical_neighbour_distance(digits)
    assert 0 < typical < float(brute.median())  # nearest neighbours are closer than most
    with pytest.raises(ValueError):
        nearest_images(torch.zeros(3, 8, 8), digits)
