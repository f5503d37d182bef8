"""Latent planes and interpolation, checked against cases with known answers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganviz_gui.core.latent_plane import (
    first_layer_matrix,
    framed_on_anchors,
    interpolate,
    pca_plane,
    plane_through,
    random_plane,
    sefa_plane,
    typical_latent,
)
from ganviz_gui.core.models import DCGANGenerator, MLPGenerator


def test_random_plane_is_orthonormal_and_seeded():
    plane = random_plane(16, seed=3)
    assert plane.e1.norm() == pytest.approx(1) and plane.e2.norm() == pytest.approx(1)
    assert torch.dot(plane.e1, plane.e2) == pytest.approx(0, abs=1e-6)
    torch.testing.assert_close(random_plane(16, seed=3).e1, plane.e1)
    grid = plane.grid(5, 2.0)
    assert grid.shape == (25, 16)
    # Row-major with v rising by row: the first row is v = -2, u from -2 to 2.
    torch.testing.assert_close(
        plane.coordinates(grid[:5]),
        torch.tensor([[-2.0, -2.0], [-1.0, -2.0], [0.0, -2.0], [1.0, -2.0], [2.0, -2.0]]),
    )


def test_sefa_finds_the_direction_the_first_layer_stretches_most():
    generator = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Tanh())
    with torch.no_grad():  # stretches z_2 by 10, z_0 by 3, the rest by at most 1
        generator[0].weight.copy_(
            torch.tensor([[0.0, 0.0, 10.0, 0.0], [3.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
        )
    plane = sefa_plane(generator, 4)
    assert abs(float(plane.e1[2])) == pytest.approx(1.0)
    assert abs(float(plane.e2[0])) == pytest.approx(1.0)
    assert "3.33" in plane.name


def test_first_layer_of_our_dcgan_is_its_seed_convolution():
    generator = DCGANGenerator(latent_dim=8, channels=1, image_size=16, width=8)
    matrix = first_layer_matrix(generator, 8)
    assert matrix.shape == (16 * 4 * 4, 8)  # widths[0] = 16 channels of 4x4
    plane = sefa_plane(generator, 8)
    assert plane.latent_dim == 8


def test_pca_plane_recovers_the_dominant_latent_direction():
    generator = nn.Sequential(nn.Linear(6, 5, bias=False))
    with torch.no_grad():  # the outputs vary most along z_4, then z_1
        weight = torch.zeros(5, 6)
        weight[0, 4], weight[1, 1], weight[2, 0] = 8.0, 3.0, 0.5
        generator[0].weight.copy_(weight)
    plane = pca_plane(generator, 6, samples=3000)
    assert abs(float(plane.e1[4])) > 0.99 and abs(float(plane.e2[1])) > 0.99


def test_pca_plane_runs_on_our_mlp_generator():
    plane = pca_plane(MLPGenerator(8, (2,), hidden=16, layers=2), 8, samples=500)
    assert torch.dot(plane.e1, plane.e2) == pytest.approx(0, abs=1e-5)


def test_plane_through_three_latents_contains_them():
    a, b, c = torch.randn(3, 10, generator=torch.Generator().manual_seed(1))
    plane = plane_through(a, b, c)
    for point in (a, b, c):
        u, v = plane.coordinates(point)[0]
        torch.testing.assert_close(plane.latents(u, v)[0], point, atol=1e-5, rtol=1e-5)
    assert plane.coordinates(b)[0, 1] == pytest.approx(0, abs=1e-5)  # b on the u axis
    with pytest.raises(ValueError, match="one line"):
        plane_through(a, b, 2 * b - a)


def test_plane_through_three_latents_knows_their_coordinates_and_frames_them():
    a, b, c = torch.randn(3, 64, generator=torch.Generator().manual_seed(5))
    plane = plane_through(a, b, c)
    torch.testing.assert_close(plane.anchors, plane.coordinates(torch.stack([a, b, c])))
    assert plane.anchors[1, 0] == pytest.approx(float((b - a).norm()), rel=1e-5)
    # Centred on them, a range of anchor_extent holds all three with 15% of it to spare,
    # and they reach that 85% on some side: the range is fitted, not just large.
    framed = framed_on_anchors(plane)
    extent = framed.anchor_extent(margin=0.15)
    for point, anchor in zip((a, b, c), framed.anchors, strict=True):
        u, v = framed.coordinates(point)[0]
        torch.testing.assert_close(torch.stack([u, v]), anchor, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(framed.latents(u, v)[0], point, atol=1e-4, rtol=1e-4)
    assert float(framed.anchors.abs().max()) == pytest.approx(0.85 * extent)
    low, high = framed.anchors.min(dim=0).values, framed.anchors.max(dim=0).values
    torch.testing.assert_close(low, -high)  # the bounding box is centred on the origin
    assert extent < plane.anchor_extent()  # centring needs less range than a at the centre
    with pytest.raises(ValueError, match="no anchors"):
        random_plane(8).anchor_extent()


def test_a_typical_latent_is_the_first_fixed_noise_latent_else_a_seeded_draw():
    noise = torch.randn(16, 8, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(typical_latent(8, noise), noise[0])
    torch.testing.assert_close(typical_latent(8, noise.numpy()), noise[0])
    drawn = typical_latent(8, torch.zeros(16, 5))  # another generator's noise: not used
    torch.testing.assert_close(drawn, typical_latent(8))
    assert drawn.norm() > 1.0  # a normal draw, never the all-zero latent
    moved = random_plane(8).through(drawn)
    torch.testing.assert_close(moved.latents([0.0], [0.0])[0], drawn)


def test_interpolation_ends_at_both_latents_and_slerp_keeps_the_norm():
    a, b = torch.randn(2, 64, generator=torch.Generator().manual_seed(2))
    for mode in ("linear", "slerp"):
        path = interpolate(a, b, 9, mode)
        torch.testing.assert_close(path[0], a)
        torch.testing.assert_close(path[-1], b, atol=1e-5, rtol=1e-5)
    norms = interpolate(a, b, 9, "slerp").norm(dim=1)
    linear_mid = interpolate(a, b, 9, "linear")[4].norm()
    assert norms[4] > linear_mid  # the straight line dips towards the origin; slerp does not
    assert float(norms.min()) >= min(float(a.norm()), float(b.norm())) * 0.99
    with pytest.raises(ValueError):
        interpolate(a, b, 3, "cubic")


def test_slerp_between_opposite_latents_stays_finite():
    a = torch.randn(16, generator=torch.Generator().manual_seed(4))
    path = interpolate(a, -a, 5, "slerp")
    assert torch.isfinite(path).all() and path.norm(dim=1).max() <= a.norm() * 1.0001
