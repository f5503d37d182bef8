"""StyleGAN's controls in the engine: planes in W, truncation with a cutoff, style mixing,
SeFa on the style weights and GANSpace in W, on the development StyleGAN2-ADA pickle."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganviz_gui.core.formats import open_file
from ganviz_gui.core.style_controls import (
    StyleControls,
    StyledDecoding,
    style_pca_plane,
    style_sefa_plane,
    w_spread,
)

FOREIGN = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "foreign"
SG2 = FOREIGN / "sg2ada_32" / "network-snapshot-000004.pkl"
if not SG2.is_file():
    pytest.skip("the foreign fixture set is not here", allow_module_level=True)


@pytest.fixture(scope="module")
def generator():
    return open_file(SG2).build_generator()


def z_batch(n: int = 4, dim: int = 64) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(1))


def test_the_origin_of_a_plane_in_w_is_the_average_w(generator):
    decoding = StyledDecoding(generator, StyleControls(space="w"), w_spread(generator))
    with torch.no_grad():
        at_origin = decoding(torch.zeros(1, generator.w_dim))
        average = generator.synthesize(generator.w_avg.expand(1, generator.num_ws, -1))
    assert torch.allclose(at_origin, average)


def test_w_hat_coordinates_round_trip_to_the_mapped_w(generator):
    spread = w_spread(generator)
    assert spread > 0
    z = z_batch()
    controls = StyleControls(space="w")
    with torch.no_grad():
        w_hat = (generator.map(z)[:, 0] - generator.w_avg) / spread
    with torch.no_grad():
        via_plane = StyledDecoding(generator, controls, spread)(w_hat)
        direct = generator(z)
    assert torch.allclose(via_plane, direct, atol=1e-5)


def test_truncation_with_a_cutoff_touches_only_the_first_layers(generator):
    z = z_batch()
    with torch.no_grad():
        free = StyledDecoding(generator, StyleControls()).styles(z)
        cut = StyledDecoding(generator, StyleControls(psi=0.5, cutoff=3)).styles(z)
    assert torch.allclose(cut[:, 3:], free[:, 3:])
    assert torch.allclose(cut[:, :3], generator.w_avg + 0.5 * (free[:, :3] - generator.w_avg))


def test_style_mixing_takes_the_chosen_layers_from_the_second_latent(generator):
    z, other = z_batch(), z_batch(1)
    controls = StyleControls(mix_latent=other[0], mix_layers=(4, -1))
    with torch.no_grad():
        mixed = StyledDecoding(generator, controls).styles(z)
        own = StyledDecoding(generator, StyleControls()).styles(z)
        theirs = StyledDecoding(generator, StyleControls()).styles(other)
    assert torch.allclose(mixed[:, :4], own[:, :4])
    assert torch.allclose(mixed[:, 4:], theirs[:, 4:].expand_as(mixed[:, 4:]))
    assert controls.resolved_mix_layers(generator.num_ws) == (4, 7)


def test_noise_modes_const_is_repeatable_random_is_not(generator):
    z = z_batch(1)
    with torch.no_grad():
        const = [StyledDecoding(generator, StyleControls())(z) for _ in range(2)]
        random = [
            StyledDecoding(generator, StyleControls(noise_mode="random"))(z) for _ in range(2)
        ]
        none = StyledDecoding(generator, StyleControls(noise_mode="none"))(z)
    assert torch.equal(const[0], const[1])
    assert not torch.equal(random[0], random[1])
    assert not torch.equal(none, const[0])
    with pytest.raises(ValueError, match="noise mode"):
        StyleControls(noise_mode="loud")


def test_the_read_out_says_what_the_controls_do():
    controls = StyleControls(psi=0.7, cutoff=4, mix_latent=torch.zeros(3), mix_layers=(6, 2))
    assert controls.describe(num_ws=8) == "plane in z, psi 0.70 on first 4 layers, layers 2-2 mixed"
    assert "class 3" in StyleControls(class_index=3).describe(8, classes=10)
    assert "class" not in StyleControls(space="w", class_index=3).describe(8, classes=10)


def test_sefa_and_ganspace_give_orthonormal_directions_of_w(generator):
    for plane in (style_sefa_plane(generator), style_pca_plane(generator, samples=500)):
        assert plane.latent_dim == generator.w_dim
        assert abs(float(plane.e1.norm()) - 1) < 1e-5 and abs(float(plane.e2.norm()) - 1) < 1e-5
        assert abs(float(plane.e1 @ plane.e2)) < 1e-5
    # SeFa's first direction is the one the stacked style weights stretch most.
    stacked = torch.cat([w / w.norm(dim=1, keepdim=True) for _, w in generator.style_affines()])
    sefa = style_sefa_plane(generator)
    stretch = [float((stacked @ d).norm()) for d in (sefa.e1, sefa.e2)]
    random = torch.nn.functional.normalize(torch.randn(generator.w_dim), dim=0)
    assert stretch[0] >= stretch[1] >= float((stacked @ random).norm()) * 0.999


def test_previews_grow_coarse_to_fine_and_end_with_the_output(generator):
    decoding = StyledDecoding(generator, StyleControls(psi=0.7))
    z = z_batch(1)
    with torch.no_grad():
        previews = list(decoding.previews(z))
        full = decoding(z)
    assert [p.shape[-1] for p in previews] == [4, 8, 16, 32]
    assert torch.allclose(previews[-1], full)
