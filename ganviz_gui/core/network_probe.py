"""Looking into one forward pass: a layer's activations for a latent, and D's saliency.

- `layer_activations`: what a chosen layer of G outputs for one latent (feature maps for a
  convolution, a vector for a linear layer), as the StyleGAN3 visualizer's layer view shows.
- `saliency`: |dD(x)/dx| for one image: the pixels D's verdict is most sensitive to
  (Simonyan et al. 2014's gradient saliency).
Both run in eval mode on the module given (pass a copy when the weights are being trained).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ganviz_gui.core.losses import d_outputs
from ganviz_gui.core.sample_images import image_grid


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


def activation_picture(activations: np.ndarray, max_maps: int = 64) -> np.ndarray:
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
