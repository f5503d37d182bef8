"""Planes in latent space, and paths between latents: the maths of the latent explorer.

A plane is an origin z0 and two orthonormal directions: z(u, v) = z0 + u*e1 + v*e2, with u and v
in units of the prior's standard deviation. Ways to choose one:

- `random_plane`: a seeded random orthonormal pair through the origin;
- `sefa_plane`: closed-form factorisation (Shen & Zhou, "SeFa", CVPR 2021): the directions the
  generator's first layer stretches most, the top right-singular vectors of its weight;
- `pca_plane`: GANSpace (Härkönen et al., NeurIPS 2020) for generators without a style space:
  PCA of the first layer's activations over sampled latents, carried back to latent space by a
  least-squares regression;
- `plane_through`: the plane through three chosen latents (e.g. three samples clicked); the
  plane keeps their (u, v) as its `anchors`, and `framed_on_anchors` centres it on them with a
  range (`anchor_extent`) that shows all three.

A plane's origin should be a latent the generator often sees (`typical_latent`): G(0) of a
DCGAN is a flat grey square, the least telling sample there is.

`interpolate` walks between two latents, linearly or along the great circle (slerp), which keeps
Gaussian latents at a typical norm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    import numpy as np


@dataclass
class LatentPlane:
    origin: torch.Tensor  # (D,)
    e1: torch.Tensor  # (D,) unit length
    e2: torch.Tensor  # (D,) unit length, orthogonal to e1
    name: str = ""
    # (K, 2) plane coordinates of the latents the plane was made through (drawn as markers);
    # None for planes chosen by direction only.
    anchors: torch.Tensor | None = None

    @property
    def latent_dim(self) -> int:
        return int(self.origin.numel())

    def through(self, origin: torch.Tensor) -> LatentPlane:
        """The same directions through another origin (anchors do not move with it: dropped)."""
        return LatentPlane(origin.reshape(-1).float().clone(), self.e1, self.e2, self.name)

    def anchor_extent(self, margin: float = 0.15) -> float:
        """The smallest range [-e, e]^2 that holds every anchor with `margin` of e to spare."""
        if self.anchors is None or len(self.anchors) == 0:
            raise ValueError("the plane has no anchors to frame")
        return float(self.anchors.abs().max()) / (1.0 - margin)

    def latents(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """z0 + u*e1 + v*e2 for matching arrays u, v: (N,) -> (N, D)."""
        u = torch.as_tensor(u, dtype=torch.float32).reshape(-1, 1)
        v = torch.as_tensor(v, dtype=torch.float32).reshape(-1, 1)
        return self.origin + u * self.e1 + v * self.e2

    def grid(self, size: int, extent: float) -> torch.Tensor:
        """A size x size grid over [-extent, extent]^2, row-major with v rising by row: (size^2, D)."""
        ticks = torch.linspace(-extent, extent, size)
        vv, uu = torch.meshgrid(ticks, ticks, indexing="ij")
        return self.latents(uu.flatten(), vv.flatten())

    def coordinates(self, z: torch.Tensor) -> torch.Tensor:
        """(u, v) of the latents' projections onto the plane: (N, D) -> (N, 2)."""
        offset = z.reshape(-1, self.latent_dim) - self.origin
        return torch.stack([offset @ self.e1, offset @ self.e2], dim=1)


def random_plane(latent_dim: int, seed: int = 0) -> LatentPlane:
    if latent_dim < 2:
        raise ValueError("a plane needs a latent space of at least 2 dimensions")
    gen = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(latent_dim, 2, generator=gen))[0]  # (D, 2) orthonormal
    return LatentPlane(torch.zeros(latent_dim), basis[:, 0], basis[:, 1], f"random (seed {seed})")


def first_layer_matrix(generator: nn.Module, latent_dim: int) -> torch.Tensor:
    """The generator's first weight as a matrix A (outputs x latent_dim), so layer(z) ~ A z.

    A linear layer's weight is (out, D) already; a transposed convolution fed a 1x1 latent has
    weight (D, out, k, k), one k x k kernel per output channel.
    """
    for parameter in generator.parameters():
        if parameter.dim() == 2 and parameter.shape[1] == latent_dim:
            return parameter.detach().float().cpu()
        if parameter.dim() == 4 and parameter.shape[0] == latent_dim:
            return parameter.detach().float().cpu().reshape(latent_dim, -1).T
        if parameter.dim() >= 2:
            break  # the first weight does not take the latent: not a layer we can factorise
    raise ValueError("the generator's first layer does not take the latent directly")


def sefa_plane(generator: nn.Module, latent_dim: int) -> LatentPlane:
    """The two directions the first layer amplifies most (SeFa's closed form)."""
    matrix = first_layer_matrix(generator, latent_dim)
    _, strengths, directions = torch.linalg.svd(matrix, full_matrices=False)  # rows: directions
    ratio = float(strengths[0] / strengths[1]) if strengths[1] > 0 else float("inf")
    return LatentPlane(
        torch.zeros(latent_dim),
        directions[0],
        directions[1],
        f"SeFa directions 1-2 (stretch ratio {ratio:.2f})",
    )


def pca_plane(
    generator: nn.Module, latent_dim: int, samples: int = 2000, seed: int = 0
) -> LatentPlane:
    """GANSpace without a style space: PCA of the first layer's outputs, regressed back to z."""
    layer = _first_weighted_module(generator)
    captured: list[torch.Tensor] = []

    def capture(_module, _inputs, output):
        captured.append(output.detach())
        raise _Captured  # the rest of the network is not needed (for a 64 px DCGAN: 99% of it)

    handle = layer.register_forward_hook(capture)
    z = torch.randn(samples, latent_dim, generator=torch.Generator().manual_seed(seed))
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            generator(z.to(device))
    except _Captured:
        pass
    finally:
        handle.remove()
        generator.train(was_training)
    activations = captured[0].reshape(samples, -1).float().cpu()
    centred = activations - activations.mean(dim=0)
    # The two leading principal axes (randomised SVD: the full one takes seconds on 8192 units).
    _, _, axes = torch.pca_lowrank(centred, q=min(6, *centred.shape), center=False, niter=4)
    scores = centred @ axes[:, :2]  # (N, 2) each sample's position along the two axes
    # Latent directions that move the activations along the axes: least squares z ~ scores @ B.
    directions = torch.linalg.lstsq(scores, z - z.mean(dim=0)).solution  # (2, D)
    e1, e2 = _orthonormal(directions[0], directions[1])
    return LatentPlane(torch.zeros(latent_dim), e1, e2, "PCA of the first layer (GANSpace)")


def plane_through(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> LatentPlane:
    """The plane holding three latents, with `a` at the origin and `b` on the u axis."""
    a, b, c = (t.reshape(-1).float() for t in (a, b, c))
    e1, e2 = _orthonormal(b - a, c - a)
    plane = LatentPlane(a, e1, e2, "through three latents")
    plane.anchors = plane.coordinates(torch.stack([a, b, c]))  # (3, 2); a at (0, 0)
    return plane


def framed_on_anchors(plane: LatentPlane) -> LatentPlane:
    """The plane with its origin moved to the middle of its anchors' bounding box, so a range
    centred on the origin frames them with no side left empty."""
    if plane.anchors is None:
        raise ValueError("the plane has no anchors to frame")
    low, high = plane.anchors.min(dim=0).values, plane.anchors.max(dim=0).values
    centre = (low + high) / 2  # (2,) in (u, v)
    origin = plane.origin + centre[0] * plane.e1 + centre[1] * plane.e2
    return LatentPlane(origin, plane.e1, plane.e2, plane.name, plane.anchors - centre)


def typical_latent(
    latent_dim: int, fixed_noise: torch.Tensor | np.ndarray | None = None, seed: int = 0
) -> torch.Tensor:
    """A latent like those G trained on, for a plane's origin: the first of the run's fixed
    noise (sample 0 of its grid) where it has one of this size, else a seeded normal draw."""
    if fixed_noise is not None and fixed_noise.ndim == 2 and fixed_noise.shape[1] == latent_dim:
        return torch.as_tensor(fixed_noise[0]).reshape(-1).float().clone()
    return torch.randn(latent_dim, generator=torch.Generator().manual_seed(seed))


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int, mode: str = "slerp") -> torch.Tensor:
    """`steps` latents from a to b inclusive: (steps, D). `slerp` follows the great circle."""
    a, b = a.reshape(-1).float(), b.reshape(-1).float()
    t = torch.linspace(0, 1, steps).reshape(-1, 1)
    if mode == "linear":
        return a + t * (b - a)
    if mode != "slerp":
        raise ValueError(f"interpolation must be linear or slerp, not {mode!r}")
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    angle = torch.arccos(cos.clamp(-1.0, 1.0))
    # The same direction: slerp is the straight line. Opposite directions: every great circle
    # joins them, so none is "the" path, and sin(angle) ~ 0 would blow the latents up.
    if angle < 1e-4 or angle > torch.pi - 1e-4:
        return a + t * (b - a)
    return (torch.sin((1 - t) * angle) * a + torch.sin(t * angle) * b) / torch.sin(angle)


class _Captured(Exception):
    """Stops a forward pass once the first layer's output is recorded."""


def _orthonormal(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gram-Schmidt; refuses directions that do not span a plane."""
    if first.norm() < 1e-8:
        raise ValueError("the points do not span a plane (two of them coincide)")
    e1 = first / first.norm()
    rest = second - torch.dot(second, e1) * e1
    if rest.norm() < 1e-6 * max(float(second.norm()), 1e-12):
        raise ValueError("the points do not span a plane (they lie on one line)")
    return e1, rest / rest.norm()


def _first_weighted_module(generator: nn.Module) -> nn.Module:
    for module in generator.modules():
        if isinstance(module, (nn.Linear, nn.ConvTranspose2d, nn.Conv2d)):
            return module
    raise ValueError("the generator has no linear or convolutional layer to analyse")
