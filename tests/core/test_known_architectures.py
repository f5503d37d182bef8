"""Generators and discriminators of other code bases, rebuilt from their state_dicts alone.

The fixtures (shared/fixtures/foreign, see its MANIFEST.md) were written by the original code
(pytorch/examples, PyTorch-GAN, Lightning, huggan) with reference outputs on fixed latents: a
rebuild matches only if it computes what the original did. The rest checks that the
recognisers are strict (a different network is never built as a known one) and never raise.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ganviz_gui.core.formats.known_architectures import (
    ARCH_EXAMPLES_D,
    ARCH_EXAMPLES_G,
    ARCH_HUGGAN_D,
    ARCH_HUGGAN_G,
    ARCH_LIGHTNING_D,
    ARCH_LIGHTNING_G,
    ARCH_PYTORCH_GAN_D,
    ARCH_PYTORCH_GAN_G,
    describe_weights,
    recognise_discriminator,
    recognise_generator,
    split_networks,
)

FOREIGN = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "foreign"
needs_fixtures = pytest.mark.skipif(not FOREIGN.is_dir(), reason=f"no fixtures at {FOREIGN}")
G_TOLERANCE = 1e-3
D_TOLERANCE = 1e-4


def _torch_file(relative: str) -> Any:
    return torch.load(FOREIGN / relative, weights_only=True, map_location="cpu")


def _safetensors(relative: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata): with the safetensors package where installed, else read by hand
    (8-byte little-endian header length, a JSON header, raw little-endian data)."""
    path = FOREIGN / relative
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file
    except ImportError:
        raw = path.read_bytes()
        (length,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8 : 8 + length])
        data = raw[8 + length :]
        dtypes = {"F32": torch.float32, "F16": torch.float16, "I64": torch.int64}
        tensors = {}
        for key, entry in header.items():
            if key == "__metadata__":
                continue
            start, end = entry["data_offsets"]
            flat = torch.frombuffer(bytearray(data[start:end]), dtype=dtypes[entry["dtype"]])
            tensors[key] = flat.reshape(entry["shape"])
        return tensors, header.get("__metadata__", {})
    with safe_open(path, "pt") as opened:
        metadata = opened.metadata() or {}
    return load_file(path), metadata


def _reference(relative: str) -> dict[str, torch.Tensor]:
    with np.load(FOREIGN / relative) as npz:
        return {key: torch.from_numpy(npz[key]) for key in npz.files}


def _g_error(found, ref: dict[str, torch.Tensor]) -> float:
    with torch.no_grad():
        out = found.module(ref["z"])
    assert out.shape == ref["out"].shape
    return float((out - ref["out"]).abs().max())


def _d_outputs(found, ref: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        logits = found.module(ref["out"])
    assert logits.shape == (len(ref["out"]),)
    return logits


# ---------------------------------------------------------------------- the fixtures
@needs_fixtures
def test_pytorch_examples_dcgan_g_and_d_match_the_original():
    ref = _reference("dcgan_examples/netG_epoch_0.ref.npz")
    split = split_networks(_torch_file("dcgan_examples/netG_epoch_0.pth"))
    generator = recognise_generator(split[""])
    assert generator is not None and generator.architecture == ARCH_EXAMPLES_G
    assert (generator.latent_dim, generator.sample_shape) == (100, (3, 64, 64))
    assert generator.details["feature_maps"] == [64, 32, 16, 8]
    assert not generator.module.training
    assert _g_error(generator, ref) <= G_TOLERANCE
    discriminator = recognise_discriminator(
        split_networks(_torch_file("dcgan_examples/netD_epoch_0.pth"))[""]
    )
    assert discriminator is not None and discriminator.architecture == ARCH_EXAMPLES_D
    assert discriminator.sample_shape == (3, 64, 64)
    # The original ends in a sigmoid: the rebuilt D leaves it out.
    torch.testing.assert_close(
        torch.sigmoid(_d_outputs(discriminator, ref)), ref["d_out"], atol=D_TOLERANCE, rtol=0
    )


@needs_fixtures
def test_pytorch_gan_dcgan_g_and_d_match_the_original():
    ref = _reference("pytorch_gan/generator_5.ref.npz")
    generator = recognise_generator(split_networks(_torch_file("pytorch_gan/generator_5.pth"))[""])
    assert generator is not None and generator.architecture == ARCH_PYTORCH_GAN_G
    assert (generator.latent_dim, generator.sample_shape) == (100, (1, 16, 16))
    # eps=0.8 is in the code, not the weights: with PyTorch's default eps this would not match.
    assert _g_error(generator, ref) <= G_TOLERANCE
    discriminator = recognise_discriminator(
        split_networks(_torch_file("pytorch_gan/discriminator_5.pth"))[""], {"img_size": 16}
    )
    assert discriminator is not None and discriminator.architecture == ARCH_PYTORCH_GAN_D
    assert discriminator.sample_shape == (1, 16, 16)
    torch.testing.assert_close(
        torch.sigmoid(_d_outputs(discriminator, ref)),
        ref["d_out"].reshape(-1),
        atol=D_TOLERANCE,
        rtol=0,
    )


@needs_fixtures
@pytest.mark.parametrize("use_hints", [True, False])
def test_lightning_gan_example_matches_the_original(use_hints):
    checkpoint = _torch_file(
        "lightning_gan/lightning_logs/version_0/checkpoints/epoch=1-step=16.ckpt"
    )
    hints = checkpoint["hyper_parameters"] if use_hints else None
    split = split_networks(checkpoint["state_dict"])
    assert set(split) == {"generator", "discriminator"}
    ref = _reference("lightning_gan/gan.ref.npz")
    generator = recognise_generator(split["generator"], hints)
    assert generator is not None and generator.architecture == ARCH_LIGHTNING_G
    assert (generator.latent_dim, generator.sample_shape) == (100, (1, 8, 8))
    assert _g_error(generator, ref) <= G_TOLERANCE
    discriminator = recognise_discriminator(split["discriminator"], hints)
    assert discriminator is not None and discriminator.architecture == ARCH_LIGHTNING_D
    assert discriminator.sample_shape == (1, 8, 8)
    # This example's D has no final sigmoid (it trains on logits): its d_out are logits.
    torch.testing.assert_close(
        _d_outputs(discriminator, ref), ref["d_out"].reshape(-1), atol=D_TOLERANCE, rtol=0
    )


@needs_fixtures
def test_safetensors_exports_match_the_original():
    ref = _reference("export_formats/ref.npz")
    weights, metadata = _safetensors("export_formats/netG.safetensors")
    generator = recognise_generator(split_networks(weights)[""], metadata)
    assert generator is not None and generator.architecture == ARCH_EXAMPLES_G
    assert (generator.latent_dim, generator.sample_shape) == (100, (1, 64, 64))
    assert _g_error(generator, ref) <= G_TOLERANCE
    # Metadata that contradicts the shapes is not taken for the file's word.
    assert recognise_generator(weights, {**metadata, "nz": "99"}) is None
    assert recognise_generator(weights, {**metadata, "ngf": "8"}) is None


@needs_fixtures
def test_huggan_dcgan_matches_the_original():
    ref = _reference("export_formats/ref.npz")
    weights, _ = _safetensors("export_formats/huggan_dcgan/model.safetensors")
    config = json.loads((FOREIGN / "export_formats/huggan_dcgan/config.json").read_text())
    split = split_networks(weights)
    assert list(split) == [""] and set(split[""]) == set(weights)  # its 'model.' is a layer name
    generator = recognise_generator(split[""], config)
    assert generator is not None and generator.architecture == ARCH_HUGGAN_G
    assert (generator.latent_dim, generator.sample_shape) == (100, (1, 64, 64))
    assert _g_error(generator, ref) <= G_TOLERANCE
    assert recognise_generator(weights, {**config, "num_channels": 3}) is None


@needs_fixtures
def test_examples_discriminator_under_model_is_huggans():
    """huggan's D is the examples' D under `model`: no file of it here, so its weights stand in."""
    weights = _torch_file("dcgan_examples/netD_epoch_0.pth")
    renamed = {"model." + key.removeprefix("main."): value for key, value in weights.items()}
    examples, huggan = recognise_discriminator(weights), recognise_discriminator(renamed)
    assert huggan is not None and huggan.architecture == ARCH_HUGGAN_D
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(huggan.module(images), examples.module(images))


@needs_fixtures
def test_keys_in_any_order_give_the_same_network():
    ref = _reference("pytorch_gan/generator_5.ref.npz")
    weights = list(_torch_file("pytorch_gan/generator_5.pth").items())
    random.Random(0).shuffle(weights)
    generator = recognise_generator(dict(weights))
    assert generator is not None and _g_error(generator, ref) <= G_TOLERANCE


@needs_fixtures
@pytest.mark.parametrize(
    "relative",
    [
        "dcgan_examples/netG_epoch_0.pth",
        "dcgan_examples/netD_epoch_0.pth",
        "pytorch_gan/generator_5.pth",
        "pytorch_gan/discriminator_5.pth",
    ],
)
def test_a_renamed_missing_extra_or_reshaped_key_is_not_recognised(relative):
    weights = _torch_file(relative)

    def recognised(candidate: dict[str, Any]) -> bool:
        return (recognise_generator(candidate) or recognise_discriminator(candidate)) is not None

    assert recognised(weights)
    first = next(key for key in weights if key.endswith("weight"))
    renamed = {(key + "s" if key == first else key): value for key, value in weights.items()}
    assert not recognised(renamed)
    assert not recognised({key: v for key, v in weights.items() if key != first})
    assert not recognised({**weights, "extra.weight": torch.zeros(3)})
    for key, tensor in weights.items():  # every shape is checked, not only those planned from
        if tensor.dim() == 0:
            continue
        wrong = torch.zeros([side + 1 for side in tensor.shape])
        assert not recognised({**weights, key: wrong}), key
    integer = {key: value.long() for key, value in weights.items()}
    assert not recognised(integer)
    assert not recognised({key: torch.tensor(1.0) for key in weights})


@needs_fixtures
def test_weights_without_step_counts_or_in_half_precision_load():
    weights = _torch_file("dcgan_examples/netG_epoch_0.pth")
    old = {key: v for key, v in weights.items() if not key.endswith("num_batches_tracked")}
    assert recognise_generator(old) is not None  # PyTorch < 0.4.1 saved no step counts
    half = {key: v.half() if v.is_floating_point() else v for key, v in weights.items()}
    generator = recognise_generator(half)
    assert generator is not None
    assert next(generator.module.parameters()).dtype == torch.float32


@needs_fixtures
def test_a_different_mlp_is_not_taken_for_lightnings():
    state = _torch_file("lightning_gan/lightning_logs/version_0/checkpoints/epoch=1-step=16.ckpt")
    split = split_networks(state["state_dict"])
    generator, discriminator = split["generator"], split["discriminator"]
    # Another hidden width (the example's are fixed): the layout alone would fit.
    wider = {**generator, "model.0.weight": torch.zeros(200, 100), "model.0.bias": torch.zeros(200)}
    assert recognise_generator(wider) is None
    # One more layer in D.
    deeper = {**discriminator, "model.6.weight": torch.zeros(1, 1), "model.6.bias": torch.zeros(1)}
    assert recognise_discriminator(deeper) is None
    # A flat output of 50 values is no square grayscale or RGB image: only hints can shape it.
    fifty = {
        **generator,
        "model.11.weight": torch.zeros(50, 1024),
        "model.11.bias": torch.zeros(50),
    }
    assert recognise_generator(fifty) is None
    shaped = recognise_generator(fifty, {"img_shape": [2, 5, 5]})
    assert shaped is not None and shaped.sample_shape == (2, 5, 5)
    assert shaped.module(torch.zeros(3, 100)).shape == (3, 2, 5, 5)
    # An RGB output of 3 x 8 x 8 is told apart from grayscale without hints.
    rgb = {
        **generator,
        "model.11.weight": torch.zeros(192, 1024),
        "model.11.bias": torch.zeros(192),
    }
    assert recognise_generator(rgb).sample_shape == (3, 8, 8)
    # A hint may shape the image another way; hints that contradict the weights refuse it.
    assert recognise_generator(generator, {"img_shape": (1, 4, 16)}).sample_shape == (1, 4, 16)
    assert recognise_generator(generator, {"latent_dim": 64}) is None
    assert recognise_discriminator(discriminator, {"img_shape": "(3, 8, 8)"}) is None


@pytest.mark.parametrize(
    "weights",
    [
        {},
        {"main.0.weight": "not a tensor", "main.1.weight": 3},
        {"main.0.weight": torch.tensor(0.5)},
        {"main.0.weight": torch.zeros(0, 3, 4, 4), "main.3.weight": torch.zeros(3, 1, 4, 4)},
        {"l1.0.weight": torch.zeros(100), "conv_blocks.9.weight": torch.zeros(1, 64, 3, 3)},
        {"model.0.weight": torch.zeros(512, 0)},
        {1: torch.zeros(3), None: torch.zeros(2)},
    ],
    ids=["empty", "non-tensors", "0-d", "empty-tensor", "wrong-dims", "empty-mlp", "odd-keys"],
)
def test_odd_input_gives_none_without_raising(weights):
    assert recognise_generator(weights) is None
    assert recognise_discriminator(weights) is None
    assert recognise_generator(weights, {"nz": object(), "img_shape": "what"}) is None
    assert isinstance(describe_weights(weights), str)


def test_split_networks_by_prefix_and_wrapper():
    g, d = torch.zeros(2), torch.ones(2)
    lightning = {"generator.model.0.weight": g, "discriminator.model.0.weight": d}
    assert split_networks(lightning) == {
        "generator": {"model.0.weight": g},
        "discriminator": {"model.0.weight": d},
    }
    # DataParallel/DDP and torch.compile wrappers, outside or inside each network.
    wrapped = {"module.netG.main.0.weight": g, "module.netD._orig_mod.main.0.weight": d}
    assert split_networks(wrapped) == {
        "generator": {"main.0.weight": g},
        "discriminator": {"main.0.weight": d},
    }
    assert split_networks({"module.main.0.weight": g}) == {"": {"main.0.weight": g}}
    # 'model.' is removed where networks lie under it, kept where it names a layer.
    assert split_networks({"model.G.x": g, "model.D.x": d}) == {
        "generator": {"x": g},
        "discriminator": {"x": d},
    }
    assert split_networks({"model.0.weight": g}) == {"": {"model.0.weight": g}}
    # Non-tensor values are left out; keys of neither network are kept under "".
    mixed = {"G.a": g, "d.b": d, "step": 7, "ema.c": g}
    assert split_networks(mixed) == {
        "generator": {"a": g},
        "discriminator": {"b": d},
        "": {"ema.c": g},
    }
    assert split_networks({"main.0.weight": g, "epoch": 3}) == {"": {"main.0.weight": g}}
    assert split_networks({}) == {"": {}}


@needs_fixtures
def test_split_networks_finds_a_wrapped_huggan_generator():
    weights, _ = _safetensors("export_formats/huggan_dcgan/model.safetensors")
    wrapped = {"model." + key: value for key, value in weights.items()}
    assert split_networks(wrapped) == {"": weights}


def test_describe_weights():
    weights = {f"main.{i}.weight": torch.zeros(1) for i in range(14)}
    assert describe_weights(weights) == (
        "a state_dict of 14 tensors (keys like main.0.weight, main.1.weight, main.2.weight, ...)"
    )
    assert describe_weights({}) == "an empty state_dict"
    assert "none of them tensors" in describe_weights({"a": 1})
    assert describe_weights({"a": torch.zeros(1), "b": 2}) == (
        "a state_dict of 1 tensor and 1 other value (keys like a)"
    )


@needs_fixtures
def test_tensors_that_cannot_be_loaded_give_none():
    weights = _torch_file("dcgan_examples/netG_epoch_0.pth")
    meta = {key: torch.empty_like(value, device="meta") for key, value in weights.items()}
    sparse = {key: value.to_sparse() if value.dim() else value for key, value in weights.items()}
    complex_ = {
        key: value.to(torch.complex64) if value.is_floating_point() else value
        for key, value in weights.items()
    }
    for odd in (meta, sparse, complex_):
        assert recognise_generator(odd) is None
    # Unreadable hints are ignored rather than trusted or raised on.
    assert recognise_generator(weights, {"nz": "9" * 5000, "img_shape": object()}) is not None
    assert recognise_generator(weights, {"nz": np.int64(100)}) is not None
    assert recognise_generator(weights, {"nz": np.int64(10)}) is None
