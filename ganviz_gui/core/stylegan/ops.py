"""The building blocks of a StyleGAN2 network, in plain PyTorch.

Karras et al. 2020 ("Analyzing and Improving the Image Quality of StyleGAN") build every layer
from a few operations: FIR-filtered resampling (upsampling and downsampling with a low-pass
[1, 3, 3, 1] filter instead of nearest-neighbour or strided sampling), a bias plus a
gain-preserving activation, equalized learning rate (weights stored at unit variance and scaled
by 1/sqrt(fan_in) when used) and the modulated convolution that replaced AdaIN: the style scales
the convolution's input channels, and "demodulation" rescales each output channel to unit norm.

Everything here is ordinary torch operations (padding, depthwise and grouped convolutions), so it
runs on CPU, CUDA and MPS with nothing compiled, in whatever dtype its inputs have.

Conventions:
- a resampling filter is a 2-D (fh, fw) tensor summing to 1; upsampling multiplies it by up**2
  so that the zero-stuffed signal keeps its magnitude;
- padding is (x_before, x_after, y_before, y_after); negative values crop;
- filtering is a true convolution (the taps are flipped for torch's cross-correlation); the
  filters StyleGAN2 uses are symmetric, so this matters only in principle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

Padding = tuple[int, int, int, int]  # (x_before, x_after, y_before, y_after)

# The gain that keeps a unit-variance input at unit variance through the activation: ReLU-like
# functions halve the second moment, hence sqrt(2) for the leaky ReLU (slope 0.2).
ACTIVATION_GAINS = {"linear": 1.0, "lrelu": math.sqrt(2.0)}
LRELU_SLOPE = 0.2
# Added to the squared norms in demodulation and normalisation, so that zero never divides.
EPSILON = 1e-8


def fir_filter(taps: Sequence[float] = (1, 3, 3, 1)) -> torch.Tensor:
    """The separable 2-D low-pass filter (outer product of `taps`), normalised to sum 1."""
    row = torch.as_tensor(taps, dtype=torch.float32)
    kernel = row[:, None] * row[None, :] if row.ndim == 1 else row
    return kernel / kernel.sum()


def upfirdn2d(
    x: torch.Tensor,
    fir: torch.Tensor,
    up: int = 1,
    down: int = 1,
    padding: Padding = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample (zero insertion), pad, FIR-filter and decimate each channel of (N, C, H, W).

    Output side: (side * up + before + after - taps) // down + 1.
    """
    batch, channels, height, width = x.shape
    if up > 1:  # place each sample at the start of an up x up cell of zeros
        x = x.reshape(batch, channels, height, 1, width, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(batch, channels, height * up, width * up)
    x = F.pad(x, list(padding))  # F.pad crops where a padding is negative
    kernel = (fir * gain).flip([0, 1]).to(dtype=x.dtype, device=x.device)
    kernel = kernel[None, None].expand(channels, 1, *kernel.shape)
    x = F.conv2d(x, kernel, groups=channels)  # depthwise: every channel filtered alone
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: torch.Tensor, fir: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Double (or `factor` times) the resolution with the low-pass `fir`, pixel centres aligned."""
    fh, fw = fir.shape
    padding = (
        (fw + factor - 1) // 2,
        (fw - factor) // 2,
        (fh + factor - 1) // 2,
        (fh - factor) // 2,
    )
    return upfirdn2d(x, fir, up=factor, padding=padding, gain=factor**2)


def downsample2d(x: torch.Tensor, fir: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Halve (or divide by `factor`) the resolution: low-pass with `fir`, then decimate."""
    fh, fw = fir.shape
    padding = (
        (fw - factor + 1) // 2,
        (fw - factor) // 2,
        (fh - factor + 1) // 2,
        (fh - factor) // 2,
    )
    return upfirdn2d(x, fir, down=factor, padding=padding)


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: str = "linear",
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """x + bias (per channel, dim 1), the activation, times `gain`, clamped to +-`clamp`.

    `gain` defaults to the activation's variance-preserving gain. The clamp is StyleGAN2-ADA's
    guard for mixed precision; it is part of the trained function, so it is kept in fp32 too.
    """
    if activation not in ACTIVATION_GAINS:
        raise ValueError(f"unknown activation {activation!r}")
    if bias is not None:
        x = x + bias.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2))
    if activation == "lrelu":
        x = F.leaky_relu(x, LRELU_SLOPE)
    gain = ACTIVATION_GAINS[activation] if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def equalized_gain(fan_in: int, lr_multiplier: float = 1.0) -> float:
    """Equalized learning rate: weights are stored at unit scale and multiplied by this when
    used (He initialisation applied at run time), so every layer learns at the same speed;
    `lr_multiplier` slows a layer down (StyleGAN's mapping network uses 0.01)."""
    return lr_multiplier / math.sqrt(fan_in)


def conv2d_resample(
    x: torch.Tensor,
    weight: torch.Tensor,
    fir: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
    groups: int = 1,
) -> torch.Tensor:
    """A convolution with `weight` (groups * out, in, kh, kw) and zero padding `padding`, on an
    image resampled by `up` or `down` with the FIR filter.

    Without upsampling it is torch's cross-correlation. Upsampling takes the stride-`up`
    transposed convolution (the kernel's true convolution with the zero-stuffed image, over its
    full support) and low-passes it; downsampling low-passes first and then convolves with
    stride `down`. Away from the borders both equal resampling the whole image and convolving
    it, at a fraction of the cost.
    """
    if up > 1 and down > 1:
        raise ValueError("a StyleGAN2 convolution either upsamples or downsamples, not both")
    kh, kw = weight.shape[2:]
    if up > 1:
        if fir is None:
            raise ValueError("upsampling needs a resampling filter")
        fh, fw = fir.shape
        # The stride-`up` transposed convolution: a true convolution (not a cross-correlation)
        # of the zero-stuffed image with the kernel, which is how StyleGAN2's upsampling layers
        # were trained (NVIDIA's and rosinality's alike), so the kernel is not flipped.
        out_per_group, in_channels = weight.shape[0] // groups, weight.shape[1]
        transposed = weight.reshape(groups, out_per_group, in_channels, kh, kw).transpose(1, 2)
        transposed = transposed.reshape(groups * in_channels, out_per_group, kh, kw)
        x = F.conv_transpose2d(x, transposed, stride=up, groups=groups)
        # The transposed convolution gives the full support; pad/crop so the low-pass leaves
        # side * up + 2 * padding - k + 1 samples, centred where plain resampling puts them.
        x0 = (fw + up - 1) // 2 + padding - (kw - 1)
        y0 = (fh + up - 1) // 2 + padding - (kh - 1)
        x1 = 2 * padding - 2 * kw + up + fw - x0
        y1 = 2 * padding - 2 * kh + up + fh - y0
        return upfirdn2d(x, fir, padding=(x0, x1, y0, y1), gain=up**2)
    if down > 1:
        if fir is None:
            raise ValueError("downsampling needs a resampling filter")
        fh, fw = fir.shape
        pad = (
            (fw - down + 1) // 2 + padding,
            (fw - down) // 2 + padding,
            (fh - down + 1) // 2 + padding,
            (fh - down) // 2 + padding,
        )
        x = upfirdn2d(x, fir, padding=pad)
        return F.conv2d(x, weight, stride=down, groups=groups)
    return F.conv2d(x, weight, padding=padding, groups=groups)


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: int = 1,
    padding: int = 0,
    fir: torch.Tensor | None = None,
) -> torch.Tensor:
    """StyleGAN2's convolution: `styles` (N, in) scale the input channels of `weight`
    (out, in, kh, kw) for each sample; demodulation then divides every output channel's kernel
    by its norm, which normalises the output statistically instead of AdaIN's explicit
    normalisation of the activations (the cause of StyleGAN's droplet artefacts).

    The per-sample kernels run as one grouped convolution over the whole batch.
    """
    batch, in_channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    kernels = weight[None] * styles.to(weight.dtype)[:, None, :, None, None]  # (N, out, in, k, k)
    if demodulate:
        kernels = kernels * (kernels.square().sum(dim=[2, 3, 4], keepdim=True) + EPSILON).rsqrt()
    kernels = kernels.reshape(batch * out_channels, in_channels, kh, kw).to(x.dtype)
    x = x.reshape(1, batch * in_channels, height, width)
    x = conv2d_resample(x, kernels, fir=fir, up=up, padding=padding, groups=batch)
    return x.reshape(batch, out_channels, *x.shape[2:])


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Scale each vector to unit root-mean-square (StyleGAN's "pixel norm" of z)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + EPSILON).rsqrt()


def minibatch_stddev(x: torch.Tensor, group_size: int, num_channels: int = 1) -> torch.Tensor:
    """Append the minibatch standard deviation feature (Karras et al. 2018) as extra channels.

    Samples are grouped as n, n + N/G, n + 2N/G, ... (G = min(group_size, N)); within each group
    the standard deviation of every feature is averaged over `num_channels` slices of the
    channels and over the pixels, and the result is broadcast back as `num_channels` maps.
    """
    batch, channels, height, width = x.shape
    group = min(group_size, batch) if group_size else batch
    if batch % group:
        raise ValueError(
            f"the minibatch-std layer needs a batch divisible by {group}, got {batch} samples"
        )
    parts = x.reshape(group, -1, num_channels, channels // num_channels, height, width)
    spread = (parts - parts.mean(dim=0)).square().mean(dim=0)
    spread = (spread + EPSILON).sqrt().mean(dim=[2, 3, 4])  # (N / G, num_channels)
    spread = spread.reshape(-1, num_channels, 1, 1).repeat(group, 1, height, width)
    return torch.cat([x, spread], dim=1)
