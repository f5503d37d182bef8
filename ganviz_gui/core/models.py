"""Generator and discriminator architectures: MLPs (2D data, small images) and DCGAN convnets.

Discriminators return one raw logit per sample, (B,); probabilities are sigmoid(logit) where the
loss gives them a meaning.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from ganviz_gui.core.config import DCGAN_IMAGE_SIZES, TrainingConfig
from ganviz_gui.core.errors import ConfigError


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, sample_shape: tuple[int, ...], hidden: int, layers: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.sample_shape = tuple(sample_shape)
        self.is_image = len(sample_shape) == 3
        blocks: list[nn.Module] = []
        width = latent_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        blocks.append(nn.Linear(width, math.prod(sample_shape)))
        if self.is_image:
            blocks.append(nn.Tanh())  # images live in [-1, 1]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, Z) -> (B, *sample_shape)
        return self.net(z).view(z.shape[0], *self.sample_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, sample_shape: tuple[int, ...], hidden: int, layers: int, sn: bool):
        super().__init__()
        wrap = apply_spectral_norm if sn else (lambda m: m)
        blocks: list[nn.Module] = [nn.Flatten()]
        width = math.prod(sample_shape)
        for _ in range(layers):
            blocks += [wrap(nn.Linear(width, hidden)), nn.LeakyReLU(0.2)]
            width = hidden
        blocks.append(wrap(nn.Linear(width, 1)))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, ...) -> (B,)
        return self.net(x).view(-1)


def dcgan_plan(image_size: int) -> tuple[int, int]:
    """(seed side, number of stride-2 upsamplings) that reach `image_size`."""
    if image_size not in DCGAN_IMAGE_SIZES:
        raise ConfigError(
            f"image_size: the dcgan model produces {', '.join(map(str, DCGAN_IMAGE_SIZES))} px "
            f"images, not {image_size}"
        )
    seed = 7 if image_size == 28 else 4
    return seed, round(math.log2(image_size / seed))


class DCGANGenerator(nn.Module):
    """Radford et al. 2015: a transposed-conv stack with batch norm, widest at the seed."""

    def __init__(self, latent_dim: int, channels: int, image_size: int, width: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.sample_shape = (channels, image_size, image_size)
        self.is_image = True
        seed, ups = dcgan_plan(image_size)
        widths = [width * 2 ** (ups - 1 - i) for i in range(ups)]  # e.g. 512, 256, 128, 64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], seed, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for w_in, w_out in itertools.pairwise(widths):
            layers += [
                nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(w_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, Z) -> (B, C, S, S)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """The mirror of the generator. Batch norm is left out where it is wrong or redundant:
    with a gradient penalty (it mixes samples in a batch) and with spectral normalisation."""

    def __init__(self, channels: int, image_size: int, width: int, sn: bool, batch_norm: bool):
        super().__init__()
        wrap = apply_spectral_norm if sn else (lambda m: m)
        seed, downs = dcgan_plan(image_size)
        widths = [width * 2**i for i in range(downs)]  # e.g. 64, 128, 256, 512
        layers: list[nn.Module] = [
            wrap(nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for w_in, w_out in itertools.pairwise(widths):
            layers.append(wrap(nn.Conv2d(w_in, w_out, 4, 2, 1, bias=not batch_norm)))
            if batch_norm:
                layers.append(nn.BatchNorm2d(w_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(wrap(nn.Conv2d(widths[-1], 1, seed, 1, 0, bias=False)))
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, S, S) -> (B,)
        return self.net(x).view(-1)


def build_models(
    config: TrainingConfig, sample_shape: tuple[int, ...]
) -> tuple[nn.Module, nn.Module]:
    """Build G and D for data of `sample_shape`: (2,) for points, (C, S, S) for images."""
    generator: nn.Module
    discriminator: nn.Module
    if config.model == "mlp":
        generator = MLPGenerator(config.latent_dim, sample_shape, config.g_hidden, config.g_layers)
        discriminator = MLPDiscriminator(
            sample_shape, config.d_hidden, config.d_layers, config.spectral_norm
        )
        return generator, discriminator
    if len(sample_shape) != 3:
        raise ConfigError("model: dcgan generates images; this data set holds 2D points")
    channels, size, _ = sample_shape
    generator = DCGANGenerator(config.latent_dim, channels, size, config.g_channels)
    use_bn = not (config.spectral_norm or config.loss == "wgan-gp")
    discriminator = DCGANDiscriminator(
        channels, size, config.d_channels, config.spectral_norm, batch_norm=use_bn
    )
    return generator, discriminator


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _dcgan_init(module: nn.Module) -> None:
    # The DCGAN paper's initialisation: N(0, 0.02) weights, BN scales N(1, 0.02).
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            # Under spectral norm the trained weight is the parametrization's original.
            name = (
                "parametrizations.weight.original" if hasattr(m, "parametrizations") else "weight"
            )
            nn.init.normal_(m.get_parameter(name), 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
