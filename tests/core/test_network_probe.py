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


def test_a_forward_pass_taken_apart_for_a_2d_and_an_image_generator():
    from ganviz_gui.core.network_probe import take_forward_pass_apart

    points = {"generator": nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))}
    z = torch.ones(1, 3)
    taken = take_forward_pass_apart(points, "g.pt", "generator", "1", z)
    expected = points["generator"](z)[0].tolist()
    assert taken.text.endswith(f"G(z) = ({expected[0]:+.3f}, {expected[1]:+.3f})")
    assert taken.activations is not None and taken.sample is None and taken.saliency is None
    assert (
        "carries no discriminator"
        in take_forward_pass_apart(points, "g.pt", "discriminator", "1", z).text
    )
    assert take_forward_pass_apart(points, "g.pt", "generator", "nope", z).activations is None

    critic = nn.Sequential(nn.Flatten(), nn.Linear(3 * 2 * 2, 1))
    images = {
        "generator": nn.Sequential(nn.Linear(3, 12), nn.Tanh(), nn.Unflatten(1, (3, 2, 2))),
        "discriminator": critic,
        "loss": "nonsaturating",
    }
    taken = take_forward_pass_apart(images, "g.pt", "discriminator", "1", z)
    assert taken.sample.shape == (2, 2, 3) and "D says" in taken.text
    # D's verdict is sigmoid(w . x + b): its gradient is sigmoid' times w, max over channels.
    with torch.no_grad():
        probability = torch.sigmoid(critic(images["generator"](z)))[0, 0]
    slope = float(probability * (1 - probability))
    weights = critic[1].weight.detach().reshape(3, 2, 2).abs().amax(0).numpy()
    np.testing.assert_allclose(taken.saliency, slope * weights, rtol=1e-5)
