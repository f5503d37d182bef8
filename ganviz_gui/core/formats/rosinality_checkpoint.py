"""rosinality/stylegan2-pytorch checkpoints (`{g, d, g_ema, args, ...}` in a torch file).

Every weight is a plain tensor; the one object is `args`, an argparse.Namespace of the
training options, read here as a bag of attributes (no other class is admitted). Channel
widths come from the tensors' shapes, not from `args`: checkpoints of narrowed networks exist.
The networks are GANViz's own StyleGAN2 (core/stylegan/rosinality.py maps the key names).
rosinality stores no average w; truncation uses the mean of 4,096 mapped seeded latents, as
its own generate.py computes one (with random latents there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganviz_gui.core.checkpoint import read_torch_file
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.finite import all_finite
from ganviz_gui.core.formats import FileFormat
from ganviz_gui.core.formats.file_head import FileHead
from ganviz_gui.core.generator_files import GeneratorFile, first_line
from ganviz_gui.core.stylegan import StyleGenerator, WholeGroups

NAME = "rosinality stylegan2-pytorch checkpoint"
MEAN_LATENT_SAMPLES = 4096


class TrainingOptions:
    """Stands in for argparse.Namespace: the options as a dict of plain values, no behaviour
    (nothing from the file becomes an attribute)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        self.values = {}
        if isinstance(state, dict):
            self.values = {
                str(k)[:100]: v
                for k, v in state.items()
                if isinstance(v, (int, float, str, bool)) or v is None
            }

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)


ADMITTED = [(TrainingOptions, "argparse.Namespace")]


def _sniff(head: FileHead) -> bool:
    return (head.is_torch_zip or head.is_legacy_torch) and {
        "g_ema",
        "conv1.conv.modulation.weight",
    } <= head.pickle_strings


def read_rosinality(path: Path) -> dict[str, Any]:
    state = read_torch_file(path, admitted=ADMITTED)
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: a {NAME}, but its contents are not a dict")
    for key in ("g_ema", "g", "d"):
        if key in state and not (
            isinstance(state[key], dict)
            and all(isinstance(t, torch.Tensor) for t in state[key].values())
        ):
            raise CheckpointError(f"{path}: a {NAME} whose '{key}' is not a state_dict")
    if "g_ema" not in state and "g" not in state:
        raise CheckpointError(f"{path}: a {NAME} without a generator (no 'g_ema' or 'g')")
    return state


def _options(state: dict[str, Any]) -> dict[str, Any]:
    args = state.get("args")
    return args.as_dict() if isinstance(args, TrainingOptions) else {}


def _open(path: Path, trust: bool, latent_dim: int | None) -> GeneratorFile:
    state = read_rosinality(path)
    return open_rosinality_state(path, state, NAME, _options(state))


def open_rosinality_weights(
    path: Path, weights: dict[str, torch.Tensor], format_name: str
) -> GeneratorFile:
    """A rosinality generator's weights on their own (a safetensors export of g_ema)."""
    return open_rosinality_state(path, {"g_ema": weights}, format_name, {})


def open_rosinality_state(
    path: Path, state: dict[str, Any], format_name: str, options: dict[str, Any]
) -> GeneratorFile:
    from ganviz_gui.core.stylegan.rosinality import rosinality_discriminator, rosinality_generator

    for key in ("g_ema", "g", "d"):
        if key in state and not all_finite(state[key]):
            raise CheckpointError(f"{path}: the {key} weights hold NaN or infinite values")
    cache: dict[str, StyleGenerator] = {}

    def build(which: str = "ema") -> StyleGenerator:
        key = "g" if which == "raw" and "g" in state else ("g_ema" if "g_ema" in state else "g")
        if key not in cache:
            try:
                generator = rosinality_generator(state[key], None)
            except (KeyError, RuntimeError, ValueError) as exc:
                raise CheckpointError(
                    f"{path}: its {key} weights do not fit StyleGAN2 ({first_line(exc)})"
                ) from None
            estimate_w_avg(generator)
            cache[key] = generator
        return cache[key]

    def critic() -> tuple[nn.Module, str]:
        try:
            return WholeGroups(rosinality_discriminator(state["d"])), "nonsaturating"
        except (KeyError, RuntimeError, ValueError) as exc:
            raise CheckpointError(
                f"{path}: its d weights do not fit StyleGAN2's D ({first_line(exc)})"
            ) from None

    generator = build("ema")
    return GeneratorFile(
        path=path,
        kind="rosinality checkpoint",
        latent_dim=generator.z_dim,
        sample_shape=(generator.img_channels, generator.img_resolution, generator.img_resolution),
        step=None,
        description=_description(state, generator, options),
        _build=build,
        _build_critic=critic if "d" in state else None,
        format=format_name,
        bounded=False,
        style_based=True,
        w_dim=generator.w_dim,
        style_layers=generator.num_ws,
        notes=[
            f"the file stores no average w: truncation pulls toward the mean of "
            f"{MEAN_LATENT_SAMPLES:,} mapped seeded latents"
        ],
    )


def estimate_w_avg(generator: StyleGenerator) -> None:
    """rosinality's mean latent, computed the way its generate.py does, from seeded latents."""
    with torch.no_grad():
        z = torch.randn(
            MEAN_LATENT_SAMPLES, generator.z_dim, generator=torch.Generator().manual_seed(0)
        )
        generator.w_avg.copy_(generator.mapping(z, None)[:, 0].mean(0))


def _description(
    state: dict[str, Any], generator: StyleGenerator, options: dict[str, Any]
) -> dict[str, Any]:
    def count(key: str) -> int | None:
        return sum(t.numel() for t in state[key].values()) if key in state else None

    return {
        "architecture": "StyleGAN2 (rosinality)",
        "z_dim": generator.z_dim,
        "w_dim": generator.w_dim,
        "num_ws": generator.num_ws,
        "image": f"{generator.img_channels} x {generator.img_resolution} x "
        f"{generator.img_resolution}",
        "networks": [k for k in ("g_ema", "g", "d") if k in state],
        "generator_parameters": count("g_ema") or count("g"),
        "discriminator_parameters": count("d"),
        "training_options": {
            k: options[k]
            for k in ("size", "latent", "n_mlp", "channel_multiplier", "iter", "batch", "r1")
            if k in options
        },
        "ada_aug_p": state.get("ada_aug_p"),
    }


FORMAT = FileFormat(name=NAME, sniff=_sniff, open=_open)
