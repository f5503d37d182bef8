import json

import numpy as np
import torch
from PIL import Image

from ganviz_gui.core.checkpoint import load_checkpoint
from ganviz_gui.core.run_folder import list_checkpoints, read_jsonl
from ganviz_gui.core.sample_images import (
    FAKE_COLOR,
    REAL_COLOR,
    SCATTER_PALETTE,
    image_grid,
    read_picture,
    scatter_plot,
    scatter_png,
    tile_scale,
    upscale,
)
from ganviz_gui.core.training_session import TrainingSession
from tests.core.helpers import tiny_image_config, tiny_points_config


def test_a_run_writes_the_documented_folder(tmp_path):
    config = tiny_image_config(steps=20, keep_checkpoints=1)
    session = TrainingSession.start(config, run_dir=tmp_path / "run")
    assert session.run(config.steps) == "finished"
    session.close()
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text()) == config.to_dict()
    metrics = read_jsonl(run / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [5, 10, 15, 20]
    kinds = [e["kind"] for e in read_jsonl(run / "events.jsonl")]
    assert kinds[0] == "started" and kinds[-1] == "closed"
    samples = sorted(p.name for p in (run / "samples").iterdir())
    assert samples == ["step_00000000.png", "step_00000010.png", "step_00000020.png"]
    with Image.open(run / "samples" / "step_00000020.png") as grid:
        assert grid.size[0] >= 4 * 32  # 16 samples of 8 px, upscaled to at least 32 px each
        assert grid.mode == "L"  # one-channel samples: a grey PNG
    session_grid = read_picture(run / "samples" / "step_00000020.png")
    checkpoint = load_checkpoint(run / "checkpoints" / "step_00000020.pt")
    generator = checkpoint.build_generator()
    with torch.no_grad():
        fixed = generator(checkpoint.state["fixed_noise"]).numpy()
    # What the window draws of the same samples (an RGB grid), upscaled as the file is.
    drawn = upscale(image_grid(fixed), tile_scale(fixed.shape[-1]))
    assert np.abs(session_grid.astype(int) - drawn.astype(int)).max() <= 1
    assert [step for step, _ in list_checkpoints(run)] == [20]  # keep_checkpoints=1


def test_points_runs_draw_scatter_plots(tmp_path):
    session = TrainingSession.start(tiny_points_config(steps=20), run_dir=tmp_path / "run")
    session.run(20)
    session.close()
    picture = tmp_path / "run" / "samples" / "step_00000020.png"
    with Image.open(picture) as plot:
        assert plot.size == (512, 512) and plot.mode == "P"  # one byte a pixel
    colors = np.unique(read_picture(picture).reshape(-1, 3), axis=0)
    assert {tuple(c) for c in colors} <= {tuple(c) for c in SCATTER_PALETTE}
    for drawn in (REAL_COLOR, FAKE_COLOR):  # both the data and G's points are on it
        assert any((colors == drawn).all(axis=1))


def test_a_scatter_plots_png_reads_back_as_the_plot_itself():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(300, 2)), rng.normal(2.0, 0.5, size=(300, 2))
    fake[0] = np.nan  # a diverged point is left out, not drawn
    assert np.array_equal(read_picture(scatter_png(real, fake)), scatter_plot(real, fake))


def test_reader_tolerates_a_partial_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "loss')
    assert [r["step"] for r in read_jsonl(path)] == [1, 2]
    assert read_jsonl(tmp_path / "absent.jsonl") == []


def test_stopping_early_still_saves_a_final_checkpoint(tmp_path):
    session = TrainingSession.start(tiny_points_config(steps=1000), run_dir=tmp_path / "run")
    calls = iter(range(1000))
    assert session.run(1000, should_stop=lambda: next(calls) >= 7) == "stopped"
    final = session.close("stopped by user")
    assert final.name == "step_00000007.pt"
    assert read_jsonl(tmp_path / "run" / "events.jsonl")[-1]["reason"] == "stopped by user"


def test_resume_continues_the_same_run_exactly(tmp_path):
    config = tiny_points_config(steps=40, checkpoint_every=20)
    straight = TrainingSession.start(config, run_dir=tmp_path / "straight")
    straight.run(40)
    straight.close()

    first = TrainingSession.start(config, run_dir=tmp_path / "resumed")
    first.run(30)  # goes past the step-20 checkpoint, then "crashes"
    first.writer.close()
    resumed = TrainingSession.resume(tmp_path / "resumed" / "checkpoints" / "step_00000020.pt")
    assert resumed.run_dir == (tmp_path / "resumed").resolve() and resumed.step_count == 20
    resumed.run(40)
    resumed.close()

    expected = read_jsonl(tmp_path / "straight" / "metrics.jsonl")
    got = read_jsonl(tmp_path / "resumed" / "metrics.jsonl")
    assert [r["step"] for r in got] == [5, 10, 15, 20, 25, 30, 35, 40]
    for a, b in zip(expected, got, strict=True):
        assert a["loss_d"] == b["loss_d"] and a["loss_g"] == b["loss_g"]
    # The records of the abandoned continuation were moved aside, not lost.
    assert len(list((tmp_path / "resumed").glob("metrics.before-resume-*.jsonl"))) == 1
    assert "resumed" in [e["kind"] for e in read_jsonl(tmp_path / "resumed" / "events.jsonl")]
    assert load_checkpoint(tmp_path / "resumed" / "checkpoints" / "step_00000040.pt").step == 40


def test_resume_with_a_new_learning_rate(tmp_path):
    config = tiny_points_config(steps=10, checkpoint_every=10)
    session = TrainingSession.start(config, run_dir=tmp_path / "run")
    session.run(10)
    path = session.close()
    resumed = TrainingSession.resume(path, overrides={"lr_g": 1e-5, "steps": 20})
    assert resumed.trainer.optimizer_g.param_groups[0]["lr"] == 1e-5
    resumed.run(20)
    resumed.close()
