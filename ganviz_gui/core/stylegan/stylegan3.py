"""GANViz's StyleGAN3 generator (configurations T and R), built from NVIDIA network pickles.

Written from the paper (Karras et al. 2021, "Alias-Free Generative Adversarial Networks"): a
mapping network z -> w, then a synthesis network that starts from Fourier features whose
rotation and translation the first w predicts, and runs a stack of layers, each a modulated
convolution followed by the filtered leaky ReLU of `alias_free_ops`. Configuration T uses 3x3
convolutions and separable filters; R uses 1x1 convolutions and radially symmetric down
filters. Both come out of the same layer here: the stored filter's shape says which.

Modules and parameters are named like the pickle's own, so the weights load with a strict
`load_state_dict`. Every setting (sizes, paddings, gains, filter taps) is read from the
records' stored attributes and buffers, never derived again: what the file says is what runs.
Nothing from the pickle's embedded source is used or executed. Inference only: the magnitude
EMAs and w_avg are read, never updated; everything runs in float32.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.formats.network_pickle import PersistentRecord
from ganviz_gui.core.stylegan import NOISE_MODES, StyleGenerator
from ganviz_gui.core.stylegan.alias_free_ops import filtered_lrelu, resampled_size

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2)  # keeps unit variance through a leaky ReLU (He et al.)
DEMODULATION_EPS = 1e-8
MOMENT_EPS = 1e-8


# ---------------------------------------------------------------------- building blocks
class FullyConnectedLayer(nn.Module):
    """Linear layer with equalized learning rate: the stored weight and bias are multiplied by
    constant gains at run time (`weight_gain` = lr_multiplier / sqrt(in_features), `bias_gain`
    = lr_multiplier in NVIDIA's code; taken here as stored)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",
        weight_gain: float | None = None,
        bias_gain: float = 1.0,
        bias: bool = True,
    ):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"unsupported activation {activation!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.weight_gain = 1 / math.sqrt(in_features) if weight_gain is None else weight_gain
        self.bias_gain = bias_gain
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def effective_weight(self) -> torch.Tensor:
        """(out_features, in_features): the weight the layer actually multiplies by."""
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.bias_gain
        x = F.linear(x, self.effective_weight(), bias)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, LRELU_SLOPE) * LRELU_GAIN
        return x


def normalize_2nd_moment(x: torch.Tensor) -> torch.Tensor:
    """Scale each row to unit mean square (the mapping's input normalisation)."""
    return x * (x.square().mean(dim=1, keepdim=True) + MOMENT_EPS).rsqrt()


class MappingNetwork(nn.Module):
    """z (and a class embedding) -> w, broadcast to every synthesis layer. `w_avg` is the
    average w training tracked: truncation pulls toward it."""

    w_avg: torch.Tensor

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int,
        layers: Sequence[FullyConnectedLayer],
        embed: FullyConnectedLayer | None = None,
    ):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = len(layers)
        self.embed = embed
        for index, layer in enumerate(layers):
            self.add_module(f"fc{index}", layer)
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.to(torch.float32)))
        if self.c_dim > 0:
            if self.embed is None or c is None:
                raise ValueError("a conditional mapping needs class labels c")
            parts.append(normalize_2nd_moment(self.embed(c.to(torch.float32))))
        x = torch.cat(parts, dim=1)
        for index in range(self.num_layers):
            x = getattr(self, f"fc{index}")(x)
        return x.unsqueeze(1).expand(-1, self.num_ws, -1)


class SynthesisInput(nn.Module):
    """The synthesis input: `channels` Fourier features sin(2 pi (f . p + phase)) on a grid of
    `size` samples at `sampling_rate`, then a learned channel mix (a 1x1 convolution).

    The first w predicts a rotation (cos, sin) and a translation, applied to the coordinates
    before the features are evaluated (the paper's appendix on the input layer), after the
    user `transform` buffer (identity unless someone edited it). Frequencies that rotation
    cannot keep below the band limit fade out with `amplitudes`."""

    transform: torch.Tensor
    freqs: torch.Tensor
    phases: torch.Tensor

    def __init__(
        self,
        w_dim: int,
        channels: int,
        size: Sequence[int],
        sampling_rate: float,
        bandwidth: float,
        affine: FullyConnectedLayer,
    ):
        super().__init__()
        self.w_dim = w_dim
        self.channels = channels
        self.size = (int(size[0]), int(size[1]))  # (width, height)
        self.sampling_rate = float(sampling_rate)
        self.bandwidth = float(bandwidth)
        self.affine = affine  # w -> (cos, sin, translate x, translate y), before normalising
        self.weight = nn.Parameter(torch.zeros(channels, channels))
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", torch.zeros(channels, 2))
        self.register_buffer("phases", torch.zeros(channels))

    def coordinate_transforms(self, w: torch.Tensor) -> torch.Tensor:
        """(N, 3, 3): output pixel coordinates -> coordinates the features are evaluated at."""
        params = self.affine(w)
        params = params / params[:, :2].norm(dim=1, keepdim=True)  # a pure rotation
        cos, sin, shift_x, shift_y = params.unbind(dim=1)
        zeros, ones = torch.zeros_like(cos), torch.ones_like(cos)
        rotation = torch.stack([cos, -sin, zeros, sin, cos, zeros, zeros, zeros, ones], dim=1).view(
            -1, 3, 3
        )
        translation = torch.stack(
            [ones, zeros, -shift_x, zeros, ones, -shift_y, zeros, zeros, ones], dim=1
        ).view(-1, 3, 3)
        return rotation @ translation @ self.transform.unsqueeze(0)

    def sample_grid(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """(H, W, 2) (x, y) coordinates of the pixel centres, in units where the sampling
        rate is `sampling_rate` samples per unit and the origin is the grid's centre."""
        width, height = self.size
        xs = (
            torch.arange(width, device=device, dtype=dtype) + 0.5 - width / 2
        ) / self.sampling_rate
        ys = (
            torch.arange(height, device=device, dtype=dtype) + 0.5 - height / 2
        ) / self.sampling_rate
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([grid_x, grid_y], dim=-1)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        transforms = self.coordinate_transforms(w)
        # f . (A p + b) = (f A) . p + f . b: the transform moves into frequencies and phases.
        freqs = self.freqs.unsqueeze(0) @ transforms[:, :2, :2]  # (N, C, 2)
        phases = self.phases.unsqueeze(0) + (
            self.freqs.unsqueeze(0) @ transforms[:, :2, 2:]
        ).squeeze(2)
        nyquist = self.sampling_rate / 2
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth) / (nyquist - self.bandwidth)).clamp(
            0, 1
        )
        grid = self.sample_grid(w.device, w.dtype)  # (H, W, 2)
        x = torch.einsum("hwd,ncd->nhwc", grid, freqs) + phases[:, None, None, :]
        x = torch.sin(x * (2 * math.pi)) * amplitudes[:, None, None, :]
        x = x @ (self.weight / math.sqrt(self.channels)).t()  # equalized-lr channel mix
        return x.permute(0, 3, 1, 2).contiguous()


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    padding: int,
    demodulate: bool,
    input_gain: torch.Tensor | None = None,
) -> torch.Tensor:
    """Convolution whose input channels are scaled per sample by `styles` (N, in_channels),
    optionally demodulated: each output channel rescaled to unit expected magnitude.

    Modulating the activations instead of the weights gives the same result with one shared
    convolution for the whole batch (no per-sample weights, no grouped convolution)."""
    if demodulate:
        # Demodulation cancels any per-output-channel scale of the weight and any per-sample
        # scale of the styles; normalising both first only keeps the numbers in range.
        weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
    scale = styles if input_gain is None else styles * input_gain
    x = F.conv2d(x * scale[:, :, None, None], weight, padding=padding)
    if demodulate:
        energy = styles.square() @ weight.square().sum(dim=[2, 3]).t()  # (N, out_channels)
        x = x * (energy + DEMODULATION_EPS).rsqrt()[:, :, None, None]
    return x


class SynthesisLayer(nn.Module):
    """One alias-free layer: modulated convolution, then the filtered leaky ReLU.

    The input is first divided by its tracked RMS (`magnitude_ema`), so layers see unit-size
    signals. The last layer (`is_torgb`) makes the image: no demodulation, a linear
    activation, no resampling (its filters are None)."""

    magnitude_ema: torch.Tensor
    up_filter: torch.Tensor | None
    down_filter: torch.Tensor | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        affine: FullyConnectedLayer,
        conv_kernel: int,
        is_torgb: bool,
        up_factor: int,
        down_factor: int,
        padding: Sequence[int],
        up_filter_shape: Sequence[int] | None,
        down_filter_shape: Sequence[int] | None,
        conv_clamp: float | None,
        in_size: Sequence[int],
        out_size: Sequence[int],
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.affine = affine  # w -> per-input-channel styles
        self.conv_kernel = conv_kernel
        self.is_torgb = is_torgb
        self.up_factor, self.down_factor = up_factor, down_factor
        self.padding = [int(p) for p in padding]
        self.conv_clamp = conv_clamp
        self.in_size = (int(in_size[0]), int(in_size[1]))  # (width, height)
        self.out_size = (int(out_size[0]), int(out_size[1]))
        self.weight = nn.Parameter(torch.zeros(out_channels, in_channels, conv_kernel, conv_kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.register_buffer("up_filter", _filter_buffer(up_filter_shape))
        self.register_buffer("down_filter", _filter_buffer(down_filter_shape))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)
        if self.is_torgb:  # equalized lr of the (non-demodulated) RGB convolution
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel**2)
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            padding=self.conv_kernel - 1,  # a full convolution: the margin grows, then is cut
            demodulate=not self.is_torgb,
            input_gain=self.magnitude_ema.rsqrt(),
        )
        return filtered_lrelu(
            x,
            self.bias,
            self.up_filter,
            self.down_filter,
            up=self.up_factor,
            down=self.down_factor,
            padding=self.padding,
            gain=1.0 if self.is_torgb else LRELU_GAIN,
            slope=1.0 if self.is_torgb else LRELU_SLOPE,
            clamp=self.conv_clamp,
        )


def _filter_buffer(shape: Sequence[int] | None) -> torch.Tensor | None:
    return None if shape is None else torch.zeros(tuple(shape))


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> image: ws[:, 0] drives the input, ws[:, i + 1] layer i; the
    result is scaled by `output_scale`. Layers are submodules under their pickle names
    (L0_36_512, ...), so forward hooks on them see every feature map."""

    def __init__(
        self,
        w_dim: int,
        input_layer: SynthesisInput,
        layers: dict[str, SynthesisLayer],
        output_scale: float,
    ):
        super().__init__()
        self.w_dim = w_dim
        self.num_ws = len(layers) + 1
        self.output_scale = float(output_scale)
        self.input = input_layer
        self.layer_names = list(layers)
        for name, layer in layers.items():
            self.add_module(name, layer)

    def layers(self) -> Iterator[tuple[str, SynthesisLayer]]:
        for name in self.layer_names:
            yield name, getattr(self, name)

    def feature_maps(
        self, ws: torch.Tensor, noise_mode: str = "const"
    ) -> Iterator[tuple[str, torch.Tensor]]:
        """("input", x), then (layer name, x) after every layer; the last is the image
        before `output_scale`. A generator, so a caller keeps only the maps it wants."""
        ws = self._checked_ws(ws, noise_mode)
        x = self.input(ws[:, 0])
        yield "input", x
        for index, (name, layer) in enumerate(self.layers()):
            x = layer(x, ws[:, index + 1])
            yield name, x

    def forward(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        ws = self._checked_ws(ws, noise_mode)
        x = self.input(ws[:, 0])
        for index, (_, layer) in enumerate(self.layers()):
            x = layer(x, ws[:, index + 1])
        return x * self.output_scale if self.output_scale != 1 else x

    def _checked_ws(self, ws: torch.Tensor, noise_mode: str) -> torch.Tensor:
        # StyleGAN3 has no noise inputs: the mode is checked for the common interface only.
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, not {noise_mode!r}")
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be (N, {self.num_ws}, {self.w_dim}), not {tuple(ws.shape)}")
        return ws.to(torch.float32)


class StyleGAN3Generator(StyleGenerator):
    """Mapping + alias-free synthesis, behind GANViz's `StyleGenerator` interface."""

    mapping: MappingNetwork
    synthesis: SynthesisNetwork

    def __init__(
        self,
        mapping: MappingNetwork,
        synthesis: SynthesisNetwork,
        img_resolution: int,
        img_channels: int,
    ):
        super().__init__()
        self.z_dim = mapping.z_dim
        self.c_dim = mapping.c_dim
        self.w_dim = mapping.w_dim
        self.num_ws = synthesis.num_ws
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.mapping = mapping
        self.synthesis = synthesis

    def style_affines(self) -> list[tuple[str, nn.Linear | torch.Tensor]]:
        """(layer name, (in_channels, w_dim)) style affine of every synthesis layer, with its
        equalized-lr gain, in synthesis order. The input layer's affine (w -> rotation and
        translation, not channel styles) is left out: see `input_transform_affine`. The RGB
        layer's further constant style scale (1 / sqrt(in_channels)) is not included."""
        return [
            (name, layer.affine.effective_weight().detach())
            for name, layer in self.synthesis.layers()
        ]

    def input_transform_affine(self) -> torch.Tensor:
        """(4, w_dim): how w sets the input's (cos, sin, shift x, shift y), before the
        rotation part is normalised."""
        return self.synthesis.input.affine.effective_weight().detach()


# ---------------------------------------------------------------------- from a network pickle
def is_stylegan3_record(record: PersistentRecord) -> bool:
    """A generator record whose synthesis starts from a SynthesisInput (Fourier features)."""
    synthesis = record.child("synthesis")
    input_record = synthesis.child("input") if synthesis is not None else None
    return input_record is not None and input_record.class_name == "SynthesisInput"


def generator_from_record(record: PersistentRecord) -> StyleGAN3Generator:
    """Build a StyleGAN3 generator (T or R) from a pickle's `G` / `G_ema` record, with the
    record's weights loaded strictly, in eval mode and float32.

    Raises CheckpointError naming the part it does not understand."""
    if record.class_name != "Generator":
        raise CheckpointError(f"not a StyleGAN3 generator: a {record.class_name} record")
    synthesis_record = _required_child(record, "synthesis", "SynthesisNetwork")
    if not is_stylegan3_record(record):
        raise CheckpointError(
            "not a StyleGAN3 generator: its synthesis has no Fourier-feature input "
            "(a StyleGAN2-family network?)"
        )
    mapping = _mapping_from_record(_required_child(record, "mapping", "MappingNetwork"))
    synthesis = _synthesis_from_record(synthesis_record)
    img_resolution = int(_required(record, "img_resolution"))
    img_channels = int(_required(record, "img_channels"))
    _check_consistency(mapping, synthesis, img_resolution, img_channels)

    generator = StyleGAN3Generator(mapping, synthesis, img_resolution, img_channels)
    tensors = {name: tensor.to(torch.float32) for name, tensor in record.tensors().items()}
    try:
        generator.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"StyleGAN3 generator: the pickle's tensors do not fit its described layers ({exc})"
        ) from None
    return generator.to(torch.float32).eval()


def _mapping_from_record(record: PersistentRecord) -> MappingNetwork:
    z_dim, c_dim = int(_required(record, "z_dim")), int(_required(record, "c_dim"))
    w_dim = int(_required(record, "w_dim"))
    num_ws = _required(record, "num_ws")
    if num_ws is None:
        raise CheckpointError("StyleGAN3 mapping without num_ws (w not broadcast): unsupported")
    num_layers = int(_required(record, "num_layers"))
    layers = [_fc_from_record(_required_child(record, f"fc{i}")) for i in range(num_layers)]
    embed_record = record.child("embed")
    if c_dim > 0 and embed_record is None:
        raise CheckpointError("StyleGAN3 mapping: conditional (c_dim > 0) but no class embedding")
    embed = _fc_from_record(embed_record) if embed_record is not None else None
    if "w_avg" not in record.tensors():
        raise CheckpointError("StyleGAN3 mapping without a stored w_avg: truncation impossible")
    return MappingNetwork(z_dim, c_dim, w_dim, int(num_ws), layers, embed)


def _fc_from_record(record: PersistentRecord) -> FullyConnectedLayer:
    if record.class_name != "FullyConnectedLayer":
        raise CheckpointError(
            f"StyleGAN3: expected a FullyConnectedLayer, found {record.class_name}"
        )
    activation = _required(record, "activation")
    if activation not in ("linear", "lrelu"):
        raise CheckpointError(f"StyleGAN3: a fully connected layer with activation {activation!r}")
    has_bias = isinstance((record.attribute("_parameters") or {}).get("bias"), torch.Tensor)
    return FullyConnectedLayer(
        int(_required(record, "in_features")),
        int(_required(record, "out_features")),
        activation=activation,
        weight_gain=float(_required(record, "weight_gain")),
        bias_gain=float(_required(record, "bias_gain")),
        bias=has_bias,
    )


def _synthesis_from_record(record: PersistentRecord) -> SynthesisNetwork:
    input_record = _required_child(record, "input", "SynthesisInput")
    tensors = input_record.tensors()
    if tuple(tensors.get("transform", torch.empty(0)).shape) != (3, 3):
        raise CheckpointError("StyleGAN3 input: the transform is not a 3x3 matrix")
    input_layer = SynthesisInput(
        w_dim=int(_required(input_record, "w_dim")),
        channels=int(_required(input_record, "channels")),
        size=_pair(_required(input_record, "size"), "input size"),
        sampling_rate=float(_required(input_record, "sampling_rate")),
        bandwidth=float(_required(input_record, "bandwidth")),
        affine=_fc_from_record(_required_child(input_record, "affine")),
    )
    layer_names = _required(record, "layer_names")
    if not isinstance(layer_names, (list, tuple)) or not layer_names:
        raise CheckpointError("StyleGAN3 synthesis: no layer names stored")
    layers = {
        str(name): _layer_from_record(_required_child(record, str(name), "SynthesisLayer"), name)
        for name in layer_names
    }
    return SynthesisNetwork(
        w_dim=int(_required(record, "w_dim")),
        input_layer=input_layer,
        layers=layers,
        output_scale=float(_required(record, "output_scale")),
    )


def _layer_from_record(record: PersistentRecord, name: str) -> SynthesisLayer:
    buffers = record.attribute("_buffers") or {}
    weight = (record.attribute("_parameters") or {}).get("weight")
    if not isinstance(weight, torch.Tensor) or weight.ndim != 4:
        raise CheckpointError(f"StyleGAN3 layer {name}: no 4-D convolution weight")
    out_channels, in_channels, kernel_h, kernel_w = weight.shape
    conv_kernel = int(_required(record, "conv_kernel"))
    if (kernel_h, kernel_w) != (conv_kernel, conv_kernel):
        raise CheckpointError(
            f"StyleGAN3 layer {name}: weight {tuple(weight.shape)} is not "
            f"a {conv_kernel}x{conv_kernel} kernel"
        )
    filter_shapes = []
    for filter_name in ("up_filter", "down_filter"):
        taps = buffers.get(filter_name)
        if taps is not None and (not isinstance(taps, torch.Tensor) or taps.ndim not in (1, 2)):
            raise CheckpointError(
                f"StyleGAN3 layer {name}: {filter_name} is neither a 1-D "
                "(separable) nor a 2-D (radial) filter"
            )
        if isinstance(taps, torch.Tensor) and taps.ndim == 2 and taps.shape[0] != taps.shape[1]:
            raise CheckpointError(f"StyleGAN3 layer {name}: {filter_name} is not square")
        filter_shapes.append(None if taps is None else tuple(taps.shape))
    padding = _required(record, "padding")
    if not isinstance(padding, (list, tuple)) or len(padding) != 4:
        raise CheckpointError(f"StyleGAN3 layer {name}: padding {padding!r} is not 4 numbers")
    conv_clamp = record.attribute("conv_clamp")
    layer = SynthesisLayer(
        in_channels=int(in_channels),
        out_channels=int(out_channels),
        affine=_fc_from_record(_required_child(record, "affine")),
        conv_kernel=conv_kernel,
        is_torgb=bool(_required(record, "is_torgb")),
        up_factor=int(_required(record, "up_factor")),
        down_factor=int(_required(record, "down_factor")),
        padding=[int(p) for p in padding],
        up_filter_shape=filter_shapes[0],
        down_filter_shape=filter_shapes[1],
        conv_clamp=None if conv_clamp is None else float(conv_clamp),
        in_size=_pair(_required(record, "in_size"), f"layer {name} in_size"),
        out_size=_pair(_required(record, "out_size"), f"layer {name} out_size"),
    )
    _check_layer_sizes(layer, name)
    return layer


def _check_layer_sizes(layer: SynthesisLayer, name: str) -> None:
    """The stored sizes, kernel, factors, paddings and filter lengths must agree: if they do
    not, this is a layer we would compute differently from the original."""
    up_taps = 1 if layer.up_filter is None else layer.up_filter.shape[0]
    down_taps = 1 if layer.down_filter is None else layer.down_filter.shape[0]
    px0, px1, py0, py1 = layer.padding
    for axis, (before, after) in enumerate(((px0, px1), (py0, py1))):
        conv_size = layer.in_size[axis] + layer.conv_kernel - 1
        size = resampled_size(
            conv_size, up_taps, down_taps, layer.up_factor, layer.down_factor, before, after
        )
        if size != layer.out_size[axis]:
            raise CheckpointError(
                f"StyleGAN3 layer {name}: its stored sizes, paddings and filters disagree "
                f"({layer.in_size[axis]} -> {size}, stored {layer.out_size[axis]}); unsupported"
            )


def _check_consistency(
    mapping: MappingNetwork,
    synthesis: SynthesisNetwork,
    img_resolution: int,
    img_channels: int,
) -> None:
    if mapping.num_ws != synthesis.num_ws:
        raise CheckpointError(
            f"StyleGAN3: the mapping makes {mapping.num_ws} ws, the synthesis takes {synthesis.num_ws}"
        )
    size = synthesis.input.size
    for name, layer in synthesis.layers():
        if layer.in_size != size:
            raise CheckpointError(f"StyleGAN3 layer {name}: takes {layer.in_size}, gets {size}")
        size = layer.out_size
    last_name, last = list(synthesis.layers())[-1]
    if size != (img_resolution, img_resolution) or last.out_channels != img_channels:
        raise CheckpointError(
            f"StyleGAN3: the last layer {last_name} makes {last.out_channels}x{size}, "
            f"not the {img_channels}x{img_resolution}x{img_resolution} image the file describes"
        )
    if not last.is_torgb or any(layer.is_torgb for _, layer in list(synthesis.layers())[:-1]):
        raise CheckpointError("StyleGAN3: an RGB layer other than the last one: unsupported")


# ---------------------------------------------------------------------- record helpers
def _required(record: PersistentRecord, name: str) -> Any:
    if name not in record.state:
        raise CheckpointError(f"StyleGAN3 {record.class_name}: the pickle lacks its '{name}'")
    return record.state[name]


def _required_child(
    record: PersistentRecord, name: str, class_name: str | None = None
) -> PersistentRecord:
    child = record.child(name)
    if child is None:
        raise CheckpointError(f"StyleGAN3 {record.class_name}: no '{name}' submodule")
    if class_name is not None and child.class_name != class_name:
        raise CheckpointError(
            f"StyleGAN3 {record.class_name}.{name}: a {child.class_name}, expected {class_name}"
        )
    return child


def _pair(value: Any, what: str) -> tuple[int, int]:
    array = np.asarray(value).reshape(-1)
    if array.size == 1:
        return int(array[0]), int(array[0])
    if array.size != 2:
        raise CheckpointError(f"StyleGAN3: {what} {value!r} is not a (width, height) pair")
    return int(array[0]), int(array[1])
