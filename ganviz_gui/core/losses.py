"""GAN objectives on discriminator logits, and the gradient penalties.

Each loss gives D's and G's loss from raw logits (never a Sigmoid + BCE pair, which loses
precision where D is confident).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

# Losses whose D output is a log-odds, so sigmoid(logit) is D's probability that x is real.
PROBABILISTIC_LOSSES = ("nonsaturating", "minimax")


def d_loss(loss: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    if loss in PROBABILISTIC_LOSSES:
        # -log D(x) - log(1 - D(G(z)))
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if loss == "lsgan":
        return 0.5 * ((real_logits - 1).pow(2).mean() + fake_logits.pow(2).mean())
    if loss == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if loss == "wgan-gp":
        return fake_logits.mean() - real_logits.mean()
    raise ValueError(f"unknown loss {loss!r}")


def g_loss(loss: str, fake_logits: torch.Tensor) -> torch.Tensor:
    if loss == "nonsaturating":
        return F.softplus(-fake_logits).mean()  # -log D(G(z))
    if loss == "minimax":
        return -F.softplus(fake_logits).mean()  # log(1 - D(G(z))), the saturating original
    if loss == "lsgan":
        return 0.5 * (fake_logits - 1).pow(2).mean()
    if loss in ("hinge", "wgan-gp"):
        return -fake_logits.mean()
    raise ValueError(f"unknown loss {loss!r}")


def d_output(loss: str, logits: torch.Tensor) -> torch.Tensor:
    """Mean D output as the plots show it: a probability where the loss defines one."""
    return d_outputs(loss, logits).mean()


def d_outputs(loss: str, logits: torch.Tensor) -> torch.Tensor:
    """D's output per sample: sigmoid(logit) for the probabilistic losses, else the raw score."""
    logits = logits.reshape(-1)
    if loss in PROBABILISTIC_LOSSES:
        return torch.sigmoid(logits)
    return logits


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 on random interpolates."""
    alpha_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(alpha_shape, device=real.device, generator=generator)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(mixed).sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor
) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E ||grad D(x)||^2 on real data; scaled by gamma/2 by the caller."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(real).sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()
