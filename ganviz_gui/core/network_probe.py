"""Looking into one forward pass: a layer's activations for a latent, and D's saliency.

- `layer_activations`: what a chosen layer of G outputs for one latent (feature maps for a
  convolution, a vector for a linear layer), as the StyleGAN3 visualizer's layer view shows.
- `saliency`: |dD(x)/dx| for one image: the pixels D's verdict is most sensitive to
  (Simonyan et al. 2014's gradient saliency).
Both run in eval mode on the module given (pass a copy when the weights are being trained).
`take_forward_pass_apart` puts them together for one latent: what the window's forward-pass
tab draws, as numpy pictures and a line of text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ganviz_gui.core.losses import d_outputs
from ganviz_gui.core.sample_images import image_grid

if TYPE_CHECKING:
    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.network_stats import LayerInfo

MAX_MAPS = 64  # feature maps drawn of one layer (activation_picture's limit)


def layer_activations(network: nn.Module, inputs: torch.Tensor, layer_name: str) -> np.ndarray:
    """The output of `layer_name` (a name from `named_modules`) for one input, batch removed."""
    layer = dict(network.named_modules()).get(layer_name)
    if layer is None:
        raise KeyError(f"the network has no layer named {layer_name!r}")
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            network(inputs.reshape(1, -1) if inputs.dim() == 1 else inputs[:1])
    finally:
        handle.remove()
        network.train(was_training)
    if not captured:
        raise ValueError(f"layer {layer_name!r} did not run in the forward pass")
    return captured[0][0].float().cpu().numpy()


def activation_picture(activations: np.ndarray, max_maps: int = MAX_MAPS) -> np.ndarray:
    """Feature maps (C, H, W) tiled as one (rows, cols, 3) uint8 picture, at most `max_maps`;
    a vector (F,) as one row of cells."""
    if activations.ndim == 1:
        activations = activations[:, None, None]
        max_maps = max(max_maps, 1024)  # a vector's units are single cells: show many more
    maps = activations.reshape(-1, *activations.shape[-2:])[:max_maps].astype(np.float64)
    # Each map on its own range (their scales differ); single values share one range, as a
    # lone value has no range of its own.
    axes = (0, 1, 2) if maps.shape[-2:] == (1, 1) else (1, 2)
    low = maps.min(axis=axes, keepdims=True)
    high = maps.max(axis=axes, keepdims=True)
    scaled = (maps - low) / np.where(high > low, high - low, 1.0)  # [0, 1] per map
    tiles = (scaled * 2 - 1)[:, None]  # (C, 1, H, W) in [-1, 1], as image_grid expects
    columns = math.ceil(math.sqrt(len(tiles))) if maps.shape[-1] > 1 else min(len(tiles), 32)
    return image_grid(tiles, columns, padding=1 if maps.shape[-1] > 1 else 0)


def saliency(discriminator: nn.Module, loss: str, image: torch.Tensor) -> tuple[np.ndarray, float]:
    """(|dD/dx| per pixel, max over channels, as (H, W); D's output on the image)."""
    x = image.detach().float().reshape(1, *image.shape[-3:]).clone().requires_grad_(True)
    was_training = discriminator.training
    discriminator.eval()
    try:
        with torch.enable_grad():
            output = d_outputs(loss, discriminator(x)).sum()
            (gradient,) = torch.autograd.grad(output, x)
    finally:
        discriminator.train(was_training)
    return gradient[0].abs().amax(dim=0).cpu().numpy(), float(output.detach())


@dataclass
class ForwardPass:
    """One latent through G (and D): the chosen layer's activations, the sample, D's saliency."""

    text: str  # what was taken apart, or why it could not be
    activations: np.ndarray | None = None  # activation_picture of the layer; None: see text
    sample: np.ndarray | None = None  # (H, W, 3) uint8, for image generators
    saliency: np.ndarray | None = None  # |dD/dx| per pixel, where there is a D


def build_networks(generator_file: GeneratorFile) -> dict[str, Any]:
    """Copies of a generator file's G (EMA) and, where it has one, D with its loss:
    {"generator": G, "discriminator": D, "loss": name}."""
    networks: dict[str, Any] = {"generator": generator_file.build_generator("ema")}
    critic = generator_file.build_critic()
    if critic is not None:
        networks["discriminator"], networks["loss"] = critic
    return networks


def take_forward_pass_apart(
    networks: dict[str, Any], file_name: str, network: str, layer: str, z: torch.Tensor
) -> ForwardPass:
    """Latent `z` (1, Z) through G: `layer` of `network` ("generator" reads G on z,
    "discriminator" reads D on G(z)), the sample, and D's saliency on it."""
    with torch.no_grad():
        sample = networks["generator"](z.float())
    module = networks.get(network)
    if module is None:
        return ForwardPass(f"{file_name} carries no {network}.")
    try:
        inputs = z.float() if network == "generator" else sample
        activations = layer_activations(module, inputs, layer)
    except Exception as exc:  # a TorchScript module without hooks, a layer that did not run
        return ForwardPass(f"Cannot read layer {layer}: {exc}")
    taken = ForwardPass(
        f"{layer}: {activations.size:,} values, shape {tuple(activations.shape)}, "
        f"range {activations.min():.3g} to {activations.max():.3g}",
        activations=activation_picture(activations),
    )
    if activations.ndim == 3 and activations.shape[0] > MAX_MAPS:
        taken.text += f" (the first {MAX_MAPS} of {activations.shape[0]} maps)"
    if sample.dim() == 4:
        taken.sample = image_grid(sample.numpy(), 1, padding=0)
        if "discriminator" in networks:
            heat, verdict = saliency(networks["discriminator"], networks["loss"], sample[0])
            taken.saliency = heat
            taken.text += f". D says {verdict:.3f} on the sample; below it, |dD/dx| per pixel."
    else:
        point = sample[0].tolist()
        taken.text += f". G(z) = ({point[0]:+.3f}, {point[1]:+.3f})"
    return taken


def describe_generator_file(generator_file: GeneratorFile) -> dict[str, list[LayerInfo]]:
    """The layer table of a generator file's own networks (a file with no run settings): as the
    file recorded it where it did (a TorchScript program's layers cannot be hooked)."""
    from ganviz_gui.core.network_stats import describe_networks

    if generator_file.layers:
        return generator_file.layers

    networks = build_networks(generator_file)
    return describe_networks(
        networks["generator"],
        networks.get("discriminator"),
        generator_file.latent_dim,
        generator_file.sample_shape,
    )
