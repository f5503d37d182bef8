"""GANViz's own StyleGAN2 and StyleGAN3 networks in plain PyTorch (no compiled ops, any device).

Written in this project from the papers (Karras et al. 2020, "Analyzing and Improving the Image
Quality of StyleGAN"; Karras et al. 2021, "Alias-Free Generative Adversarial Networks"). Their
parameter names follow the files they read (NVIDIA's network pickles, rosinality's checkpoints),
so that weights load by name; the code is ours.

`StyleGenerator` is what the rest of GANViz sees of any style-based generator: a mapping from
(z, class) to per-layer styles w, a synthesis from w to an image, and the controls the explorer
offers (truncation toward the average w with a layer cutoff, style mixing, noise mode, the
style-modulation weights SeFa factorises, and a preview after each synthesis block).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import torch
from torch import nn

NOISE_MODES = ("const", "random", "none")


class StyleGenerator(nn.Module):
    """z -> w (mapping) -> image (synthesis). Calling it with (N, z_dim) latents gives images
    at truncation 1 with constant noise, which is how GANViz compares it with the file's own
    code; images are not bounded to [-1, 1]."""

    z_dim: int
    c_dim: int  # classes of a conditional model (0: unconditional)
    w_dim: int
    num_ws: int  # how many style vectors the synthesis takes
    img_resolution: int
    img_channels: int
    mapping: nn.Module
    synthesis: nn.Module

    @property
    def w_avg(self) -> torch.Tensor:
        """The mapping's tracked average w, (w_dim,): the centre truncation pulls toward."""
        return cast(torch.Tensor, self.mapping.w_avg)

    def map(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        """(N, num_ws, w_dim) styles; the first `truncation_cutoff` layers truncated (all if None)."""
        ws = self.mapping(z, self._labels(c, z))
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        return self.synthesis(ws, noise_mode=noise_mode)

    def forward(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: str = "const",
    ) -> torch.Tensor:
        return self.synthesize(self.map(z, c, truncation_psi, truncation_cutoff), noise_mode)

    def previews(self, ws: torch.Tensor, noise_mode: str = "const") -> Iterator[torch.Tensor]:
        """Images after each synthesis block, coarse to full size (the last is the output).
        A synthesis without intermediate images yields only the output."""
        yield self.synthesize(ws, noise_mode)

    def style_affines(self) -> list[tuple[str, nn.Linear | torch.Tensor]]:
        """(layer name, weight (channels, w_dim)) of every style modulation, in synthesis order:
        what SeFa factorises."""
        raise NotImplementedError

    def feature_layers(self) -> list[str]:
        """Module names whose outputs the Networks tab lists, in the order they run: the
        mapping's layers, then every styled synthesis layer (each has a style affine)."""
        names = []
        for name, module in self.named_modules():
            children = dict(module.named_children())
            mapping_layer = name.startswith("mapping.") and name.count(".") == 1
            styled_layer = name.startswith("synthesis.") and "affine" in children
            if (mapping_layer and not children) or styled_layer:
                names.append(name)
        return names

    def _labels(self, c: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor | None:
        if self.c_dim == 0:
            return None
        if c is None:  # class 0 for every sample, unless a class is chosen
            c = torch.zeros(z.shape[0], self.c_dim, device=z.device, dtype=z.dtype)
            c[:, 0] = 1
        return c


def truncate(
    ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None
) -> torch.Tensor:
    """Pull styles toward the average: w_avg + psi (w - w_avg), on the first `cutoff` layers."""
    if psi == 1:
        return ws
    pulled = w_avg.lerp(ws, psi)
    if cutoff is None or cutoff >= ws.shape[1]:
        return pulled
    return torch.cat([pulled[:, :cutoff], ws[:, cutoff:]], dim=1)


def mix_styles(ws: torch.Tensor, other: torch.Tensor, first: int, last: int) -> torch.Tensor:
    """`ws` with layers first..last (inclusive) taken from `other` (style mixing)."""
    mixed = ws.clone()
    mixed[:, first : last + 1] = other[:, first : last + 1]
    return mixed


class WholeGroups(nn.Module):
    """A StyleGAN discriminator seen as D(images) for any batch size.

    Its minibatch-standard-deviation layer compares samples in groups of a fixed size and
    needs the batch to split into whole groups; a batch that does not is padded with copies
    of its last sample, whose verdicts are dropped. (Each verdict depends on the samples
    grouped with it: that is the layer's design.)"""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator
        sizes = [getattr(m, "group_size", None) for m in discriminator.modules()]
        self.group_size = max([int(g) for g in sizes if isinstance(g, int)] or [1])
        self.train(discriminator.training)

    def forward(self, images: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        count = images.shape[0]
        short = -count % self.group_size if count > self.group_size else 0
        if short:
            images = torch.cat([images, images[-1:].expand(short, *images.shape[1:])])
            if c is not None:
                c = torch.cat([c, c[-1:].expand(short, *c.shape[1:])])
        return self.discriminator(images, c)[:count]
