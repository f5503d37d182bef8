"""A tiny run folder for the benchmarks that time the window on recorded runs (imported by
bench_scrub.py and bench_window_leak.py, which run with this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path


def tiny_digits_run(folder: Path, steps: int, **changes) -> Path:
    """A digits DCGAN of 8 px at 8 channels trained for `steps` steps into `folder`, with a
    sample picture and a checkpoint every 10 steps (`changes` override the settings)."""
    from ganviz_gui.core.config import TrainingConfig
    from ganviz_gui.core.training_session import TrainingSession

    settings = dict(
        dataset="digits",
        model="dcgan",
        image_size=8,
        steps=steps,
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
    config = TrainingConfig(**{**settings, **changes})
    session = TrainingSession.start(config, run_dir=folder)
    session.run(config.steps)
    session.close()
    return folder
