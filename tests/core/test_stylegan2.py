"""GANViz's StyleGAN2 against the original code's outputs on real files.

The fixtures (`shared/fixtures/foreign`, outside the project) hold tiny networks written by
NVIDIA's StyleGAN2-ADA and StyleGAN3 ("stylegan2" configuration) code and by rosinality's
stylegan2-pytorch, each with that code's outputs on fixed latents. A match is max |diff| <= 1e-3
after clipping both images to [-1, 1], the way those projects save images.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats.network_pickle import read_network_pickle
from ganviz_gui.core.stylegan.rosinality import rosinality_discriminator, rosinality_generator
from ganviz_gui.core.stylegan.stylegan2 import (
    MappingNetwork,
    StyleGAN2Discriminator,
    StyleGAN2Generator,
    SynthesisNetwork,
    discriminator_from_record,
    generator_from_record,
)

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "foreign"
if not FIXTURES.is_dir():
    pytest.skip(f"no foreign fixtures at {FIXTURES}", allow_module_level=True)

IMAGE_TOLERANCE = 1e-3
WS_TOLERANCE = 1e-4
SNAPSHOT = "network-snapshot-000004"
GENERATOR_CASES = ["sg2ada_32", "sg3_stylegan2_32"]
# StyleGAN3's generators are not StyleGAN2's, but its pickles keep the StyleGAN2 discriminator.
DISCRIMINATOR_CASES = [*GENERATOR_CASES, "sg3t_32", "sg3r_32"]


def image_error(ours: torch.Tensor, reference: np.ndarray) -> float:
    return float(np.abs(np.clip(ours.numpy(), -1, 1) - np.clip(reference, -1, 1)).max())


def assert_logits_close(ours: torch.Tensor, reference: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(reference).max()))
    assert np.abs(ours.numpy() - reference).max() <= IMAGE_TOLERANCE * scale


@pytest.fixture(scope="module")
def snapshots() -> dict[str, dict[str, Any]]:
    return {
        case: read_network_pickle(FIXTURES / case / f"{SNAPSHOT}.pkl")
        for case in DISCRIMINATOR_CASES
    }


@pytest.fixture(scope="module")
def references() -> dict[str, Any]:
    found: dict[str, Any] = {
        case: np.load(FIXTURES / case / f"{SNAPSHOT}.ref.npz") for case in DISCRIMINATOR_CASES
    }
    found["rosinality_32"] = np.load(FIXTURES / "rosinality_32" / "000004.ref.npz")
    return found


@pytest.fixture(scope="module")
def rosinality_checkpoint() -> dict[str, Any]:
    with torch.serialization.safe_globals([argparse.Namespace]):
        return torch.load(
            FIXTURES / "rosinality_32" / "000004.pt", weights_only=True, map_location="cpu"
        )


@pytest.fixture(scope="module")
def sg2ada_generator(snapshots) -> StyleGAN2Generator:
    return generator_from_record(snapshots["sg2ada_32"]["G_ema"])


# ---------------------------------------------------------------------- NVIDIA pickles
@pytest.mark.parametrize("case", GENERATOR_CASES)
@torch.no_grad()
def test_pickle_generator_matches_the_original(case, snapshots, references):
    ref = references[case]
    generator = generator_from_record(snapshots[case]["G_ema"])
    z = torch.from_numpy(ref["z"])

    ws = generator.map(z)
    np.testing.assert_allclose(ws.numpy(), ref["ws"], atol=WS_TOLERANCE, rtol=0)
    np.testing.assert_allclose(generator.w_avg.numpy(), ref["w_avg"], atol=WS_TOLERANCE, rtol=0)
    assert image_error(generator.synthesize(ws), ref["out"]) <= IMAGE_TOLERANCE

    ws_half = generator.map(z, truncation_psi=0.5)
    np.testing.assert_allclose(ws_half.numpy(), ref["ws_psi05"], atol=WS_TOLERANCE, rtol=0)
    assert image_error(generator.synthesize(ws_half), ref["out_psi05"]) <= IMAGE_TOLERANCE

    training_generator = generator_from_record(snapshots[case]["G"])
    assert image_error(training_generator(z), ref["out_G"]) <= IMAGE_TOLERANCE
    assert image_error(generator(z), ref["out_G"]) > IMAGE_TOLERANCE  # G and G_ema do differ


@pytest.mark.parametrize("case", DISCRIMINATOR_CASES)
@torch.no_grad()
def test_pickle_discriminator_matches_the_original(case, snapshots, references):
    ref = references[case]
    discriminator = discriminator_from_record(snapshots[case]["D"])
    assert_logits_close(discriminator(torch.from_numpy(ref["out"])), ref["d_out"])


def test_a_stylegan3_generator_is_refused(snapshots):
    with pytest.raises(CheckpointError, match="StyleGAN3"):
        generator_from_record(snapshots["sg3t_32"]["G_ema"])


def test_a_discriminator_is_not_taken_for_a_generator(snapshots):
    with pytest.raises(CheckpointError, match="Generator"):
        generator_from_record(snapshots["sg2ada_32"]["D"])


def test_the_networks_hold_the_pickles_names(snapshots, sg2ada_generator):
    record = snapshots["sg2ada_32"]["G_ema"]
    assert set(sg2ada_generator.state_dict()) == set(record.tensors())
    assert not sg2ada_generator.training
    assert all(p.dtype == torch.float32 for p in sg2ada_generator.parameters())


# ---------------------------------------------------------------------- rosinality
@torch.no_grad()
def test_rosinality_generator_matches_the_original(rosinality_checkpoint, references):
    ref = references["rosinality_32"]
    mean_latent = torch.from_numpy(ref["mean_latent"])
    generator = rosinality_generator(rosinality_checkpoint["g_ema"], mean_latent)
    z = torch.from_numpy(ref["z"])

    ws = generator.map(z)
    assert ws.shape == (8, generator.num_ws, 32)
    expected_ws = np.broadcast_to(ref["ws"][:, None], ws.shape)  # one w for every layer
    np.testing.assert_allclose(ws.numpy(), expected_ws, atol=WS_TOLERANCE, rtol=0)
    assert generator.w_avg_known
    assert image_error(generator.synthesize(ws), ref["out"]) <= IMAGE_TOLERANCE
    assert image_error(generator(z, truncation_psi=0.5), ref["out_psi05"]) <= IMAGE_TOLERANCE

    training_generator = rosinality_generator(rosinality_checkpoint["g"], mean_latent)
    assert image_error(training_generator(z), ref["out_G"]) <= IMAGE_TOLERANCE


@torch.no_grad()
def test_rosinality_discriminator_matches_the_original(rosinality_checkpoint, references):
    ref = references["rosinality_32"]
    discriminator = rosinality_discriminator(rosinality_checkpoint["d"])
    assert_logits_close(discriminator(torch.from_numpy(ref["out"])), ref["d_out"])


def test_rosinality_without_a_mean_latent_says_so(rosinality_checkpoint):
    generator = rosinality_generator(rosinality_checkpoint["g_ema"], None)
    assert not generator.w_avg_known
    assert torch.count_nonzero(generator.w_avg) == 0


def test_rosinality_refuses_unknown_tensors(rosinality_checkpoint):
    weights = dict(rosinality_checkpoint["g_ema"])
    weights["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"extra\.weight"):
        rosinality_generator(weights, None)
    with pytest.raises(CheckpointError, match="not a rosinality"):
        rosinality_discriminator(rosinality_checkpoint["g_ema"])


# ---------------------------------------------------------------------- explorer controls
@torch.no_grad()
def test_previews_grow_to_the_output(sg2ada_generator, references):
    ws = sg2ada_generator.map(torch.from_numpy(references["sg2ada_32"]["z"][:2]))
    previews = list(sg2ada_generator.previews(ws))
    assert [p.shape[-1] for p in previews] == [4, 8, 16, 32]
    assert all(p.shape[:2] == (2, 3) for p in previews)
    torch.testing.assert_close(previews[-1], sg2ada_generator.synthesize(ws), rtol=0, atol=0)


def test_style_affines_follow_the_synthesis(sg2ada_generator):
    affines = sg2ada_generator.style_affines()
    names = [name for name, _ in affines]
    assert names[:5] == ["b4.conv1", "b4.torgb", "b8.conv0", "b8.conv1", "b8.torgb"]
    assert len(affines) == 11  # 7 convolutions + 4 RGB layers
    synthesis = sg2ada_generator.synthesis
    for name, weight in affines:
        block, layer = name.split(".")
        module = getattr(getattr(synthesis, block), layer)
        assert isinstance(weight, torch.Tensor)
        assert weight.shape == (module.in_channels, sg2ada_generator.w_dim)
        # the effective weight: the stored one times its equalized-lr gain 1/sqrt(w_dim)
        torch.testing.assert_close(weight, module.affine.weight / 8)


@torch.no_grad()
def test_noise_modes(sg2ada_generator):
    ws = sg2ada_generator.map(torch.randn(2, 64, generator=torch.Generator().manual_seed(1)))
    constant = sg2ada_generator.synthesize(ws, "const")
    torch.testing.assert_close(sg2ada_generator.synthesize(ws, "const"), constant)
    torch.manual_seed(0)
    assert not torch.allclose(sg2ada_generator.synthesize(ws, "random"), constant)
    without = sg2ada_generator.synthesize(ws, "none")
    assert without.shape == constant.shape and torch.isfinite(without).all()
    assert not torch.allclose(without, constant)
    with pytest.raises(ValueError, match="noise_mode"):
        sg2ada_generator.synthesize(ws, "loud")


@pytest.mark.parametrize("architecture", ["orig", "skip", "resnet"])
@torch.no_grad()
def test_other_configurations_run(architecture):
    """Conditional networks and the other architectures have no reference file here: they must
    at least build, carry NVIDIA's names and give outputs of the right shapes."""
    channels = {4: 16, 8: 16, 16: 8}
    mapping = MappingNetwork(8, 3, 16, num_ws=6, layer_features=[16, 16], embed_features=16)
    synthesis = SynthesisNetwork(16, 16, 3, channels, architecture=architecture, conv_clamp=256)
    generator = StyleGAN2Generator(mapping, synthesis).eval()
    assert "mapping.embed.weight" in generator.state_dict()
    assert ("synthesis.b8.skip.weight" in generator.state_dict()) == (architecture == "resnet")
    labels = torch.eye(3)[[0, 1, 2, 0]]
    images = generator(torch.randn(4, 8), labels)
    assert images.shape == (4, 3, 16, 16)
    assert len(list(generator.previews(generator.map(torch.randn(4, 8), labels)))) == (
        3 if architecture == "skip" else 1
    )
    cmap = MappingNetwork(0, 3, 16, num_ws=None, layer_features=[16], embed_features=16)
    discriminator = StyleGAN2Discriminator(16, 3, channels, architecture=architecture, mapping=cmap)
    assert "w_avg" not in dict(discriminator.mapping.named_buffers())
    assert discriminator.eval()(images, labels).shape == (4, 1)
