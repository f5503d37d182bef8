"""The "Real samples beside" checkbox of an opened run: offered when the run's data set can be loaded,
refused with the reason when it cannot."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("pyqtgraph")

from tests.gui.conftest import WAIT_MS


def test_an_opened_digits_run_shows_its_real_samples_beside(qtbot, window, digits_run):
    from ganviz_gui.core.checkpoint import load_checkpoint
    from ganviz_gui.core.inspection import real_samples_of_run
    from ganviz_gui.core.live_views import d_scores

    window.open_path(str(digits_run))
    grid = window.sample_grid
    # Loaded in the background, then the step's sheet is drawn again with them.
    qtbot.waitUntil(
        lambda: grid.sheet is not None and grid.sheet.real_grid is not None, timeout=WAIT_MS
    )
    assert grid.real_check.isEnabled()
    grid.real_check.setChecked(True)
    assert grid.real_item.isVisible()
    sheet = grid.sheet
    # The real samples the run's training showed (seeded alike), with the checkpoint's D's
    # verdicts on them.
    config = window.workspace.run.config
    real = real_samples_of_run(config, len(sheet.fake_scores))
    picture = sheet.tile_picture(sheet.real_grid, 3)
    expected = np.rint((real[3, 0] + 1.0) * 127.5).astype(np.uint8)
    np.testing.assert_array_equal(picture[..., 0], expected)
    checkpoint = load_checkpoint(window.workspace.checkpoint_at(sheet.step))
    scores = d_scores(checkpoint.build_discriminator(), config.loss, torch.from_numpy(real))
    np.testing.assert_allclose(sheet.real_scores, scores, rtol=1e-5, atol=1e-6)
    assert "real sample 3: D(x)" in grid.describe("real", 3)
    # Scrubbing to another checkpoint keeps them beside.
    window.scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: grid.sheet.step == 10, timeout=WAIT_MS)
    assert grid.sheet.real_grid is not None and grid.real_check.isEnabled()


def test_a_run_whose_data_folder_is_gone_says_why_there_are_no_real_samples(
    qtbot, window, tmp_path
):
    """A run trained on a folder of pictures that has since been moved away."""
    from PIL import Image

    from tests.core.helpers import tiny_image_config
    from tests.gui.conftest import recorded_run

    pictures = tmp_path / "pictures"
    pictures.mkdir()
    noise = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(noise.integers(0, 255, (8, 8), dtype=np.uint8)).save(pictures / f"{i}.png")
    config = tiny_image_config(
        dataset="folder", data_path=str(pictures), color="gray", steps=10, checkpoint_every=10
    )
    run = recorded_run(tmp_path / "run", config)
    shutil.rmtree(pictures)
    window.open_path(str(run))
    grid = window.sample_grid
    qtbot.waitUntil(lambda: "cannot be loaded" in grid.real_check.toolTip(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: grid.sheet is not None, timeout=WAIT_MS)
    assert grid.sheet.real_grid is None
    assert not grid.real_check.isEnabled()
    assert "cannot be loaded" in grid.real_check.toolTip()


def test_a_run_that_names_no_data_set_says_so(qtbot, window):
    from ganviz_gui.core.live_views import picture_sheet
    from ganviz_gui.core.workspace import Mode, RunInfo

    workspace = window.workspace
    run = RunInfo(source="folder", name="own-loop", is_image=True, sample_shape=(1, 8, 8))
    workspace.show_run(run, Mode.INSPECTING)
    workspace.set_sheet(picture_sheet(np.zeros((8, 8, 3), np.uint8), 10))
    grid = window.sample_grid
    assert not grid.real_check.isEnabled()
    assert "name no data set" in grid.real_check.toolTip()


def test_batch_norm_mode_redraws_the_grid_and_says_so(qtbot, window, digits_run):
    """View > Batch norm: the checkpoint's samples drawn with batch statistics, as a plain
    G.train()(z) draws them, and the caption says which."""
    from ganviz_gui.core.checkpoint import load_checkpoint
    from ganviz_gui.gui.sample_grid import SampleGrid

    window.open_path(str(digits_run))
    grid: SampleGrid = window.sample_grid
    action = window.findChild(type(window.registry.actions["openAction"]), "batchnormTrainAction")
    qtbot.waitUntil(lambda: grid.sheet is not None and action.isEnabled(), timeout=WAIT_MS)
    assert grid.sheet.caption.endswith("BN: eval")
    eval_grid = grid.sheet.fake_grid.copy()
    action.trigger()
    assert window.workspace.batchnorm_mode == "train" and action.isChecked()
    qtbot.waitUntil(lambda: grid.sheet.caption.endswith("BN: train"), timeout=WAIT_MS)
    assert "BN: train" in grid.fake_label.toPlainText()
    checkpoint = load_checkpoint(window.workspace.checkpoint_at(grid.sheet.step))
    generator = checkpoint.build_generator("ema").train()
    with torch.no_grad():
        expected = generator(checkpoint.state["fixed_noise"]).numpy()
    from ganviz_gui.core.sample_images import image_grid

    np.testing.assert_array_equal(
        grid.sheet.fake_grid, image_grid(expected, grid.sheet.columns, grid.sheet.padding)
    )
    assert not np.array_equal(grid.sheet.fake_grid, eval_grid)
    assert window.workspace.generator.batchnorm == "train"  # the explorer's too
    action.trigger()
    qtbot.waitUntil(lambda: grid.sheet.caption.endswith("BN: eval"), timeout=WAIT_MS)


def test_closing_while_the_real_samples_load_does_not_wait_for_them(
    qtbot, window, digits_run, monkeypatch
):
    """Loading a run's data set (MNIST, a large folder) for its real samples can take long; a
    window closed meanwhile drops them, so it does not wait."""
    import threading
    import time

    from ganviz_gui.gui import inspection_controller

    started, release = threading.Event(), threading.Event()
    load = inspection_controller.load_real_samples

    def slow_load(run, count):
        started.set()
        release.wait(5)  # as slow as a large data set
        return load(run, count)

    monkeypatch.setattr(inspection_controller, "load_real_samples", slow_load)
    try:
        window.open_path(str(digits_run))
        qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
        began = time.monotonic()
        window.close()
        closed_in = time.monotonic() - began
    finally:
        release.set()  # the abandoned load ends; its result goes nowhere
    assert closed_in < 2.0


def test_real_samples_that_do_not_fit_leave_the_cache_to_serve(
    qtbot, window, digits_run, monkeypatch
):
    """Real samples of another size than the run's samples are never tiled beside them: a step
    drawn once is shown from the cache on each later visit, not drawn again."""
    from ganviz_gui.gui import inspection_controller

    def other_size(run, count):
        return run, np.zeros((count, 1, 4, 4), np.float32)

    drawn = []
    load_views = inspection_controller.load_checkpoint_views
    add = inspection_controller.add_real_samples_to_views

    def counted_load(step, *args, **kwargs):
        drawn.append(step)
        return load_views(step, *args, **kwargs)

    def counted_add(views, real):
        drawn.append(views[0])
        return add(views, real)

    monkeypatch.setattr(inspection_controller, "load_real_samples", other_size)
    monkeypatch.setattr(inspection_controller, "load_checkpoint_views", counted_load)
    monkeypatch.setattr(inspection_controller, "add_real_samples_to_views", counted_add)
    window.open_path(str(digits_run))
    grid, workspace = window.sample_grid, window.workspace
    qtbot.waitUntil(lambda: grid.sheet is not None and grid.sheet.step == 30, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: workspace.real_samples_note == "", timeout=WAIT_MS)  # loaded
    window.scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: grid.sheet.step == 10, timeout=WAIT_MS)
    qtbot.wait(200)  # anything still to come
    drawn.clear()
    for _ in range(3):
        window.scrubber.slider.setValue(2)
        assert grid.sheet.step == 30  # from the cache, at once
        window.scrubber.slider.setValue(0)
        assert grid.sheet.step == 10
    qtbot.wait(200)
    assert drawn == [] and grid.sheet.real_grid is None


def test_a_ganviz_run_builds_no_generator_to_find_its_batch_norm(
    qtbot, window, digits_run, monkeypatch
):
    """A GANViz checkpoint's settings say whether its G has batch norm (DCGAN: yes)."""
    from ganviz_gui.core.generator_files import GeneratorFile

    def refused(self):
        raise AssertionError("G built to look for batch norm")

    monkeypatch.setattr(GeneratorFile, "has_batchnorm", refused)
    window.open_path(str(digits_run))
    grid = window.sample_grid
    action = window.findChild(type(window.registry.actions["openAction"]), "batchnormTrainAction")
    qtbot.waitUntil(
        lambda: grid.sheet is not None and grid.sheet.real_grid is not None, timeout=WAIT_MS
    )
    assert action.isEnabled() and grid.sheet.caption.endswith("BN: eval")
    assert window.workspace.generator.batchnorm_found is True
    window.scrubber.slider.setValue(0)
    qtbot.waitUntil(lambda: grid.sheet.step == 10, timeout=WAIT_MS)
    assert grid.sheet.caption.endswith("BN: eval")


def test_the_real_samples_cross_threads_as_numpy(digits_run):
    from ganviz_gui.core.inspection import open_run_source
    from ganviz_gui.gui.inspection_controller import load_real_samples

    run = open_run_source(digits_run).describe()
    shown, real = load_real_samples(run, 4)
    assert shown is run
    assert type(real) is np.ndarray and real.shape == (4, 1, 8, 8)
