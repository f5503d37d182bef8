import pytest
import torch

from ganviz_gui.core import losses
from ganviz_gui.core.config import LOSSES, TrainingConfig
from ganviz_gui.core.models import build_models


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_produces_every_supported_size(size, channels):
    config = TrainingConfig(
        dataset="digits", model="dcgan", g_channels=8, d_channels=8, latent_dim=5
    )
    generator, discriminator = build_models(config, (channels, size, size))
    images = generator(torch.randn(3, 5))
    assert images.shape == (3, channels, size, size)
    assert images.abs().max() <= 1.0
    assert discriminator(images).shape == (3,)


def test_mlp_for_points_and_images_and_spectral_norm():
    config = TrainingConfig(spectral_norm=True, g_layers=2, d_layers=2)
    generator, discriminator = build_models(config, (2,))
    points = generator(torch.randn(7, config.latent_dim))
    assert points.shape == (7, 2) and discriminator(points).shape == (7,)
    generator, _ = build_models(config, (1, 8, 8))
    assert generator(torch.randn(2, config.latent_dim)).shape == (2, 1, 8, 8)
    assert any("parametrizations" in name for name, _ in discriminator.named_parameters())


def test_discriminator_for_gradient_penalty_has_no_batch_norm():
    config = TrainingConfig(dataset="digits", model="dcgan", loss="wgan-gp")
    _, discriminator = build_models(config, (1, 32, 32))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in discriminator.modules())


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_reward_the_right_side(loss):
    confident_real, confident_fake = torch.full((8,), 4.0), torch.full((8,), -4.0)
    # D that separates well has a lower loss than one that is fooled.
    good = losses.d_loss(loss, confident_real, confident_fake)
    fooled = losses.d_loss(loss, confident_fake, confident_real)
    assert good < fooled
    # G is better off when D scores its samples as real.
    assert losses.g_loss(loss, confident_real) < losses.g_loss(loss, confident_fake)


def test_nonsaturating_and_minimax_match_their_formulas():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    d = torch.sigmoid(logits)
    assert torch.allclose(losses.g_loss("nonsaturating", logits), -torch.log(d).mean())
    assert torch.allclose(losses.g_loss("minimax", logits), torch.log(1 - d).mean())
    assert torch.allclose(losses.d_output("minimax", logits), d.mean())


def test_penalties_are_zero_for_a_constant_critic_and_positive_otherwise():
    real, fake = torch.randn(4, 2), torch.randn(4, 2)
    rng = torch.Generator().manual_seed(0)
    assert losses.r1_penalty(lambda x: x.sum(dim=1) * 0, real) == 0
    linear = torch.nn.Linear(2, 1)
    assert losses.gradient_penalty(lambda x: linear(x).view(-1), real, fake, rng) >= 0
    assert losses.r1_penalty(lambda x: linear(x).view(-1), real) > 0
