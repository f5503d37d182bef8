"""The signal-processing pieces of an alias-free (StyleGAN3) layer, in plain PyTorch.

Karras et al. 2021 treat every feature map as samples of a band-limited continuous signal. A
pointwise nonlinearity would add frequencies above the sampling limit, so each layer applies
it at a temporarily higher sampling rate: upsample (zero insertion + low-pass), leaky ReLU,
low-pass + decimate back ("filtered nonlinearity", the paper's section 3.2 and appendix).

Everything here is ordinary torch ops (depthwise convolutions and padding), so it runs on CPU,
CUDA and MPS without a compiled extension. The filter taps are never designed here: network
pickles store them as buffers, and a layer passes them in.

Conventions, those of the stored filters and paddings:
- a filter is either 1-D (K,), used separably along x then y, or 2-D (K, K) (the radially
  symmetric filters of configuration R);
- padding is (x_before, x_after, y_before, y_after) on the zero-stuffed (upsampled) signal,
  negative values cropping;
- filtering is a true convolution (the taps are flipped for torch's cross-correlation; the
  stored filters are symmetric, so this only matters for the principle).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

Padding = Sequence[int]  # (x_before, x_after, y_before, y_after)


def resample(
    x: torch.Tensor,
    taps: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: Padding = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample by zero insertion, pad, filter, decimate: each channel of (N, C, H, W) alone.

    Output side length: (side * up + before + after - K) // down + 1. `gain` scales the
    whole 2-D operation (a separable filter takes its square root on each axis), which is
    how upsampling keeps the signal's magnitude (gain = up**2).
    """
    px0, px1, py0, py1 = (int(p) for p in padding)
    if taps is None:  # no filter: a single unit tap, so only stuffing / padding / decimation
        taps = torch.ones(1, dtype=x.dtype, device=x.device)
    taps = taps.to(dtype=x.dtype, device=x.device)
    if taps.ndim == 1:
        axis_gain = gain**0.5
        x = _resample_2d(x, taps.view(1, -1) * axis_gain, (1, up), (1, down), (px0, px1, 0, 0))
        return _resample_2d(x, taps.view(-1, 1) * axis_gain, (up, 1), (down, 1), (0, 0, py0, py1))
    if taps.ndim == 2:
        return _resample_2d(x, taps * gain, (up, up), (down, down), (px0, px1, py0, py1))
    raise ValueError(f"a filter must be 1-D or 2-D, not {taps.ndim}-D")


def _resample_2d(
    x: torch.Tensor,
    kernel: torch.Tensor,
    up: tuple[int, int],
    down: tuple[int, int],
    padding: tuple[int, int, int, int],
) -> torch.Tensor:
    """`resample` with one 2-D kernel (kh, kw) and per-axis factors (y, x)."""
    channels = x.shape[1]
    kh, kw = kernel.shape
    (uy, ux), (dy, dx) = up, down
    px0, px1, py0, py1 = padding
    weight = kernel[None, None].expand(channels, 1, kh, kw)
    if uy == 1 and ux == 1:
        # Pad (or crop), then a valid correlation with the flipped kernel is a convolution;
        # the stride decimates without computing the samples it would throw away.
        x = F.pad(x, [px0, px1, py0, py1])
        return F.conv2d(x, weight.flip([2, 3]), stride=(dy, dx), groups=channels)
    # A strided transposed convolution is zero insertion followed by a full convolution,
    # without multiplying the inserted zeros. The full convolution equals the padded valid
    # one with (k - 1) padding per side, and it lacks the (up - 1) trailing samples that
    # only inserted zeros reach: both are corrected by one more pad/crop.
    x = F.conv_transpose2d(x, weight, stride=(uy, ux), groups=channels)
    x = F.pad(
        x, [px0 - (kw - 1), px1 - (kw - 1) + (ux - 1), py0 - (kh - 1), py1 - (kh - 1) + (uy - 1)]
    )
    return x[:, :, ::dy, ::dx]


def resampled_size(
    size: int, up_taps: int, down_taps: int, up: int, down: int, before: int, after: int
) -> int:
    """Side length after `filtered_lrelu` (up pass with padding, then down pass)."""
    upsampled = size * up + before + after - up_taps + 1
    return (upsampled - down_taps) // down + 1


def filtered_lrelu(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    up_filter: torch.Tensor | None,
    down_filter: torch.Tensor | None,
    up: int,
    down: int,
    padding: Padding,
    gain: float,
    slope: float,
    clamp: float | None = None,
) -> torch.Tensor:
    """Bias, then leaky ReLU at `up` times the sampling rate, then back down by `down`.

    The bias goes before upsampling (a constant passes the low-pass filter unchanged, up to
    the filter's DC gain); `gain` scales after the activation and `clamp` bounds the result
    there, as in the original layers (the clamp exists for fp16 but applies in fp32 too).
    """
    if bias is not None:
        x = x + bias.to(x.dtype).view(1, -1, 1, 1)
    x = resample(x, up_filter, up=up, padding=padding, gain=float(up**2))
    x = F.leaky_relu(x, slope) if slope != 1 else x
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return resample(x, down_filter, down=down)
