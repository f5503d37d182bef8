"""StyleGAN's own controls, for the explorer and `ganviz sample`: planes in z or in W,
truncation with a layer cutoff, style mixing, noise mode and class.

A plane in W lies around the mapping's average w, in units of W's spread: its coordinates
are w_hat = (w - w_avg) / spread, where spread is the root-mean-square deviation of mapped
seeded latents from w_avg (per dimension). So, as in z, u = 1 means one typical deviation.

`StyledDecoding` is the module the explorer decodes with: plane latents (z, or w_hat in W) in,
images out, with the controls applied; it is rebuilt (cheaply) whenever a control changes.
SeFa for style-based generators (Shen & Zhou 2021, section 3.2) factorises the style
modulation weights of the synthesis layers together: the directions of W they stretch most.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganviz_gui.core.latent_plane import LatentPlane
from ganviz_gui.core.stylegan import NOISE_MODES, StyleGenerator, mix_styles, truncate

SPREAD_SAMPLES = 2048


@dataclass(frozen=True)
class StyleControls:
    space: str = "z"  # where the plane lies: "z" or "w"
    psi: float = 1.0  # truncation toward w_avg
    cutoff: int | None = None  # truncate the first `cutoff` layers only (None: all)
    mix_latent: torch.Tensor | None = None  # a second latent (in `space`), for style mixing
    mix_layers: tuple[int, int] = (0, -1)  # first and last layer taken from it (inclusive)
    noise_mode: str = "const"
    class_index: int = 0  # for conditional generators

    def __post_init__(self) -> None:
        if self.space not in ("z", "w"):
            raise ValueError(f"a plane lies in z or in w, not {self.space!r}")
        if self.noise_mode not in NOISE_MODES:
            raise ValueError(f"noise mode {self.noise_mode!r}: one of {', '.join(NOISE_MODES)}")

    def describe(self, num_ws: int, classes: int = 0) -> str:
        """What the controls do, for the explorer's read-out."""
        parts = [f"plane in {'W' if self.space == 'w' else 'z'}"]
        if self.psi != 1:
            cut = self.cutoff
            layers = "all layers" if cut is None or cut >= num_ws else f"first {cut} layers"
            parts.append(f"psi {self.psi:.2f} on {layers}")
        if self.mix_latent is not None:
            first, last = self.resolved_mix_layers(num_ws)
            parts.append(f"layers {first}-{last} mixed")
        if self.noise_mode != "const":
            parts.append(f"noise {self.noise_mode}")
        if classes and self.space == "z":  # a plane in W is past the mapping, and its class
            parts.append(f"class {self.class_index}")
        return ", ".join(parts)

    def resolved_mix_layers(self, num_ws: int) -> tuple[int, int]:
        first, last = self.mix_layers
        last = num_ws - 1 if last < 0 else min(last, num_ws - 1)
        return max(0, min(first, last)), last


def w_spread(generator: StyleGenerator, samples: int = SPREAD_SAMPLES) -> float:
    """RMS per-dimension deviation of mapped seeded latents from w_avg: W's unit of length."""
    z = torch.randn(samples, generator.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ws = generator.map(z.to(generator.w_avg.device), _labels(generator, samples, 0))[:, 0]
    return float((ws - generator.w_avg).pow(2).mean().sqrt().clamp_min(1e-8))


def _labels(generator: StyleGenerator, n: int, class_index: int) -> torch.Tensor | None:
    if generator.c_dim == 0:
        return None
    labels = torch.zeros(n, generator.c_dim, device=generator.w_avg.device)
    labels[:, class_index % generator.c_dim] = 1
    return labels


class StyledDecoding(nn.Module):
    """Plane latents -> images under the controls (z: (N, z_dim); W: (N, w_dim) w_hat)."""

    def __init__(self, generator: StyleGenerator, controls: StyleControls, spread: float = 1.0):
        super().__init__()
        self.generator, self.controls, self.spread = generator, controls, spread

    def styles(self, latents: torch.Tensor) -> torch.Tensor:
        """(N, num_ws, w_dim) styles for plane latents, truncated and mixed."""
        g, c = self.generator, self.controls
        ws = self._untruncated(latents)
        ws = truncate(ws, g.w_avg, c.psi, c.cutoff)
        if c.mix_latent is not None:
            other = self._untruncated(c.mix_latent.reshape(1, -1).to(latents.device))
            other = truncate(other, g.w_avg, c.psi, c.cutoff).expand_as(ws)
            first, last = c.resolved_mix_layers(g.num_ws)
            ws = mix_styles(ws, other, first, last)
        return ws

    def _untruncated(self, latents: torch.Tensor) -> torch.Tensor:
        g = self.generator
        if self.controls.space == "w":
            w = g.w_avg + self.spread * latents
            return w.unsqueeze(1).expand(-1, g.num_ws, -1)
        return g.mapping(latents, _labels(g, latents.shape[0], self.controls.class_index))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.generator.synthesize(self.styles(latents), self.controls.noise_mode)

    def previews(self, latents: torch.Tensor):
        """Coarse images first (StyleGAN2's skip outputs), the full one last."""
        yield from self.generator.previews(self.styles(latents), self.controls.noise_mode)


def style_sefa_plane(generator: StyleGenerator, first: int = 0, second: int = 1) -> LatentPlane:
    """SeFa on the style modulations: the top right-singular vectors of all synthesis layers'
    affine weights stacked, each row (one channel's style) scaled to unit norm as SeFa does, so
    a channel counts by its direction, not by its weight's scale."""
    weights = []
    for _, weight in generator.style_affines():
        matrix = weight.weight if isinstance(weight, nn.Linear) else weight
        matrix = matrix.detach().float().cpu()
        weights.append(matrix / matrix.norm(dim=1, keepdim=True).clamp_min(1e-12))
    stacked = torch.cat(weights, dim=0)  # (sum of channels, w_dim)
    _, strengths, directions = torch.linalg.svd(stacked, full_matrices=False)
    ratio = float(strengths[first] / strengths[second]) if strengths[second] > 0 else float("inf")
    return LatentPlane(
        torch.zeros(generator.w_dim),
        directions[first],
        directions[second],
        f"SeFa on the style weights, directions {first + 1}-{second + 1} (in W, stretch ratio "
        f"{ratio:.2f})",
    )


def with_controls(
    generator: StyleGenerator,
    psi: float = 1.0,
    cutoff: int | None = None,
    noise_mode: str = "const",
    class_index: int = 0,
) -> StyledDecoding:
    """G taking (N, z_dim) latents with truncation, noise and class set (for `ganviz sample`)."""
    return StyledDecoding(
        generator, StyleControls("z", psi, cutoff, None, (0, -1), noise_mode, class_index)
    )


def style_pca_plane(generator: StyleGenerator, samples: int = 2000) -> LatentPlane:
    """GANSpace for style-based generators (Härkönen et al. 2020): the principal directions of
    mapped seeded latents in W, through the average w."""
    spread = w_spread(generator)
    z = torch.randn(samples, generator.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ws = generator.map(z.to(generator.w_avg.device), _labels(generator, samples, 0))[:, 0]
    w_hat = ((ws - generator.w_avg) / spread).float().cpu()
    _, strengths, axes = torch.linalg.svd(w_hat - w_hat.mean(0), full_matrices=False)
    share = strengths.pow(2) / strengths.pow(2).sum()
    return LatentPlane(
        torch.zeros(generator.w_dim),
        axes[0],
        axes[1],
        f"GANSpace: principal directions of W ({100 * share[0]:.0f}% and "
        f"{100 * share[1]:.0f}% of its variance)",
    )
