"""GANViz's StyleGAN2 generator and discriminator, and builders that fill them from network pickles.

The architecture is that of Karras et al. 2020 ("Analyzing and Improving the Image Quality of
StyleGAN"), configuration F: an 8-layer (or shorter) mapping network z -> w with a tracked average
w for truncation; a synthesis network that starts from a learned 4x4 constant and doubles the
resolution in each block with modulated, demodulated 3x3 convolutions, per-pixel noise, and an
RGB "skip" output summed over the resolutions; a residual discriminator that halves the
resolution in each block and ends with a minibatch standard-deviation feature.

Modules and parameters carry the names of NVIDIA's network pickles (StyleGAN2-ADA and the
StyleGAN3 repository's "stylegan2" configuration) so that their weights load by name with
`load_state_dict(strict=True)`; rosinality's checkpoints are renamed onto the same modules in
`rosinality.py`. The code is ours, written from the paper; nothing stored in a pickle is run.
Everything computes in the dtype of its inputs (fp32 here): the pickles' fp16 layers and their
activation clamps were a speed measure of the original code, the clamps are kept because they
are part of the trained function.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats.network_pickle import PersistentRecord
from ganviz_gui.core.stylegan import NOISE_MODES, StyleGenerator, ops

DEFAULT_RESAMPLE_TAPS = (1, 3, 3, 1)
CONV_KERNEL_SIZE = 3  # the synthesis layers' kernels (the RGB layers' are 1x1)
ARCHITECTURES = ("orig", "skip", "resnet")
# Residual branches are summed at half variance each: out = (skip + main) * sqrt(1/2).
RESIDUAL_GAIN = math.sqrt(0.5)


# ---------------------------------------------------------------------- layers
class FullyConnectedLayer(nn.Module):
    """A dense layer with equalized learning rate; weight (out, in)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        initial_bias = torch.full([out_features], float(bias_init))
        self.bias = nn.Parameter(initial_bias) if bias else None
        self.weight_gain = ops.equalized_gain(in_features, lr_multiplier)
        self.bias_gain = lr_multiplier

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x @ self.effective_weight().to(x.dtype).t()
        bias = None if self.bias is None else self.bias * self.bias_gain
        return ops.bias_act(x, bias, self.activation)


class MappingNetwork(nn.Module):
    """z (and a class label) -> w, repeated for the `num_ws` synthesis inputs.

    z and the embedded label are each normalised to unit RMS and concatenated; then a stack of
    leaky-ReLU dense layers at a 100x lower learning rate. A generator's mapping tracks the
    average w (`w_avg`, the centre truncation pulls toward); a discriminator's (class
    embedding only, `num_ws` None) does not.
    """

    w_avg: torch.Tensor  # a generator's only

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        layer_features: Sequence[int],
        embed_features: int = 0,
        activation: str = "lrelu",
        lr_multiplier: float = 0.01,
    ) -> None:
        super().__init__()
        if not layer_features or layer_features[-1] != w_dim:
            raise ValueError("the last mapping layer must output w_dim features")
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = len(layer_features)
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        features = [z_dim + (embed_features if c_dim > 0 else 0), *layer_features]
        for index in range(self.num_layers):
            layer = FullyConnectedLayer(
                features[index],
                features[index + 1],
                activation=activation,
                lr_multiplier=lr_multiplier,
            )
            setattr(self, f"fc{index}", layer)
        if num_ws is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            if z is None:
                raise ValueError("this mapping network needs latents z")
            parts.append(ops.normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim > 0:
            if c is None:
                raise ValueError(f"this network is conditional: it needs labels c of {self.c_dim}")
            parts.append(ops.normalize_2nd_moment(self.embed(c.to(torch.float32))))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for index in range(self.num_layers):
            x = getattr(self, f"fc{index}")(x)
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        return x


class Conv2dLayer(nn.Module):
    """A plain convolution with equalized learning rate, optionally FIR up- or downsampling."""

    resample_filter: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: str = "linear",
        up: int = 1,
        down: int = 1,
        resample_taps: Sequence[float] = DEFAULT_RESAMPLE_TAPS,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.activation, self.up, self.down = activation, up, down
        self.conv_clamp = conv_clamp
        self.padding = kernel_size // 2
        self.register_buffer("resample_filter", ops.fir_filter(resample_taps))
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = ops.equalized_gain(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        weight = (self.weight * self.weight_gain).to(x.dtype)
        x = ops.conv2d_resample(
            x, weight, self.resample_filter, up=self.up, down=self.down, padding=self.padding
        )
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        act_gain = ops.ACTIVATION_GAINS[self.activation] * gain
        return ops.bias_act(x, self.bias, self.activation, gain=act_gain, clamp=clamp)


# ---------------------------------------------------------------------- synthesis
class SynthesisLayer(nn.Module):
    """Modulated, demodulated convolution (optionally upsampling 2x), noise, bias, leaky ReLU.

    `weight_gain` scales the kernel before demodulation. Demodulation cancels any scale, so it
    only decides how much the 1e-8 epsilon weighs: 1 for NVIDIA's code, 1/sqrt(fan_in) for
    rosinality's (which applies its equalized-lr scale there).
    """

    resample_filter: torch.Tensor
    noise_const: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: str = "lrelu",
        resample_taps: Sequence[float] = DEFAULT_RESAMPLE_TAPS,
        conv_clamp: float | None = None,
        weight_gain: float = 1.0,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.up, self.use_noise = resolution, up, use_noise
        self.activation, self.conv_clamp, self.weight_gain = activation, conv_clamp, weight_gain
        self.padding = kernel_size // 2
        self.register_buffer("resample_filter", ops.fir_filter(resample_taps))
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        if use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const", gain: float = 1.0
    ) -> torch.Tensor:
        styles = self.affine(w)
        x = ops.modulated_conv2d(
            x,
            self.weight * self.weight_gain,
            styles,
            demodulate=True,
            up=self.up,
            padding=self.padding,
            fir=self.resample_filter,
        )
        if self.use_noise and noise_mode != "none":
            if noise_mode == "random":
                noise = torch.randn(
                    x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype
                )  # fresh per-pixel noise for every sample
            else:
                noise = self.noise_const.to(x.dtype)[None, None]
            x = x + noise * self.noise_strength.to(x.dtype)
        clamp = None if self.conv_clamp is None else self.conv_clamp * gain
        act_gain = ops.ACTIVATION_GAINS[self.activation] * gain
        return ops.bias_act(x, self.bias, self.activation, gain=act_gain, clamp=clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 convolution to the image channels, without demodulation (the RGB output's
    scale carries information)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 1,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.conv_clamp = in_channels, out_channels, conv_clamp
        self.padding = kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = ops.equalized_gain(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = ops.modulated_conv2d(x, self.weight, styles, demodulate=False, padding=self.padding)
        return ops.bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (the 4x4 constant, or an upsampling layer) + a layer + the RGB output.

    'skip' (StyleGAN2's generator): every block adds its RGB output to the upsampled image of
    the blocks before. 'orig': only the last block makes RGB. 'resnet': the features also take
    an upsampling 1x1 shortcut around the two layers; only the last block makes RGB.
    """

    resample_filter: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        is_last: bool,
        architecture: str = "skip",
        resample_taps: Sequence[float] = DEFAULT_RESAMPLE_TAPS,
        conv_clamp: float | None = None,
        use_noise: bool = True,
        conv_weight_gains: bool = False,
    ) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown synthesis architecture {architecture!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.resolution, self.is_last, self.architecture = resolution, is_last, architecture
        self.register_buffer("resample_filter", ops.fir_filter(resample_taps))
        layer: dict[str, Any] = {
            "w_dim": w_dim,
            "resolution": resolution,
            "use_noise": use_noise,
            "resample_taps": resample_taps,
            "conv_clamp": conv_clamp,
        }
        # conv_weight_gains: scale the kernels by their equalized-lr gain before demodulating
        # (rosinality's order; see SynthesisLayer).
        kernel_area = CONV_KERNEL_SIZE**2
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            gain = ops.equalized_gain(in_channels * kernel_area) if conv_weight_gains else 1.0
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, weight_gain=gain, **layer)
        gain = ops.equalized_gain(out_channels * kernel_area) if conv_weight_gains else 1.0
        self.conv1 = SynthesisLayer(out_channels, out_channels, weight_gain=gain, **layer)
        self.num_conv = 1 if in_channels == 0 else 2
        self.num_torgb = 1 if is_last or architecture == "skip" else 0
        if self.num_torgb:
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2dLayer(
                in_channels, out_channels, 1, bias=False, up=2, resample_taps=resample_taps
            )

    def synthesis_layers(self) -> list[tuple[str, SynthesisLayer | ToRGBLayer]]:
        """(name, layer) of the style-modulated layers, in the order they take their w."""
        names = ["conv1"] if self.in_channels == 0 else ["conv0", "conv1"]
        names += ["torgb"] if self.num_torgb else []
        return [(name, getattr(self, name)) for name in names]

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        noise_mode: str = "const",
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """ws: (N, num_conv + num_torgb, w_dim); returns the features and the image so far."""
        if self.in_channels == 0:
            x = self.const.to(ws.dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, ws[:, 0], noise_mode)
        elif self.architecture == "resnet":
            assert x is not None
            shortcut = self.skip(x, gain=RESIDUAL_GAIN)
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = shortcut + self.conv1(x, ws[:, 1], noise_mode, gain=RESIDUAL_GAIN)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        if img is not None:
            img = ops.upsample2d(img, self.resample_filter)
        if self.num_torgb:
            rgb = self.torgb(x, ws[:, self.num_conv])
            img = rgb if img is None else img + rgb
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> image, one `SynthesisBlock` per resolution from 4x4 up.

    Consecutive blocks share a w: a block's RGB layer uses the w of the next block's first
    layer, so num_ws = number of convolutions + 1.
    """

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channels: Mapping[int, int],
        architecture: str = "skip",
        resample_taps: Sequence[float] = DEFAULT_RESAMPLE_TAPS,
        conv_clamp: float | None = None,
        use_noise: bool = True,
        conv_weight_gains: bool = False,
    ) -> None:
        super().__init__()
        log2 = int(math.log2(img_resolution))
        if img_resolution < 4 or 2**log2 != img_resolution:
            raise ValueError(f"the output resolution must be a power of 2, not {img_resolution}")
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2**i for i in range(2, log2 + 1)]
        self.num_ws = 0
        for resolution in self.block_resolutions:
            block = SynthesisBlock(
                channels[resolution // 2] if resolution > 4 else 0,
                channels[resolution],
                w_dim,
                resolution,
                img_channels,
                is_last=resolution == img_resolution,
                architecture=architecture,
                resample_taps=resample_taps,
                conv_clamp=conv_clamp,
                use_noise=use_noise,
                conv_weight_gains=conv_weight_gains,
            )
            setattr(self, f"b{resolution}", block)
            self.num_ws += block.num_conv
        self.num_ws += block.num_torgb

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{resolution}") for resolution in self.block_resolutions]

    def images(self, ws: torch.Tensor, noise_mode: str = "const") -> Iterator[torch.Tensor]:
        """The RGB image after each block that has one, coarse to fine; the last is the output."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, not {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(f"ws must be (N, {self.num_ws}, {self.w_dim}), not {tuple(ws.shape)}")
        ws = ws.to(torch.float32)
        x: torch.Tensor | None = None
        img: torch.Tensor | None = None
        first_w = 0
        for block in self.blocks():
            block_ws = ws[:, first_w : first_w + block.num_conv + block.num_torgb]
            x, img = block(x, img, block_ws, noise_mode)
            first_w += block.num_conv
            if img is not None:
                yield img

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        *_, img = self.images(ws, noise_mode)
        return img


class StyleGAN2Generator(StyleGenerator):
    """The StyleGAN2 generator: `MappingNetwork` + `SynthesisNetwork`.

    `w_avg_known` is False where the file stored no average w (`w_avg` is then zeros, so
    truncation pulls toward the origin, not toward the real average).
    """

    def __init__(self, mapping: MappingNetwork, synthesis: SynthesisNetwork) -> None:
        super().__init__()
        if mapping.num_ws != synthesis.num_ws or mapping.w_dim != synthesis.w_dim:
            raise ValueError("the mapping network's output does not fit the synthesis network")
        self.z_dim, self.c_dim, self.w_dim = mapping.z_dim, mapping.c_dim, mapping.w_dim
        self.num_ws = synthesis.num_ws
        self.img_resolution, self.img_channels = synthesis.img_resolution, synthesis.img_channels
        self.mapping = mapping
        self.synthesis = synthesis
        self.w_avg_known = True

    def previews(self, ws: torch.Tensor, noise_mode: str = "const") -> Iterator[torch.Tensor]:
        """The running RGB sum after each block, 4x4 up to the output (architecture 'skip'; the
        others make RGB in their last block only)."""
        assert isinstance(self.synthesis, SynthesisNetwork)
        yield from self.synthesis.images(ws, noise_mode)

    def style_affines(self) -> list[tuple[str, nn.Linear | torch.Tensor]]:
        """(block.layer, affine weight (in channels, w_dim) with its equalized-lr gain), in
        synthesis order; the RGB layers' extra 1/sqrt(fan_in) on the styles is left out (a
        per-layer scale)."""
        assert isinstance(self.synthesis, SynthesisNetwork)
        found: list[tuple[str, nn.Linear | torch.Tensor]] = []
        for block in self.synthesis.blocks():
            for name, layer in block.synthesis_layers():
                found.append((f"b{block.resolution}.{name}", layer.affine.effective_weight()))
        return found


# ---------------------------------------------------------------------- discriminator
class DiscriminatorBlock(nn.Module):
    """One resolution of the discriminator: two 3x3 convolutions, the second halving the size.

    'resnet' (StyleGAN2's discriminator) adds a downsampling 1x1 shortcut; 'skip' feeds the
    downsampled image into every block; 'orig' neither. The first block reads the image.
    """

    resample_filter: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        tmp_channels: int,
        out_channels: int,
        resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        resample_taps: Sequence[float] = DEFAULT_RESAMPLE_TAPS,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"unknown discriminator architecture {architecture!r}")
        self.in_channels, self.resolution, self.architecture = in_channels, resolution, architecture
        self.register_buffer("resample_filter", ops.fir_filter(resample_taps))
        conv: dict[str, Any] = {"activation": "lrelu", "conv_clamp": conv_clamp}
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, **conv)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, **conv)
        self.conv1 = Conv2dLayer(
            tmp_channels, out_channels, 3, down=2, resample_taps=resample_taps, **conv
        )
        if architecture == "resnet":
            self.skip = Conv2dLayer(
                tmp_channels, out_channels, 1, bias=False, down=2, resample_taps=resample_taps
            )

    def forward(
        self, x: torch.Tensor | None, img: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.in_channels == 0 or self.architecture == "skip":
            assert img is not None
            from_image = self.fromrgb(img)
            x = from_image if x is None else x + from_image
            img = (
                ops.downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
            )
        assert x is not None
        if self.architecture == "resnet":
            shortcut = self.skip(x, gain=RESIDUAL_GAIN)
            x = shortcut + self.conv1(self.conv0(x), gain=RESIDUAL_GAIN)
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class MinibatchStdLayer(nn.Module):
    """Appends the within-group standard deviation of the features (see `ops.minibatch_stddev`)."""

    def __init__(self, group_size: int | None, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ops.minibatch_stddev(x, self.group_size or x.shape[0], self.num_channels)


class DiscriminatorEpilogue(nn.Module):
    """The 4x4 end: minibatch std, a 3x3 convolution, two dense layers to one logit (or, for a
    conditional discriminator, a projection onto the class embedding)."""

    def __init__(
        self,
        in_channels: int,
        cmap_dim: int,
        resolution: int,
        img_channels: int,
        architecture: str = "resnet",
        mbstd_group_size: int | None = 4,
        mbstd_num_channels: int = 1,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.cmap_dim, self.architecture = cmap_dim, architecture
        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, 1, activation="lrelu")
        self.mbstd = (
            MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels else None
        )
        self.conv = Conv2dLayer(
            in_channels + mbstd_num_channels,
            in_channels,
            3,
            activation="lrelu",
            conv_clamp=conv_clamp,
        )
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, cmap_dim if cmap_dim > 0 else 1)

    def forward(
        self, x: torch.Tensor, img: torch.Tensor | None, cmap: torch.Tensor | None
    ) -> torch.Tensor:
        if self.architecture == "skip":
            assert img is not None
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.out(self.fc(x.flatten(1)))
        if self.cmap_dim > 0:  # projection discriminator: the logit is <features, class map>
            assert cmap is not None
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class StyleGAN2Discriminator(nn.Module):
    """image (N, C, H, W) [, labels (N, c_dim)] -> logits (N, 1)."""

    def __init__(
        self,
        img_resolution: int,
        img_channels: int,
        channels: Mapping[int, int],
        architecture: str = "resnet",
        resample_taps: Sequence[float] = DEFAULT_RESAMPLE_TAPS,
        conv_clamp: float | None = None,
        mbstd_group_size: int | None = 4,
        mbstd_num_channels: int = 1,
        mapping: MappingNetwork | None = None,
    ) -> None:
        super().__init__()
        log2 = int(math.log2(img_resolution))
        if img_resolution < 8 or 2**log2 != img_resolution:
            raise ValueError(f"the input resolution must be a power of 2, not {img_resolution}")
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.c_dim = 0 if mapping is None else mapping.c_dim
        cmap_dim = 0 if mapping is None else mapping.w_dim
        self.block_resolutions = [2**i for i in range(log2, 2, -1)]
        for resolution in self.block_resolutions:
            block = DiscriminatorBlock(
                channels[resolution] if resolution < img_resolution else 0,
                channels[resolution],
                channels[resolution // 2],
                resolution,
                img_channels,
                architecture=architecture,
                resample_taps=resample_taps,
                conv_clamp=conv_clamp,
            )
            setattr(self, f"b{resolution}", block)
        if mapping is not None:
            self.mapping = mapping
        self.b4 = DiscriminatorEpilogue(
            channels[4],
            cmap_dim,
            4,
            img_channels,
            architecture=architecture,
            mbstd_group_size=mbstd_group_size,
            mbstd_num_channels=mbstd_num_channels,
            conv_clamp=conv_clamp,
        )

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x: torch.Tensor | None = None
        image: torch.Tensor | None = img.to(torch.float32)
        for resolution in self.block_resolutions:
            x, image = getattr(self, f"b{resolution}")(x, image)
        cmap = self.mapping(None, c) if self.c_dim > 0 else None
        assert x is not None
        return self.b4(x, image, cmap)


# ---------------------------------------------------------------------- from network pickles
def generator_from_record(record: PersistentRecord) -> StyleGAN2Generator:
    """The StyleGAN2 generator a pickle's `G` / `G_ema` record describes, weights loaded, eval."""
    _expect(record, "Generator", "generator")
    mapping_record = _child(record, "mapping")
    synthesis_record = _child(record, "synthesis")
    blocks = [rec for rec in synthesis_record.children().values() if _is_record(rec)]
    if any(block.class_name != "SynthesisBlock" for block in blocks):
        kinds = sorted({block.class_name for block in blocks})
        raise CheckpointError(
            f"this generator's synthesis is built of {', '.join(kinds)}: not the StyleGAN2 "
            "architecture (a StyleGAN3 generator?); the StyleGAN2 reader cannot build it"
        )
    with refuse_inconsistent("generator"):
        mapping = _mapping_from_record(mapping_record)
        synthesis = _synthesis_from_record(synthesis_record)
        generator = StyleGAN2Generator(mapping, synthesis)
    _adopt_layer_settings(generator, record)
    load_weights(generator, record.tensors(), "generator")
    return generator


def discriminator_from_record(record: PersistentRecord) -> StyleGAN2Discriminator:
    """The StyleGAN2-family discriminator of a pickle's `D` record, weights loaded, eval mode."""
    _expect(record, "Discriminator", "discriminator")
    resolution = _int(record, "img_resolution")
    blocks = [_child(record, f"b{res}") for res in _int_list(record, "block_resolutions")]
    epilogue = _child(record, "b4")
    for block in blocks:
        _expect(block, "DiscriminatorBlock", "discriminator block")
    _expect(epilogue, "DiscriminatorEpilogue", "discriminator epilogue")
    architecture = _uniform(
        [_str(rec, "architecture") for rec in [*blocks, epilogue]], "architecture"
    )
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"discriminator architecture {architecture!r} is not supported")
    channels = {4: _int(epilogue, "in_channels")}
    for block in blocks:
        conv1 = _child(block, "conv1")
        channels[_int(block, "resolution")] = _tensor(conv1, "weight").shape[1]
    mbstd = epilogue.child("mbstd")
    mapping = None
    if _int(record, "c_dim") > 0:
        mapping = _mapping_from_record(_child(record, "mapping"))
    with refuse_inconsistent("discriminator"):
        discriminator = StyleGAN2Discriminator(
            resolution,
            _int(record, "img_channels"),
            channels,
            architecture=architecture,
            resample_taps=_resample_taps(blocks[0]),
            mbstd_group_size=None if mbstd is None else mbstd.attribute("group_size"),
            mbstd_num_channels=0 if mbstd is None else _int(mbstd, "num_channels"),
            mapping=mapping,
        )
    _adopt_layer_settings(discriminator, record)
    load_weights(discriminator, record.tensors(), "discriminator")
    return discriminator


def load_weights(network: nn.Module, weights: Mapping[str, torch.Tensor], what: str) -> None:
    """Load `weights` by name, all of them and nothing else, in fp32; eval mode."""
    expected = network.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = sorted(
        name for name in set(expected) & set(weights) if expected[name].shape != weights[name].shape
    )
    if missing or unexpected or wrong:
        problems = [
            f"{label}: {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}"
            for label, names in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", wrong),
            )
            if names
        ]
        raise CheckpointError(
            f"the {what}'s weights do not fit the StyleGAN2 architecture ({'; '.join(problems)})"
        )
    network.load_state_dict({name: tensor.float() for name, tensor in weights.items()}, strict=True)
    network.float().eval().requires_grad_(False)


def _mapping_from_record(record: PersistentRecord) -> MappingNetwork:
    _expect(record, "MappingNetwork", "mapping network")
    num_layers = _int(record, "num_layers")
    layers = [_child(record, f"fc{index}") for index in range(num_layers)]
    for layer in layers:
        _expect(layer, "FullyConnectedLayer", "mapping layer")
    activation = _uniform([_str(layer, "activation") for layer in layers], "mapping activation")
    if activation not in ops.ACTIVATION_GAINS:
        raise CheckpointError(f"mapping activation {activation!r} is not supported")
    lr_multiplier = _uniform([float(layer.attribute("bias_gain", 1)) for layer in layers], "lr")
    for layer in layers:  # the stored gain must be the equalized-lr one this code computes
        fan_in = _tensor(layer, "weight").shape[1]
        stored = float(layer.attribute("weight_gain", 0))
        if not math.isclose(stored, ops.equalized_gain(fan_in, lr_multiplier), rel_tol=1e-6):
            raise CheckpointError(f"a mapping layer with an unexpected weight gain ({stored})")
    c_dim = _int(record, "c_dim")
    embed_features = _tensor(_child(record, "embed"), "weight").shape[0] if c_dim > 0 else 0
    num_ws = record.attribute("num_ws")
    return MappingNetwork(
        z_dim=_int(record, "z_dim"),
        c_dim=c_dim,
        w_dim=_int(record, "w_dim"),
        num_ws=None if num_ws is None else int(num_ws),
        layer_features=[_tensor(layer, "weight").shape[0] for layer in layers],
        embed_features=embed_features,
        activation=activation,
        lr_multiplier=lr_multiplier,
    )


def _synthesis_from_record(record: PersistentRecord) -> SynthesisNetwork:
    _expect(record, "SynthesisNetwork", "synthesis network")
    resolutions = _int_list(record, "block_resolutions")
    blocks = [_child(record, f"b{res}") for res in resolutions]
    architecture = _uniform([_str(block, "architecture") for block in blocks], "architecture")
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"synthesis architecture {architecture!r} is not supported")
    channels: dict[int, int] = {}
    layers: list[PersistentRecord] = []
    for block in blocks:
        conv1 = _child(block, "conv1")
        channels[_int(block, "resolution")] = _tensor(conv1, "weight").shape[0]
        for name, up in (("conv0", 2), ("conv1", 1)):
            layer = block.child(name)
            if layer is None:
                continue
            _expect(layer, "SynthesisLayer", "synthesis layer")
            kernel = _tensor(layer, "weight").shape[-1]
            if _int(layer, "up") != up or layer.attribute("padding", kernel // 2) != kernel // 2:
                raise CheckpointError(
                    f"the synthesis layer {name} at {block.attribute('resolution')} px has an "
                    "unsupported upsampling or padding"
                )
            layers.append(layer)
    use_noise = _uniform(
        [bool(layer.attribute("use_noise", True)) for layer in layers], "use_noise"
    )
    return SynthesisNetwork(
        w_dim=_int(record, "w_dim"),
        img_resolution=_int(record, "img_resolution"),
        img_channels=_int(record, "img_channels"),
        channels=channels,
        architecture=architecture,
        resample_taps=_resample_taps(blocks[0]),
        use_noise=use_noise,
    )


@contextmanager
def refuse_inconsistent(what: str) -> Iterator[None]:
    """A pickle whose stored settings contradict each other cannot be built: say so."""
    try:
        yield
    except (ValueError, KeyError) as exc:
        raise CheckpointError(
            f"this {what}'s stored settings do not fit together ({exc})"
        ) from None


def _adopt_layer_settings(network: nn.Module, record: PersistentRecord) -> None:
    """Give every layer the activation and activation clamp its record stores, so that layers
    of one network may differ (the shortcuts, for one, are linear and never clamped)."""
    for name, module in network.named_modules():
        if not isinstance(module, (Conv2dLayer, SynthesisLayer, ToRGBLayer)):
            continue
        layer = _record_at(record, name)
        clamp = layer.attribute("conv_clamp")
        if clamp is not None and not isinstance(clamp, (int, float)):
            raise CheckpointError(f"the layer {name} has an unreadable conv_clamp {clamp!r}")
        module.conv_clamp = None if clamp is None else float(clamp)
        if not isinstance(module, ToRGBLayer):
            _expect_activation(layer)
            module.activation = _str(layer, "activation")


def _record_at(record: PersistentRecord, path: str) -> PersistentRecord:
    for name in path.split("."):
        record = _child(record, name)
    return record


def _resample_taps(block: PersistentRecord) -> Sequence[float]:
    """The 1-D taps behind a block's stored 2-D filter (loading replaces the filter itself)."""
    stored = _tensor(block, "resample_filter")
    if stored.ndim != 2 or stored.shape[0] != stored.shape[1]:
        raise CheckpointError(f"an unsupported resampling filter of shape {tuple(stored.shape)}")
    return stored[0].tolist()  # only its length matters: the buffer's values are loaded


def _is_record(value: Any) -> bool:
    return isinstance(value, PersistentRecord)


def _expect(record: PersistentRecord | None, class_name: str, what: str) -> None:
    if record is None:
        raise CheckpointError(f"the network pickle has no {what}")
    if record.class_name != class_name:
        raise CheckpointError(
            f"expected a {class_name} for the {what}, found a {record.class_name}: not a "
            "StyleGAN2 network GANViz can build"
        )


def _expect_activation(record: PersistentRecord) -> None:
    activation = _str(record, "activation")
    if activation not in ops.ACTIVATION_GAINS:
        raise CheckpointError(f"a {record.class_name} with activation {activation!r}: unsupported")


def _child(record: PersistentRecord, name: str) -> PersistentRecord:
    child = record.child(name)
    if child is None:
        raise CheckpointError(f"the {record.class_name} in this pickle has no '{name}'")
    return child


def _tensor(record: PersistentRecord, name: str) -> torch.Tensor:
    tensor = record.tensors().get(name)
    if tensor is None:
        raise CheckpointError(f"the {record.class_name} in this pickle has no tensor '{name}'")
    return tensor


def _int(record: PersistentRecord, name: str) -> int:
    value = record.attribute(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckpointError(f"the {record.class_name} in this pickle has no integer '{name}'")
    return value


def _int_list(record: PersistentRecord, name: str) -> list[int]:
    value = record.attribute(name)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
        raise CheckpointError(f"the {record.class_name} in this pickle has no list '{name}'")
    return list(value)


def _str(record: PersistentRecord, name: str) -> str:
    value = record.attribute(name)
    if not isinstance(value, str):
        raise CheckpointError(f"the {record.class_name} in this pickle has no '{name}' setting")
    return value


def _uniform(values: Sequence[Any], what: str) -> Any:
    """The one value all layers share; GANViz's networks take these per network, not per layer."""
    distinct = {repr(value) for value in values}
    if len(distinct) != 1:
        raise CheckpointError(
            f"layers of this network differ in {what} ({', '.join(sorted(distinct))}): unsupported"
        )
    return values[0]
