"""GANViz's StyleGAN3 generator against NVIDIA's own outputs on the foreign-fixture pickles.

The references (`.ref.npz`) were made by the original code at force_fp32; a reader matches
when the images, clipped to [-1, 1] as NVIDIA saves them, agree to 1e-3.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats.network_pickle import read_network_pickle
from ganviz_gui.core.stylegan.alias_free_ops import resample
from ganviz_gui.core.stylegan.stylegan3 import StyleGAN3Generator, generator_from_record

FOREIGN = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "foreign"
FIXTURES = ["sg3t_32", "sg3r_32"]
IMAGE_TOLERANCE = 1e-3
W_TOLERANCE = 1e-4


def _snapshot_path(folder: str) -> Path:
    return FOREIGN / folder / "network-snapshot-000004.pkl"


@pytest.fixture(scope="module", params=FIXTURES)
def case(request: pytest.FixtureRequest) -> dict:
    path = _snapshot_path(request.param)
    if not path.exists():
        pytest.skip(f"foreign fixture {request.param} not found under {FOREIGN}")
    snapshot = read_network_pickle(path)
    reference = dict(np.load(path.with_suffix(".ref.npz")))
    return {
        "name": request.param,
        "snapshot": snapshot,
        "ref": reference,
        "G_ema": generator_from_record(snapshot["G_ema"]),
        "G": generator_from_record(snapshot["G"]),
    }


def _image_error(ours: torch.Tensor, theirs: np.ndarray) -> float:
    return float(np.abs(np.clip(ours.numpy(), -1, 1) - np.clip(theirs, -1, 1)).max())


def test_mapping_matches_reference(case: dict) -> None:
    generator, ref = case["G_ema"], case["ref"]
    z = torch.from_numpy(ref["z"])
    with torch.no_grad():
        np.testing.assert_allclose(generator.map(z).numpy(), ref["ws"], atol=W_TOLERANCE, rtol=0)
        np.testing.assert_allclose(
            generator.map(z, truncation_psi=0.5).numpy(), ref["ws_psi05"], atol=W_TOLERANCE, rtol=0
        )
    np.testing.assert_allclose(generator.w_avg.numpy(), ref["w_avg"], atol=0, rtol=0)


@pytest.mark.parametrize(
    ("network", "psi", "key"),
    [("G_ema", 1.0, "out"), ("G_ema", 0.5, "out_psi05"), ("G", 1.0, "out_G")],
)
def test_images_match_reference(case: dict, network: str, psi: float, key: str) -> None:
    generator, ref = case[network], case["ref"]
    with torch.no_grad():
        images = generator(torch.from_numpy(ref["z"]), truncation_psi=psi)
    assert images.shape == ref[key].shape
    assert images.dtype == torch.float32
    assert _image_error(images, ref[key]) <= IMAGE_TOLERANCE


def test_noise_modes_are_accepted_and_change_nothing(case: dict) -> None:
    generator, ref = case["G_ema"], case["ref"]
    ws = torch.from_numpy(ref["ws"][:2])
    with torch.no_grad():
        images = {
            mode: generator.synthesize(ws, noise_mode=mode) for mode in ("const", "random", "none")
        }
        with pytest.raises(ValueError, match="noise_mode"):
            generator.synthesize(ws, noise_mode="loud")
    assert torch.equal(images["const"], images["random"])
    assert torch.equal(images["const"], images["none"])


def test_style_affines_follow_the_synthesis_layers(case: dict) -> None:
    generator: StyleGAN3Generator = case["G_ema"]
    affines = generator.style_affines()
    layer_names = case["snapshot"]["G_ema"].child("synthesis").attribute("layer_names")
    assert [name for name, _ in affines] == layer_names
    for name, weight in affines:
        layer = getattr(generator.synthesis, name)
        assert isinstance(weight, torch.Tensor)
        assert tuple(weight.shape) == (layer.in_channels, generator.w_dim)
    assert tuple(generator.input_transform_affine().shape) == (4, generator.w_dim)


def test_feature_maps_have_the_stored_sizes(case: dict) -> None:
    generator, ref = case["G_ema"], case["ref"]
    synthesis = generator.synthesis
    with torch.no_grad():
        maps = dict(synthesis.feature_maps(torch.from_numpy(ref["ws"][:1])))
    assert list(maps) == ["input", *synthesis.layer_names]
    for name in synthesis.layer_names:
        layer = getattr(synthesis, name)
        width, height = layer.out_size
        assert tuple(maps[name].shape) == (1, layer.out_channels, height, width)


def test_inconsistent_layer_is_refused(case: dict) -> None:
    record = copy.deepcopy(case["snapshot"]["G_ema"])
    layer = record.child("synthesis").child(record.child("synthesis").attribute("layer_names")[0])
    layer.state["padding"] = [p + 1 for p in layer.state["padding"]]
    with pytest.raises(CheckpointError, match="disagree"):
        generator_from_record(record)


def test_stylegan2_record_is_refused() -> None:
    path = _snapshot_path("sg3_stylegan2_32")
    if not path.exists():
        pytest.skip("foreign fixture sg3_stylegan2_32 not found")
    with pytest.raises(CheckpointError, match="Fourier"):
        generator_from_record(read_network_pickle(path)["G_ema"])


def _naive_resample(
    x: torch.Tensor, taps: torch.Tensor, up: int, down: int, padding
) -> torch.Tensor:
    """Zero insertion, pad, true convolution with the 2-D filter, decimation: the definition."""
    n, c, h, w = x.shape
    stuffed = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
    stuffed[:, :, ::up, ::up] = x
    kernel = taps if taps.ndim == 2 else torch.outer(taps, taps)
    kernel = (kernel * up**2).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    padded = F.pad(stuffed, list(padding))
    return F.conv2d(padded, kernel, groups=c)[:, :, ::down, ::down]


@pytest.mark.parametrize(
    ("up", "down", "padding", "radial"),
    [
        (2, 2, (9, 8, 9, 8), False),
        (4, 2, (-6, -9, -6, -9), False),
        (1, 2, (3, 2, 1, 4), False),
        (2, 2, (11, 10, 11, 10), True),
        (2, 1, (0, 0, -2, 3), True),
    ],
)
def test_resample_is_zero_insertion_then_filtering(up, down, padding, radial) -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 14, 16, generator=generator, dtype=torch.float64)
    taps_1d = torch.rand(6 * max(up, 1), generator=generator, dtype=torch.float64)
    taps = torch.outer(taps_1d, taps_1d.flip(0)) if radial else taps_1d  # asymmetric on purpose
    ours = resample(x, taps, up=up, down=down, padding=padding, gain=float(up**2))
    expected = _naive_resample(x, taps, up, down, padding)
    assert ours.shape == expected.shape
    torch.testing.assert_close(ours, expected, atol=1e-10, rtol=1e-10)
