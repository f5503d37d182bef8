"""The window's model and its run sources, without Qt."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganviz_gui.core.run_sources import JsonlTail, RunFolderSource, TrainerSource
from ganviz_gui.core.workspace import Mode, Progress, RunDelta, RunInfo, ShownGenerator, Workspace
from tests.core.helpers import own_home, tiny_points_config


class Recorder:
    """Every signal of a workspace, in order, as (name, payload)."""

    def __init__(self, workspace: Workspace):
        self.seen: list[tuple[str, object]] = []
        for name in (
            "mode_changed",
            "run_changed",
            "run_extended",
            "checkpoints_changed",
            "step_changed",
            "picked_changed",
            "findings_changed",
        ):
            getattr(workspace, name).connect(
                lambda value, name=name: self.seen.append((name, value))
            )

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]


def run_info(**changes) -> RunInfo:
    return RunInfo(**{"source": "folder", "name": "run", **changes})


def test_showing_a_run_forgets_everything_of_the_previous_one():
    workspace = Workspace()
    workspace.show_run(run_info(name="first"), Mode.INSPECTING)
    workspace.extend(RunDelta(records=[{"step": 1}], checkpoints=[(10, Path("a.pt"))]))
    workspace.set_step(10)
    workspace.set_sheet(object())
    workspace.set_findings(["a finding"])
    workspace.pick_latent(torch.zeros(4))
    recorder = Recorder(workspace)
    workspace.show_run(run_info(name="second"), Mode.TRAINING)
    assert workspace.records == [] and workspace.checkpoints == [] and workspace.step is None
    assert workspace.sheet is None and workspace.findings == [] and workspace.progress is None
    # The step cursor and the picked latents were reset too: what draws them hears of it.
    assert recorder.names() == ["mode_changed", "run_changed", "step_changed", "picked_changed"]
    assert workspace.picked == []
    assert workspace.run.name == "second" and workspace.mode == Mode.TRAINING


def test_extend_appends_and_announces_only_what_changed():
    workspace = Workspace()
    workspace.show_run(run_info(), Mode.INSPECTING)
    recorder = Recorder(workspace)
    workspace.extend(RunDelta(records=[{"step": 1}], events=[{"step": 1, "event": "x"}]))
    workspace.extend(RunDelta(checkpoints=[(10, Path("a.pt"))]))
    workspace.extend(RunDelta(checkpoints=[(10, Path("a.pt"))]))  # the same list: no signal
    workspace.extend(RunDelta())
    assert recorder.names() == ["run_extended", "checkpoints_changed"]
    assert workspace.records == [{"step": 1}] and len(workspace.events) == 1


def test_a_restarted_source_replaces_the_records():
    workspace = Workspace()
    workspace.show_run(run_info(), Mode.FOLLOWING)
    workspace.extend(RunDelta(records=[{"step": 1}, {"step": 2}]))
    recorder = Recorder(workspace)
    workspace.extend(RunDelta(records=[{"step": 1}], restarted=True))
    assert workspace.records == [{"step": 1}]
    assert recorder.names() == ["run_extended"] and recorder.seen[0][1].restarted


def test_plot_clicks_scrub_only_an_inspected_run_to_its_nearest_checkpoint():
    workspace = Workspace()
    workspace.show_run(run_info(), Mode.TRAINING)
    workspace.extend(RunDelta(checkpoints=[(10, Path("a")), (20, Path("b")), (40, Path("c"))]))
    workspace.scrub_to(33.0)
    assert workspace.step is None  # a live run is not scrubbed
    workspace.set_mode(Mode.INSPECTING)
    workspace.scrub_to(33.0)
    assert workspace.step == 40 and workspace.checkpoint_at(40) == Path("c")
    workspace.go_to_step(12)
    assert workspace.step == 10
    workspace.forget_run()
    workspace.go_to_step(12.4)  # no run, no checkpoints: the cursor just moves
    assert workspace.step == 12


def test_sample_latents_come_from_the_generator_that_drew_the_grid():
    import torch

    from ganviz_gui.core.generator_files import GeneratorFile

    noise = np.arange(12, dtype=np.float32).reshape(3, 4)
    workspace = Workspace()
    workspace.show_run(run_info(source="trainer", fixed_noise=noise), Mode.TRAINING)
    live = GeneratorFile(Path("."), "live run", 4, (2,), 5, _build=lambda which: None)
    assert workspace.latent_of_sample(1) is None  # nothing shown in the explorer yet
    workspace.show_generator(ShownGenerator(live, "live"))
    assert workspace.latent_of_sample(1) is None  # live weights for the forward pass only
    workspace.set_following(True)
    assert torch.equal(workspace.latent_of_sample(1), torch.from_numpy(noise[1]))
    assert workspace.latent_of_sample(7) is None
    workspace.show_generator(ShownGenerator(live, "opened"))  # a file opened while training
    assert workspace.latent_of_sample(1) is None
    for i in range(5):
        workspace.pick_latent(torch.full((1, 4), float(i)))
    assert [float(z[0]) for z in workspace.picked] == [2.0, 3.0, 4.0]  # the last three


def test_progress_eta_and_weights_wanted():
    assert Progress(100, 1100, 50.0, 2.0, "running").eta_seconds == 20.0
    assert Progress(100, 1100, 50.0, 2.0, "paused").eta_seconds is None
    workspace = Workspace()
    seen = []
    workspace.following_changed.connect(seen.append)
    assert not workspace.live_weights_wanted
    workspace.set_forward_pass_shown(True)
    workspace.set_forward_pass_shown(True)  # no change, no signal
    assert workspace.live_weights_wanted
    workspace.set_forward_pass_shown(False)
    workspace.set_following(True, 0.5)
    assert workspace.live_weights_wanted and seen == [(True, 0.5)]


# ---------------------------------------------------------------------- run sources
def test_jsonl_tail_reads_only_whole_new_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path)
    assert tail.read_new() == ([], False)  # not written yet
    path.write_text('{"step": 1}\n{"step": 2}\n{"st')
    assert tail.read_new() == ([{"step": 1}, {"step": 2}], False)
    with open(path, "a") as handle:
        handle.write('ep": 3}\nnot json\n[1, 2]\n{"step": 4}\n')
    assert tail.read_new() == ([{"step": 3}, {"step": 4}], False)  # damage skipped
    assert tail.read_new() == ([], False)
    path.write_text('{"step": 1}\n')  # rewritten shorter: a resumed run moved lines aside
    assert tail.read_new() == ([{"step": 1}], True)


@pytest.fixture(scope="module")
def recorded_ring(tmp_path_factory):
    from ganviz_gui.core.training_session import TrainingSession

    with own_home(tmp_path_factory):
        folder = tmp_path_factory.mktemp("ring") / "run"
        config = tiny_points_config(steps=40, checkpoint_every=10, stats_every=10)
        session = TrainingSession.start(config, run_dir=folder)
        session.run(config.steps)
        session.close()
    return folder


def test_a_run_folder_source_follows_new_records_and_rotating_checkpoints(recorded_ring, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(recorded_ring, run)
    source = RunFolderSource(run)
    info = source.describe()
    assert (info.source, info.name, info.is_image, info.sample_shape) == (
        "folder",
        "run",
        False,
        (2,),
    )
    assert info.config.dataset == "ring8"
    first = source.poll()
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert first.records == metrics and first.stats and first.events
    assert [step for step, _ in first.checkpoints] == [10, 20, 30, 40]
    assert not source.poll()  # nothing new
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write(json.dumps({"step": 41, "loss_d": 1.0}) + "\n")
    checkpoints = run / "checkpoints"
    shutil.copy(checkpoints / "step_00000040.pt", checkpoints / "step_00000050.pt")
    (checkpoints / "step_00000010.pt").unlink()
    delta = source.poll()
    assert delta.records == [{"step": 41, "loss_d": 1.0}] and not delta.events
    assert [step for step, _ in delta.checkpoints] == [20, 30, 40, 50]


def test_reading_a_run_folder_imports_no_torch(recorded_ring):
    # `ganviz diagnose`, and the window before it has loaded torch, read runs without it (its
    # import was 1.2 s of reading a 10^4-record run, the layer statistics' reader its cause).
    code = (
        "import sys; from pathlib import Path; "
        "from ganviz_gui.core.run_sources import RunFolderSource; "
        f"delta = RunFolderSource(Path({str(recorded_ring)!r})).poll_all(); "
        "print(len(delta.records), len(delta.stats), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = {
        name: len((recorded_ring / f"{name}.jsonl").read_text().splitlines())
        for name in ("metrics", "network_stats")
    }
    assert out.stdout.split() == [str(lines["metrics"]), str(lines["network_stats"]), "False"]


def test_a_run_folder_source_at_its_end_polls_only_what_comes(recorded_ring, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(recorded_ring, run)
    source = RunFolderSource(run)
    source.skip_to_end()
    assert not source.poll()
    with open(run / "events.jsonl", "a") as handle:
        handle.write(json.dumps({"step": 40, "event": "note"}) + "\n")
    assert source.poll().events == [{"step": 40, "event": "note"}]


def test_a_broken_config_still_describes_the_run(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    info = RunFolderSource(tmp_path).describe()
    assert info.config is None and info.name == tmp_path.name


def test_the_trainer_source_passes_updates_and_lists_checkpoints_at_most_once_a_second(tmp_path):
    from ganviz_gui.core.live_loop import RunStarted, TrainingUpdate

    (tmp_path / "checkpoints").mkdir()
    now = [0.0]
    started = RunStarted(
        run_dir=str(tmp_path),
        device="CPU",
        config=tiny_points_config().to_dict(),
        is_image=False,
        sample_shape=(2,),
        threads=1,
        data_summary="ring8",
        skipped_files=[],
    )
    source = TrainerSource(started, clock=lambda: now[0])
    assert source.describe().source == "trainer" and source.describe().device == "CPU"
    source.push(TrainingUpdate(5, 40, 1.0, 1.0, "running", records=[{"step": 5}]))
    delta = source.poll()
    assert delta.records == [{"step": 5}] and delta.checkpoints == []
    (tmp_path / "checkpoints" / "step_00000010.pt").write_bytes(b"x")
    now[0] = 0.5
    assert source.poll().checkpoints is None  # listed less than a second ago
    now[0] = 1.2
    assert [step for step, _ in source.poll().checkpoints] == [10]
    (tmp_path / "checkpoints" / "step_00000020.pt").write_bytes(b"x")
    source.checkpoint_written()  # a save on request is listed at once
    assert [step for step, _ in source.poll().checkpoints] == [10, 20]


def test_a_run_folder_source_says_whether_the_run_is_still_being_written(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps({"step": 0, "kind": "started", "data": {"sample_shape": [1, 8, 8]}}) + "\n"
    )
    source = RunFolderSource(tmp_path)
    source.poll()
    assert source.writing is True and source.describe().sample_shape == (1, 8, 8)
    with open(events, "a") as handle:
        handle.write(json.dumps({"step": 50, "kind": "closed", "reason": "finished"}) + "\n")
    source.poll()
    assert source.writing is False and source.ended["reason"] == "finished"
    with open(events, "a") as handle:
        handle.write(json.dumps({"step": 50, "kind": "resumed"}) + "\n")
    source.poll()
    assert source.writing is True and source.ended is None


def test_a_run_folder_source_offers_its_sample_pictures(tmp_path):
    from ganviz_gui.core.sample_images import save_png

    picture = np.zeros((8, 8, 3), np.uint8)
    save_png(picture, tmp_path / "samples" / "step_00000000.png")
    source = RunFolderSource(tmp_path)
    assert [step for step, _ in source.poll().pictures] == [0]
    save_png(picture, tmp_path / "samples" / "step_00000100.png")
    assert [step for step, _ in source.poll().pictures] == [0, 100]
    assert source.poll().pictures is None  # unchanged


def test_a_long_metrics_file_is_read_a_piece_per_poll(tmp_path):
    lines = [json.dumps({"step": s, "loss_d": 1.0}) for s in range(3000)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    source = RunFolderSource(tmp_path)
    for tail in source._tails.values():
        tail.max_bytes = 10_000
    first = source.poll()
    assert 0 < len(first.records) < 3000 and source.more
    everything = source.poll_all()
    assert len(first.records) + len(everything.records) == 3000 and not source.more
    assert everything.records[-1] == {"step": 2999, "loss_d": 1.0}


def test_a_run_without_checkpoints_is_scrubbed_over_its_pictures():
    workspace = Workspace()
    pictures = [(0, Path("a.png")), (100, Path("b.png")), (200, Path("c.png"))]
    workspace.show_run(run_info(), Mode.INSPECTING, RunDelta(pictures=pictures))
    assert workspace.scrub_steps == [0, 100, 200]
    workspace.go_to_step(130)
    assert workspace.step == 100
    assert workspace.picture_at(150) == Path("b.png") and workspace.picture_at(-1) is None
    workspace.extend(RunDelta(checkpoints=[(150, Path("step_150.pt"))]))
    assert workspace.scrub_steps == [150]  # checkpoints, once there are any


def test_overlaid_runs_get_their_own_colours_and_can_be_hidden(tmp_path):
    from ganviz_gui.core.record_columns import RecordColumns

    workspace = Workspace()
    seen = []
    workspace.overlays_changed.connect(lambda runs: seen.append([r.name for r in runs]))
    a = workspace.overlay("a", tmp_path / "a", RecordColumns.from_records([{"step": 1}]))
    b = workspace.overlay("b", tmp_path / "b", RecordColumns())
    assert a.color != b.color and seen == [["a"], ["a", "b"]]
    workspace.extend_overlay(tmp_path / "b", RecordColumns.from_records([{"step": 5, "x": 1.0}]))
    assert len(b.records) == 1
    workspace.set_overlay_visible(tmp_path / "a", False)
    assert not a.visible
    workspace.show_run(run_info(), Mode.INSPECTING)
    assert len(workspace.overlays) == 2  # kept when another run is shown
    workspace.remove_overlays()
    assert workspace.overlays == []
