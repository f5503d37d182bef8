"""What the live window shows, checked as numbers (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganviz_gui.core.live_views import (
    PlaneField,
    checkpoint_sample_sheet,
    d_scores,
    dataset_preview,
    discriminator_outputs,
    field_bounds,
    real_batch,
    sample_sheet,
)
from ganviz_gui.core.losses import g_loss
from ganviz_gui.core.presets import PRESETS, preset_named
from ganviz_gui.core.trainer import Trainer
from ganviz_gui.core.training_session import TrainingSession
from tests.core.helpers import tiny_image_config, tiny_points_config


def test_field_heat_map_is_d_output_at_the_cell_centres():
    trainer = Trainer(tiny_points_config())
    field = PlaneField(trainer, resolution=8, display_resolution=8)
    snap = field.snapshot()
    x0, x1, y0, y1 = snap.bounds
    # Row 0 is the bottom (y0), column 0 the left (x0): the cell (row 2, col 5).
    centre = torch.tensor([[x0 + 5.5 * (x1 - x0) / 8, y0 + 2.5 * (y1 - y0) / 8]])
    expected = discriminator_outputs(trainer, centre)[0]
    assert snap.heat[2, 5] == pytest.approx(expected, abs=1e-5)
    assert snap.heat_is_probability and 0 <= snap.heat.min() <= snap.heat.max() <= 1


def test_field_arrows_point_down_the_generator_loss():
    trainer = Trainer(tiny_points_config())
    field = PlaneField(trainer, points=50, arrows=10)
    snap = field.snapshot()
    points = torch.from_numpy(snap.fake[:10]).requires_grad_(True)
    loss = g_loss(trainer.config.loss, trainer.discriminator(points)) * 10
    (grad,) = torch.autograd.grad(loss, points)
    np.testing.assert_allclose(snap.arrows, -grad.numpy(), rtol=1e-4, atol=1e-6)
    # A small move along the arrows lowers G's loss.
    moved = torch.from_numpy(snap.fake[:10] + 1e-3 * snap.arrows)
    with torch.no_grad():
        before = g_loss(trainer.config.loss, trainer.discriminator(points.detach()))
        after = g_loss(trainer.config.loss, trainer.discriminator(moved))
    assert after < before


def test_field_mesh_is_the_generator_on_a_latent_grid_and_frames_repeat():
    trainer = Trainer(tiny_points_config())
    field = PlaneField(trainer, mesh_size=5)
    first, second = field.snapshot(), field.snapshot()
    assert first.mesh.shape == (5, 5, 2)
    np.testing.assert_array_equal(first.fake, second.fake)  # fixed latents: frames comparable
    with torch.no_grad():
        direct = trainer.generator.eval()(field.mesh_latents).numpy().reshape(5, 5, 2)
    np.testing.assert_allclose(first.mesh, direct, rtol=1e-5, atol=1e-6)
    assert first.step == 0


def test_field_restores_the_training_state_of_both_networks():
    trainer = Trainer(tiny_points_config(spectral_norm=True))
    PlaneField(trainer).snapshot()
    assert trainer.generator.training and trainer.discriminator.training
    assert all(p.requires_grad for p in trainer.discriminator.parameters())


def test_field_bounds_cover_the_data_with_a_margin():
    points = np.random.default_rng(0).normal(size=(5000, 2)) * [1.0, 3.0] + [10.0, 0.0]
    x0, x1, y0, y1 = field_bounds(points)
    assert x1 - x0 == pytest.approx(y1 - y0)  # square
    assert x0 < 10 < x1 and y0 < -7 and y1 > 7


def test_image_data_has_no_field():
    with pytest.raises(ValueError, match="2D"):
        PlaneField(Trainer(tiny_image_config()))


def test_sample_sheet_tiles_and_scores_every_sample():
    trainer = Trainer(tiny_image_config(n_samples=10))
    real = real_batch(trainer.dataset.data, 10, seed=3)
    sheet = sample_sheet(trainer, real)
    assert sheet.columns == 4 and sheet.tile == (8, 8)
    assert sheet.fake_grid.shape == (3 * 9 + 1, 4 * 9 + 1, 3)
    assert sheet.fake_grid.dtype == np.uint8 and sheet.real_grid.shape == sheet.fake_grid.shape
    assert sheet.fake_scores.shape == (10,) and sheet.real_scores.shape == (10,)
    # The score of a tile is D's output on that very sample.
    fake = torch.from_numpy(trainer.fixed_samples())
    assert sheet.fake_scores[7] == pytest.approx(discriminator_outputs(trainer, fake[7:8])[0])
    # Pixel lookups: padding and the empty 11th and 12th cells are no sample.
    assert sheet.tile_at(0, 0) is None
    assert sheet.tile_at(1, 1) == 0 and sheet.tile_at(8.9, 8.9) == 0 and sheet.tile_at(9, 1) is None
    assert sheet.tile_at(10, 1) == 1 and sheet.tile_at(1, 19) == 8
    assert sheet.tile_at(10, 19) == 9 and sheet.tile_at(19, 19) is None
    tile = sheet.tile_picture(sheet.fake_grid, 9)
    expected = np.clip(np.rint((fake[9, 0].numpy() + 1) * 127.5), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(tile[..., 0], expected)


def test_critic_scores_are_raw_and_flagged():
    trainer = Trainer(tiny_image_config(loss="hinge", n_samples=4))
    sheet = sample_sheet(trainer, real_batch(trainer.dataset.data, 4, seed=0))
    assert not sheet.score_is_probability


def test_a_run_shows_the_same_real_samples_training_and_opened(tmp_path):
    """The live loop's sheets and an opened run's (core.inspection) pick the same real samples:
    one choice, seeded by the run's seed, whatever count each asks for (a prefix)."""
    from ganviz_gui.core.data import to_model_space
    from ganviz_gui.core.inspection import real_samples_of_run
    from ganviz_gui.core.live_views import REAL_SAMPLES_SEED_OFFSET
    from ganviz_gui.core.sample_images import image_grid
    from tests.core.test_live_loop import make_loop, run

    config = tiny_image_config(steps=1, n_samples=9, seed=11)
    loop, recorder = make_loop(tmp_path, config)
    run(loop)
    live = recorder.updates[0].samples
    opened = real_samples_of_run(config, 9)
    assert isinstance(opened, np.ndarray) and opened.dtype == np.float32  # crosses threads
    np.testing.assert_array_equal(live.real_grid, image_grid(opened, live.columns, live.padding))
    data = Trainer(config).dataset.data
    chosen = real_batch(data, 9, config.seed + REAL_SAMPLES_SEED_OFFSET)
    np.testing.assert_array_equal(opened, to_model_space(chosen).float().numpy())
    np.testing.assert_array_equal(real_samples_of_run(config, 4), opened[:4])


def test_a_checkpoint_sheet_judges_its_real_samples_with_the_d_it_built(tmp_path, monkeypatch):
    from ganviz_gui.core.checkpoint import Checkpoint, load_checkpoint
    from ganviz_gui.core.generator_files import open_generator_file
    from ganviz_gui.core.inspection import real_samples_of_run, with_real_samples

    config = tiny_image_config(steps=2, checkpoint_every=2, n_samples=9)
    session = TrainingSession.start(config, run_dir=tmp_path / "run")
    session.run(config.steps)
    session.close()
    path = next((tmp_path / "run").rglob("*.pt"))
    checkpoint = load_checkpoint(path)
    real = real_samples_of_run(config, 9)
    built = []
    build = Checkpoint.build_discriminator
    monkeypatch.setattr(
        Checkpoint, "build_discriminator", lambda self: built.append(1) or build(self)
    )
    sheet = checkpoint_sample_sheet(checkpoint, real)
    assert len(built) == 1  # one D for the generated samples and the real ones
    expected = d_scores(build(checkpoint), config.loss, torch.from_numpy(real))
    np.testing.assert_allclose(sheet.real_scores, expected, rtol=1e-5, atol=1e-6)
    assert sheet.real_grid.shape == sheet.fake_grid.shape
    # Real samples of another size are left out, and no D is built for them.
    other = np.zeros((9, 1, 4, 4), np.float32)
    assert checkpoint_sample_sheet(checkpoint, other).real_grid is None
    plain = checkpoint_sample_sheet(checkpoint)
    built.clear()
    opened = open_generator_file(path)
    assert with_real_samples(plain, other, opened) is plain and built == []
    assert with_real_samples(plain, real, opened).real_grid is not None and len(built) == 1


def test_which_generators_have_batch_norm_is_known_from_the_settings():
    from ganviz_gui.core.config import MODELS
    from ganviz_gui.core.generator_files import batchnorm_layers
    from ganviz_gui.core.inspection import generator_has_batchnorm
    from ganviz_gui.core.models import build_models

    for model in MODELS:
        config = tiny_image_config(model=model)
        generator, _ = build_models(config, (1, 8, 8))
        assert generator_has_batchnorm(config) == bool(batchnorm_layers(generator)), model


def test_previews_never_download(monkeypatch):
    from ganviz_gui.core.errors import DataError

    config = preset_named("MNIST - DCGAN").config()
    assert config.download
    with pytest.raises(DataError, match="not found"):
        dataset_preview(config)
    picture, summary = dataset_preview(preset_named("Digits - DCGAN").config())
    assert picture.dtype == np.uint8 and "1,797 samples" in summary


def test_presets_are_valid_and_trainable_for_a_step(tmp_path):
    for preset in PRESETS:
        if preset.needs_folder or preset.settings.get("download"):
            continue
        config = preset.config(steps=1, num_threads=1, n_samples=4)
        session = TrainingSession.start(config, run_dir=tmp_path / preset.name.replace(" ", "_"))
        session.run(1)
        session.close()


def test_session_reports_new_events_once_and_writes_them(tmp_path):
    session = TrainingSession.start(tiny_points_config(), run_dir=tmp_path / "run")
    assert [e["kind"] for e in session.take_new_events()] == ["started"]
    session.trainer.set_learning_rates(lr_g=1e-3)
    session.flush_events()
    assert session.take_new_events()[0]["lr_g"] == 1e-3
    assert session.take_new_events() == []
    session.record_error("out of memory")
    session.close("error")
    kinds = [e["kind"] for e in session.take_new_events()]
    assert kinds == ["error", "closed"]
    from ganviz_gui.core.run_folder import read_jsonl

    written = [e["kind"] for e in read_jsonl(tmp_path / "run" / "events.jsonl")]
    assert written == ["started", "settings_changed", "error", "closed"]
