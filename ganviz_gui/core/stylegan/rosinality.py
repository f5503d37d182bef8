"""rosinality/stylegan2-pytorch checkpoints, renamed onto GANViz's StyleGAN2 networks.

rosinality's `model.py` implements the same StyleGAN2 (configuration F) as NVIDIA's code with
other names and layouts, so a checkpoint's `g_ema` / `g` and `d` state dicts map tensor by tensor
onto `stylegan2.py`'s modules:

- mapping `style.{i}` (i from 1; `style.0` is the pixel norm) -> `mapping.fc{i-1}`; its
  learning-rate multiplier (`lr_mlp`, 0.01 unless the Generator was built otherwise) is not in
  the file;
- `input.input` (1, C, 4, 4) -> `synthesis.b4.const`; `conv1` / `to_rgb1` -> block 4x4;
  `convs.{2k}`, `convs.{2k+1}`, `to_rgbs.{k}` -> the upsampling layer, the second layer and the
  RGB layer of block 8 * 2**k; kernels (1, out, in, k, k) lose their leading 1;
  `noises.noise_{i}` (1, 1, r, r) -> the layers' `noise_const`, `noise.weight` ->
  `noise_strength`, `activate.bias` -> the layer's bias;
- blur kernels are stored with the upsampling gain folded in; they are normalised to sum 1.

Where the computation differs, the networks take a flag: rosinality scales the modulated kernel by
its equalized-lr gain before demodulating (`conv_weight_gains`, which only changes how the 1e-8
epsilon weighs), and it has no activation clamp (conv_clamp None). Channel widths are read from
the tensors, not from the checkpoint's `args` (a modified channel table is common).
"""

from __future__ import annotations

import re

import torch

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.stylegan import ops
from ganviz_gui.core.stylegan.stylegan2 import (
    MappingNetwork,
    StyleGAN2Discriminator,
    StyleGAN2Generator,
    SynthesisNetwork,
    load_weights,
    refuse_inconsistent,
)

# rosinality's Generator(lr_mlp=0.01) default, which its train.py never changes.
DEFAULT_LR_MLP = 0.01
# Its Discriminator's minibatch-std settings (stddev_group, stddev_feat), fixed in model.py.
MBSTD_GROUP_SIZE = 4
MBSTD_NUM_CHANNELS = 1


def rosinality_generator(
    weights: dict[str, torch.Tensor],
    mean_latent: torch.Tensor | None,
    lr_mlp: float = DEFAULT_LR_MLP,
) -> StyleGAN2Generator:
    """A `Generator` state dict (`g_ema` or `g`) as a StyleGAN2Generator, eval mode.

    `mean_latent` (w_dim,) or (1, w_dim) becomes `w_avg`, the truncation centre; without one the
    generator gets zeros and `w_avg_known = False`, since an estimate from random latents would
    differ from the one the file's own code used.
    """
    weights = dict(weights)
    n_mlp = _count(weights, r"style\.(\d+)\.weight")
    if n_mlp == 0 or "input.input" not in weights or "to_rgb1.conv.weight" not in weights:
        raise CheckpointError("not a rosinality StyleGAN2 generator state dict (no style/input)")
    num_blocks = 1 + _count(weights, r"to_rgbs\.(\d+)\.conv\.weight")
    resolution = 2 ** (num_blocks + 1)
    latent = weights["style.1.weight"].shape[1]
    img_channels = weights["to_rgb1.conv.weight"].shape[1]
    channels = {4: weights["input.input"].shape[1]}
    for index in range(num_blocks - 1):
        channels[8 * 2**index] = _weight(weights, f"convs.{2 * index}.conv.weight").shape[1]

    with refuse_inconsistent("rosinality generator"):
        mapping = MappingNetwork(
            z_dim=latent,
            c_dim=0,
            w_dim=weights[f"style.{n_mlp}.weight"].shape[0],
            num_ws=2 * num_blocks,  # rosinality's n_latent = 2 * log2(size) - 2
            layer_features=[weights[f"style.{i}.weight"].shape[0] for i in range(1, n_mlp + 1)],
            lr_multiplier=lr_mlp,
        )
        synthesis = SynthesisNetwork(
            w_dim=mapping.w_dim,
            img_resolution=resolution,
            img_channels=img_channels,
            channels=channels,
            architecture="skip",
            conv_clamp=None,
            use_noise=True,
            conv_weight_gains=True,
        )
        generator = StyleGAN2Generator(mapping, synthesis)
    renamed = _generator_names(weights, n_mlp, num_blocks)
    if mean_latent is not None:
        renamed["mapping.w_avg"] = mean_latent.detach().reshape(-1)
    else:
        renamed["mapping.w_avg"] = torch.zeros(mapping.w_dim)
    load_weights(generator, renamed, "rosinality generator")
    generator.w_avg_known = mean_latent is not None
    return generator


def rosinality_discriminator(weights: dict[str, torch.Tensor]) -> StyleGAN2Discriminator:
    """A `Discriminator` state dict (`d`) as a StyleGAN2Discriminator, eval mode."""
    weights = dict(weights)
    if "convs.0.0.weight" not in weights or "final_linear.1.weight" not in weights:
        raise CheckpointError("not a rosinality StyleGAN2 discriminator state dict")
    num_res_blocks = _count(weights, r"convs\.(\d+)\.conv1\.0\.weight")
    resolution = 4 * 2**num_res_blocks
    img_channels = weights["convs.0.0.weight"].shape[1]
    channels = {4: weights["final_conv.0.weight"].shape[0]}
    for index in range(1, num_res_blocks + 1):
        channels[resolution // 2 ** (index - 1)] = _weight(
            weights, f"convs.{index}.conv1.0.weight"
        ).shape[1]
    if weights["final_conv.0.weight"].shape[1] != channels[4] + MBSTD_NUM_CHANNELS:
        raise CheckpointError("a rosinality discriminator with unexpected minibatch-std features")
    with refuse_inconsistent("rosinality discriminator"):
        discriminator = StyleGAN2Discriminator(
            resolution,
            img_channels,
            channels,
            architecture="resnet",
            conv_clamp=None,
            mbstd_group_size=MBSTD_GROUP_SIZE,
            mbstd_num_channels=MBSTD_NUM_CHANNELS,
        )
    renamed = _discriminator_names(weights, resolution, num_res_blocks)
    load_weights(discriminator, renamed, "rosinality discriminator")
    return discriminator


# ---------------------------------------------------------------------- renaming
def _generator_names(
    weights: dict[str, torch.Tensor], n_mlp: int, num_blocks: int
) -> dict[str, torch.Tensor]:
    source = dict(weights)
    renamed: dict[str, torch.Tensor] = {}

    def move(old: str, new: str, shape: tuple[int, ...] | None = None) -> None:
        tensor = _weight(source, old)
        del source[old]
        renamed[new] = tensor.reshape(shape) if shape is not None else tensor

    for index in range(1, n_mlp + 1):
        move(f"style.{index}.weight", f"mapping.fc{index - 1}.weight")
        move(f"style.{index}.bias", f"mapping.fc{index - 1}.bias")
    const = _weight(source, "input.input")
    move("input.input", "synthesis.b4.const", tuple(const.shape[1:]))

    def styled_conv(old: str, new: str, noise_index: int) -> None:
        kernel = _weight(source, f"{old}.conv.weight")
        move(f"{old}.conv.weight", f"{new}.weight", tuple(kernel.shape[1:]))
        move(f"{old}.conv.modulation.weight", f"{new}.affine.weight")
        move(f"{old}.conv.modulation.bias", f"{new}.affine.bias")
        move(f"{old}.noise.weight", f"{new}.noise_strength", ())
        move(f"{old}.activate.bias", f"{new}.bias")
        noise = _weight(source, f"noises.noise_{noise_index}")
        move(f"noises.noise_{noise_index}", f"{new}.noise_const", tuple(noise.shape[-2:]))
        if f"{old}.conv.blur.kernel" in source:
            renamed[f"{new}.resample_filter"] = _normalised(source.pop(f"{old}.conv.blur.kernel"))
        else:
            renamed[f"{new}.resample_filter"] = ops.fir_filter()  # unused without resampling

    def to_rgb(old: str, new: str) -> None:
        kernel = _weight(source, f"{old}.conv.weight")
        move(f"{old}.conv.weight", f"{new}.weight", tuple(kernel.shape[1:]))
        move(f"{old}.conv.modulation.weight", f"{new}.affine.weight")
        move(f"{old}.conv.modulation.bias", f"{new}.affine.bias")
        move(f"{old}.bias", f"{new}.bias", (-1,))

    styled_conv("conv1", "synthesis.b4.conv1", 0)
    to_rgb("to_rgb1", "synthesis.b4.torgb")
    renamed["synthesis.b4.resample_filter"] = ops.fir_filter()  # the 4x4 block has no image yet
    for index in range(num_blocks - 1):
        block = f"synthesis.b{8 * 2**index}"
        styled_conv(f"convs.{2 * index}", f"{block}.conv0", 2 * index + 1)
        styled_conv(f"convs.{2 * index + 1}", f"{block}.conv1", 2 * index + 2)
        to_rgb(f"to_rgbs.{index}", f"{block}.torgb")
        upsample = f"to_rgbs.{index}.upsample.kernel"
        renamed[f"{block}.resample_filter"] = _normalised(_weight(source, upsample))
        del source[upsample]
    if source:
        raise CheckpointError(
            f"a rosinality generator with tensors GANViz does not know: {', '.join(sorted(source)[:6])}"
        )
    return renamed


def _discriminator_names(
    weights: dict[str, torch.Tensor], resolution: int, num_res_blocks: int
) -> dict[str, torch.Tensor]:
    source = dict(weights)
    renamed: dict[str, torch.Tensor] = {}

    def move(old: str, new: str) -> None:
        renamed[new] = _weight(source, old)
        del source[old]

    def kernel(old: str, new: str) -> None:
        renamed[new] = _normalised(_weight(source, old))
        del source[old]

    first = f"b{resolution}"
    move("convs.0.0.weight", f"{first}.fromrgb.weight")
    move("convs.0.1.bias", f"{first}.fromrgb.bias")
    renamed[f"{first}.fromrgb.resample_filter"] = ops.fir_filter()
    for index in range(1, num_res_blocks + 1):
        old, new = f"convs.{index}", f"b{resolution // 2 ** (index - 1)}"
        move(f"{old}.conv1.0.weight", f"{new}.conv0.weight")
        move(f"{old}.conv1.1.bias", f"{new}.conv0.bias")
        renamed[f"{new}.conv0.resample_filter"] = ops.fir_filter()  # no resampling there
        kernel(f"{old}.conv2.0.kernel", f"{new}.conv1.resample_filter")
        move(f"{old}.conv2.1.weight", f"{new}.conv1.weight")
        move(f"{old}.conv2.2.bias", f"{new}.conv1.bias")
        kernel(f"{old}.skip.0.kernel", f"{new}.skip.resample_filter")
        move(f"{old}.skip.1.weight", f"{new}.skip.weight")
        renamed[f"{new}.resample_filter"] = renamed[f"{new}.conv1.resample_filter"].clone()
    move("final_conv.0.weight", "b4.conv.weight")
    move("final_conv.1.bias", "b4.conv.bias")
    renamed["b4.conv.resample_filter"] = ops.fir_filter()
    move("final_linear.0.weight", "b4.fc.weight")
    move("final_linear.0.bias", "b4.fc.bias")
    move("final_linear.1.weight", "b4.out.weight")
    move("final_linear.1.bias", "b4.out.bias")
    if source:
        raise CheckpointError(
            f"a rosinality discriminator with tensors GANViz does not know: {', '.join(sorted(source)[:6])}"
        )
    return renamed


def _count(weights: dict[str, torch.Tensor], pattern: str) -> int:
    """How many consecutive indices (from 0 or 1) the keys matching `pattern` have."""
    found = {int(m.group(1)) for key in weights if (m := re.fullmatch(pattern, key))}
    return len(found)


def _weight(weights: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    tensor = weights.get(name)
    if not isinstance(tensor, torch.Tensor):
        raise CheckpointError(f"the rosinality checkpoint has no tensor '{name}'")
    return tensor


def _normalised(kernel: torch.Tensor) -> torch.Tensor:
    """rosinality stores the upsampling blur with its gain (up**2) folded in; GANViz's filters
    sum to 1 and take the gain when used."""
    total = kernel.sum()
    if kernel.ndim != 2 or total == 0:
        raise CheckpointError(f"a rosinality blur kernel of shape {tuple(kernel.shape)}")
    return kernel / total
