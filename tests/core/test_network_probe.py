"""A forward pass taken apart: activations of a layer and D's saliency, known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganviz_gui.core.network_probe import activation_picture, layer_activations, saliency


def test_activations_are_the_layers_output_for_that_latent():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    z = torch.randn(3)
    expected = torch.relu(net[0](z)).detach().numpy()
    np.testing.assert_allclose(layer_activations(net, z, "1"), expected, rtol=1e-6)
    with pytest.raises(KeyError):
        layer_activations(net, z, "no such layer")


def test_feature_maps_are_tiled_one_tile_per_channel():
    maps = np.random.default_rng(0).normal(size=(9, 4, 4))
    picture = activation_picture(maps)
    assert picture.shape == (3 * 5 + 1, 3 * 5 + 1, 3)  # 3 x 3 tiles of 4 px, 1 px apart
    row = activation_picture(np.arange(6.0))  # a linear layer's vector: one row of cells
    assert row.shape == (1, 6, 3) and row[0, 0, 0] == 0 and row[0, -1, 0] == 255


def test_saliency_of_a_linear_critic_is_its_weights():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        critic[1].weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 0.0]]))
    heat, verdict = saliency(critic, "wgan-gp", torch.ones(1, 2, 2))
    np.testing.assert_allclose(heat, [[1.0, 2.0], [0.5, 0.0]])
    assert verdict == pytest.approx(-0.5)
    assert critic.training  # mode restored
