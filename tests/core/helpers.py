"""Small, fast configurations for engine tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ganviz_gui.core.config import TrainingConfig


@contextmanager
def own_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """GANVIZ_HOME in a fresh folder while a module- or session-scoped fixture builds: those run
    before the per-test `isolated_home`, so they would otherwise see the user's real home."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANVIZ_HOME", str(tmp_path_factory.mktemp("fixture_home")))
        yield


def tiny_points_config(**changes) -> TrainingConfig:
    settings = dict(
        dataset="ring8",
        steps=40,
        batch_size=32,
        g_hidden=16,
        d_hidden=16,
        g_layers=2,
        d_layers=2,
        latent_dim=4,
        log_every=5,
        eval_every=20,
        sample_every=20,
        checkpoint_every=20,
        toy_samples=1000,
        num_threads=1,
        n_samples=16,
    )
    settings.update(changes)
    return TrainingConfig(**settings)


def tiny_image_config(**changes) -> TrainingConfig:
    settings = dict(
        dataset="digits",
        model="dcgan",
        image_size=8,
        steps=20,
        batch_size=16,
        g_channels=8,
        d_channels=8,
        latent_dim=8,
        log_every=5,
        sample_every=10,
        checkpoint_every=10,
        num_threads=1,
        n_samples=16,
    )
    settings.update(changes)
    return TrainingConfig(**settings)
