"""Following a run as another process writes it: records, pictures and checkpoints arrive,
rotated checkpoints leave, the end is shown; a run without checkpoints opens."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.gui.conftest import WAIT_MS


def lines_of(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def half_written_copy(run, target):
    """`run` as it stood mid-way: half its records, its first checkpoint and picture, and
    no `closed` event."""
    target.mkdir()
    shutil.copy(run / "config.json", target)
    metrics = lines_of(run / "metrics.jsonl")
    (target / "metrics.jsonl").write_text("".join(metrics[: len(metrics) // 2]))
    events = [line for line in lines_of(run / "events.jsonl") if '"closed"' not in line]
    (target / "events.jsonl").write_text("".join(events))
    (target / "network_stats.jsonl").write_text("")
    (target / "checkpoints").mkdir()
    shutil.copy(run / "checkpoints" / "step_00000010.pt", target / "checkpoints")
    (target / "samples").mkdir()
    shutil.copy(sorted((run / "samples").iterdir())[0], target / "samples")
    return metrics


def test_a_run_being_written_is_followed_to_its_end(qtbot, window, digits_run, tmp_path):
    from ganviz_gui.core.workspace import Mode

    live = tmp_path / "live"
    metrics = half_written_copy(digits_run, live)
    workspace = window.workspace
    window.open_path(str(live))
    qtbot.waitUntil(lambda: workspace.mode == Mode.FOLLOWING, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: workspace.step == 10, timeout=WAIT_MS)
    shown = len(workspace.records)
    assert shown == len(metrics) // 2

    # The writer goes on: more records, a checkpoint, and the first one rotated away.
    with open(live / "metrics.jsonl", "a") as handle:
        handle.write("".join(metrics[len(metrics) // 2 :]))
    shutil.copy(digits_run / "checkpoints" / "step_00000020.pt", live / "checkpoints")
    qtbot.waitUntil(lambda: len(workspace.records) == len(metrics), timeout=5000)
    qtbot.waitUntil(lambda: workspace.step == 20, timeout=5000)  # kept at the newest
    drawn = window.loss_plots.drawn_curve
    qtbot.waitUntil(lambda: drawn("loss_d")[0].size == len(metrics), timeout=2000)
    (live / "checkpoints" / "step_00000010.pt").unlink()
    qtbot.waitUntil(lambda: [s for s, _ in workspace.checkpoints] == [20], timeout=5000)

    # Moved away from the newest by hand, the step stays where the user put it.
    shutil.copy(digits_run / "checkpoints" / "step_00000010.pt", live / "checkpoints")
    qtbot.waitUntil(lambda: len(workspace.checkpoints) == 2, timeout=5000)
    workspace.set_step(10)
    shutil.copy(digits_run / "checkpoints" / "step_00000030.pt", live / "checkpoints")
    qtbot.waitUntil(lambda: len(workspace.checkpoints) == 3, timeout=5000)
    assert workspace.step == 10

    closed = next(line for line in lines_of(digits_run / "events.jsonl") if '"closed"' in line)
    with open(live / "events.jsonl", "a") as handle:
        handle.write(closed)
    qtbot.waitUntil(lambda: workspace.mode == Mode.INSPECTING, timeout=5000)
    assert "ended" in window.statusBar().currentMessage()


def test_follow_keeps_following_a_run_that_says_it_ended(qtbot, window, digits_run):
    from ganviz_gui.core.workspace import Mode

    window.open_path(str(digits_run), follow=True)
    qtbot.waitUntil(lambda: window.workspace.step == 30, timeout=WAIT_MS)
    assert window.workspace.mode == Mode.FOLLOWING
    assert window.registry.actions["followRunAction"].isEnabled()


def test_a_run_without_checkpoints_shows_its_curves_and_pictures(qtbot, window, digits_run):
    from ganviz_gui.core.workspace import Mode

    shutil.rmtree(digits_run / "checkpoints")
    window.open_path(str(digits_run))
    workspace = window.workspace
    qtbot.waitUntil(lambda: workspace.run is not None, timeout=WAIT_MS)
    assert workspace.mode == Mode.INSPECTING and len(workspace.records) > 0
    pictures = sorted((digits_run / "samples").iterdir())
    assert workspace.scrub_steps == [int(p.stem.split("_")[1]) for p in pictures]
    assert workspace.step == workspace.scrub_steps[-1]
    grid = window.sample_grid
    qtbot.waitUntil(lambda: grid.sheet is not None, timeout=WAIT_MS)
    assert grid.sheet.caption == "sample picture the run wrote"
    frame = window.latent_explorer.frame
    assert not frame.showing_view() and "no checkpoint yet" in frame.message.text()


def test_another_run_is_overlaid_on_the_plots_and_can_be_hidden(
    qtbot, window, digits_run, ring_run
):
    window.open_path(str(ring_run))
    workspace = window.workspace
    qtbot.waitUntil(lambda: workspace.run is not None, timeout=WAIT_MS)
    window.inspector.overlay_path(str(digits_run))
    qtbot.waitUntil(lambda: len(workspace.overlays) == 1, timeout=WAIT_MS)
    plots = window.loss_plots
    steps, _ = plots.overlay_curves.drawn(digits_run, "loss_d")
    recorded = [json.loads(line) for line in lines_of(digits_run / "metrics.jsonl")]
    assert steps.tolist() == [r["step"] for r in recorded if r.get("loss_d") is not None]
    legend = plots.run_legend
    assert legend.isVisible() and set(legend.checks) == {None, digits_run}
    legend.checks[digits_run].setChecked(False)
    assert not workspace.overlays[0].visible
    assert not plots.overlay_curves.curves[digits_run]["loss_d"].isVisible()
    legend.remove_button.click()
    assert workspace.overlays == [] and not legend.isVisible()


def test_a_tensorboard_log_opens_its_tags_are_mapped_and_remapped(qtbot, window, tmp_path):
    import numpy as np
    from torch.utils.tensorboard import SummaryWriter

    from ganviz_gui.core.tag_mapping import TagMapping

    log = tmp_path / "tb"
    writer = SummaryWriter(str(log))
    for step in range(0, 200, 10):
        writer.add_scalar("Loss/D", 1.0 + step / 1000, step)
        writer.add_scalar("Loss/G", 0.5, step)
        writer.add_scalar("accuracy", 0.9, step)
        if step % 40 == 0:
            writer.add_image("fake", np.full((3, 8, 8), step / 200, np.float32), step)
    writer.flush()
    workspace = window.workspace
    window.open_path(str(log))
    qtbot.waitUntil(lambda: workspace.run is not None, timeout=WAIT_MS)
    assert workspace.run.source == "tensorboard"
    assert len(workspace.records) == 20 and workspace.records[0]["loss_d"] == 1.0
    assert workspace.scrub_steps == [0, 40, 80, 120, 160]  # every picture, not ten
    qtbot.waitUntil(lambda: window.sample_grid.sheet is not None, timeout=WAIT_MS)
    assert window.sample_grid.sheet.fake_grid.shape == (8, 8, 3)
    plots = window.loss_plots
    assert plots.other_keys == ["accuracy"]  # any other scalar is kept and plotted
    assert window.registry.actions["tensorboardTagsAction"].isEnabled()

    # The user says "accuracy" is the D(x) curve: the run is drawn anew.
    window.inspector.remap_tags(TagMapping(overrides={"accuracy": "d_real"}))
    qtbot.waitUntil(lambda: plots.series["d_real"].count == 20, timeout=5000)
    assert plots.other_keys == []

    # Written on: followed like a run folder.
    writer.add_scalar("Loss/D", 2.0, 500)
    writer.flush()
    qtbot.waitUntil(lambda: workspace.records[-1].get("loss_d") == 2.0, timeout=5000)
    writer.close()


OWN_LOOP = Path(__file__).with_name("own_loop.py")


def start_own_loop(run, steps, sleep):
    """The user's own loop (tests/gui/own_loop.py) writing `run` in another process."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, str(OWN_LOOP), str(run), str(steps), "--sleep", str(sleep)]
    return subprocess.Popen(command, env=env, cwd=root)


def test_the_window_follows_a_run_an_own_loop_writes_in_another_process(
    qtbot, window, tmp_path, monkeypatch
):
    from ganviz_gui.core.workspace import Mode

    run = tmp_path / "own"
    writer = start_own_loop(run, steps=300, sleep=0.02)
    try:
        qtbot.waitUntil(lambda: (run / "metrics.jsonl").exists(), timeout=WAIT_MS)
        asked = []
        monkeypatch.setattr(
            window.inspector, "confirm_trust", lambda p, *_: asked.append(p) or True
        )
        window.open_path(str(run))
        workspace = window.workspace
        # Followed once its `started` event is read (at once, or at the next poll).
        qtbot.waitUntil(lambda: workspace.mode == Mode.FOLLOWING, timeout=WAIT_MS)
        first = len(workspace.records)
        # Records, pictures and checkpoints arrive while the other process writes.
        qtbot.waitUntil(lambda: len(workspace.records) > first + 20, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: len(workspace.checkpoints) >= 2, timeout=WAIT_MS)
        assert len(workspace.pictures) >= 2
        assert "sharpness" in window.loss_plots.other_keys
        qtbot.waitUntil(lambda: workspace.generator is not None, timeout=WAIT_MS)
        assert asked  # its generator is a program of the user's class: asked once
        writer.wait(timeout=120)
        qtbot.waitUntil(lambda: workspace.mode == Mode.INSPECTING, timeout=WAIT_MS)
        assert workspace.records[-1]["step"] == 299
        # The end of the run is shown: its last checkpoint's samples.
        qtbot.waitUntil(lambda: workspace.sheet is not None, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: workspace.sheet.step == 299, timeout=WAIT_MS)
        assert workspace.step == 299
    finally:
        writer.kill()
        writer.wait()


def test_a_run_killed_mid_write_reopens(qtbot, window, tmp_path, monkeypatch):
    run = tmp_path / "killed"
    writer = start_own_loop(run, steps=100_000, sleep=0.0)
    try:
        deadline = time.monotonic() + 120
        while len(list((run / "checkpoints").glob("*.pt"))) < 2:
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.1)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    monkeypatch.setattr(window.inspector, "confirm_trust", lambda p, *_: True)
    window.open_path(str(run))
    workspace = window.workspace
    qtbot.waitUntil(lambda: workspace.generator is not None, timeout=WAIT_MS)
    assert len(workspace.records) > 0 and len(workspace.checkpoints) >= 2
    assert window.error_box is None


def test_the_tag_mapping_dialog_keeps_the_users_corrections(qtbot):
    from ganviz_gui.core.tag_mapping import TagMapping, TagRow
    from ganviz_gui.gui.tag_mapping_dialog import OWN_NAME, TagMappingDialog

    rows = [TagRow("Loss/D", "loss_d", True), TagRow("acc", None, True)]
    dialog = TagMappingDialog(rows, {"fake": 3, "real": 3}, TagMapping(), "fake")
    qtbot.addWidget(dialog)
    assert dialog.combos["Loss/D"].currentText() == "loss_d"
    assert dialog.combos["acc"].currentText() == OWN_NAME
    dialog.combos["acc"].setCurrentText("d_real")
    dialog.picture_combo.setCurrentIndex(dialog.picture_combo.findData("real"))
    chosen = dialog.chosen_mapping()
    assert chosen.overrides == {"acc": "d_real"}  # a guess left as it was is no override
    assert chosen.picture_tag == "real"


def test_a_trusted_run_folder_is_asked_about_once(qtbot, window, tmp_path, monkeypatch):
    from ganviz_gui.gui import file_dialogs

    run = tmp_path / "own"
    subprocess.run(
        [sys.executable, str(OWN_LOOP), str(run), "30"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=True,
    )
    asked = []
    monkeypatch.setattr(
        file_dialogs, "confirm_trust", lambda parent, p, *_: asked.append(p) or True
    )
    window.open_path(str(run))
    qtbot.waitUntil(lambda: window.workspace.generator is not None, timeout=WAIT_MS)
    window.open_path(str(run / "checkpoints" / "step_00000020.pt"))
    qtbot.waitUntil(lambda: window.workspace.generator.step == 20, timeout=WAIT_MS)
    assert asked == [str(run)]  # the checkpoint inside the trusted folder was not asked about


def test_a_long_run_reaches_the_panels_in_slices_and_whole(qtbot, window, tmp_path, monkeypatch):
    from ganviz_gui.core import run_sources
    from ganviz_gui.gui import inspection_controller

    monkeypatch.setattr(run_sources, "READ_BYTES", 20_000)  # the first piece: a few hundred
    monkeypatch.setattr(inspection_controller, "HANDOVER_RECORDS", 700)
    run = tmp_path / "long"
    run.mkdir()
    (run / "config.json").write_text("{}")
    lines = [json.dumps({"step": s, "loss_d": 1 + s % 7, "loss_g": 0.5}) for s in range(5000)]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    extended = []
    window.workspace.run_extended.connect(lambda delta: extended.append(len(delta.records)))
    window.open_path(str(run))
    plots = window.loss_plots
    qtbot.waitUntil(lambda: plots.points_drawn("loss_d") == 5000, timeout=WAIT_MS)
    assert plots.series["loss_d"].steps[:5000].tolist() == list(range(5000))  # in order
    assert len(extended) >= 5 and max(extended) <= 700  # the rest came in slices
