"""Dragging the step slider over many checkpoints: newest wins.

A drag emits one `valueChanged` per notch passed. Loads still waiting when the hand moves on
are dropped, the one already running finishes (and is cached, never drawn), and the panels
show the checkpoint the hand stopped on. Loads are counted, never timed
(`benchmarks/bench_scrub.py` times them).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import torch

pytest.importorskip("pyqtgraph")

import ganviz_gui.gui.inspection_controller as inspection
from ganviz_gui.gui.background import LatestOnly
from tests.gui.conftest import WAIT_MS, recorded_run

CHECKPOINTS = 40


@pytest.fixture
def long_run(tmp_path) -> Path:
    """A tiny digits DCGAN with CHECKPOINTS checkpoints, steps 10, 20, ...: one real
    checkpoint, written again at each step (each has its own step, so its own sheet)."""
    from tests.core.helpers import tiny_image_config

    folder = recorded_run(tmp_path / "run", tiny_image_config(steps=10, checkpoint_every=10))
    checkpoints = folder / "checkpoints"
    state = torch.load(checkpoints / "step_00000010.pt", weights_only=True)
    for step in range(20, 10 * CHECKPOINTS + 1, 10):
        state["step"] = step
        torch.save(state, checkpoints / f"step_{step:08d}.pt")
    return folder


@pytest.fixture
def counted_loads(monkeypatch):
    """The steps of the checkpoint loads actually run; each load made `delay` seconds slower
    (a bigger model), so that one is surely running while the drag goes on."""
    loads: list[int] = []
    real_load = inspection.load_checkpoint_views

    def load(step, *args, **kwargs):
        loads.append(step)
        time.sleep(load.delay)
        return real_load(step, *args, **kwargs)

    load.delay = 0.0
    monkeypatch.setattr(inspection, "load_checkpoint_views", load)
    return load, loads


def open_at_the_end(qtbot, window, folder: Path) -> list[int]:
    """Opens the run; its last step is shown (and its first cached: the file opened). The
    drags below end on the second, never loaded before."""
    window.open_path(str(folder))
    scrubber, grid = window.scrubber, window.sample_grid
    qtbot.waitUntil(lambda: len(scrubber.steps) == CHECKPOINTS, timeout=WAIT_MS)
    last = scrubber.steps[-1]
    qtbot.waitUntil(lambda: getattr(grid.sheet, "step", None) == last, timeout=WAIT_MS)
    qtbot.wait(100)  # anything still to come
    return scrubber.steps


def test_a_drag_over_many_checkpoints_ends_on_the_last_and_runs_few_loads(
    qtbot, window, long_run, counted_loads
):
    _load, loads = counted_loads
    steps = open_at_the_end(qtbot, window, long_run)
    loads.clear()
    slider = window.scrubber.slider
    for index in reversed(range(1, CHECKPOINTS - 1)):  # a drag from the end to the 2nd
        slider.setValue(index)
    grid, explorer = window.sample_grid, window.latent_explorer
    qtbot.waitUntil(lambda: grid.sheet.step == steps[1], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: explorer.opened.step == steps[1], timeout=WAIT_MS)  # it follows
    qtbot.wait(200)  # a late load would land now
    assert grid.sheet.step == steps[1] and window.workspace.step == steps[1]
    assert slider.value() == 1 and "step 20 " in window.scrubber.label.text()
    assert loads[-1] == steps[1], loads
    assert len(loads) <= 3, loads  # not one per notch


def test_a_checkpoint_passed_over_is_kept_for_the_drag_back(qtbot, window, long_run, counted_loads):
    """The load running when the hand moved on finishes: never drawn, but cached, so the
    notch shows at once when the hand comes back to it."""
    load, loads = counted_loads
    steps = open_at_the_end(qtbot, window, long_run)
    load.delay = 0.3  # the first notch's load is surely running when the others come
    loads.clear()
    shown: list[tuple[int, int]] = []  # (the sheet's step, the step asked) at each drawing
    workspace = window.workspace
    workspace.sheet_changed.connect(lambda sheet: shown.append((sheet.step, workspace.step)))
    slider = window.scrubber.slider
    slider.setValue(CHECKPOINTS - 2)
    # The loader's thread may wake late on a busy machine: the drag goes on once it has begun.
    qtbot.waitUntil(lambda: loads == [steps[-2]], timeout=WAIT_MS)
    for index in reversed(range(1, CHECKPOINTS - 2)):
        slider.setValue(index)
    grid = window.sample_grid
    qtbot.waitUntil(lambda: grid.sheet.step == steps[1], timeout=WAIT_MS)
    assert loads == [steps[-2], steps[1]]  # the one under way, then the last: none between
    assert all(sheet == asked for sheet, asked in shown)  # only the newest step is drawn
    assert shown[-1] == (steps[1], steps[1])
    loads.clear()
    slider.setValue(CHECKPOINTS - 2)  # back to the notch passed over first
    assert grid.sheet.step == steps[-2]  # from the cache, at once
    assert loads == []


def test_a_drag_with_the_event_loop_running_shows_only_the_newest_step(
    qtbot, window, long_run, counted_loads
):
    """As a real drag: the window handles events between moves, loads finish meanwhile."""
    load, loads = counted_loads
    steps = open_at_the_end(qtbot, window, long_run)
    load.delay = 0.05
    loads.clear()
    shown: list[tuple[int, int]] = []
    workspace = window.workspace
    workspace.sheet_changed.connect(lambda sheet: shown.append((sheet.step, workspace.step)))
    slider = window.scrubber.slider
    for index in reversed(range(1, CHECKPOINTS - 1)):
        slider.setValue(index)
        qtbot.wait(5)
    grid = window.sample_grid
    qtbot.waitUntil(lambda: grid.sheet.step == steps[1], timeout=WAIT_MS)
    qtbot.wait(200)
    assert grid.sheet.step == steps[1] and workspace.step == steps[1]
    assert all(sheet == asked for sheet, asked in shown)
    assert len(loads) < CHECKPOINTS - 1  # loads waiting were dropped


def test_latest_only_hands_a_superseded_running_result_to_its_owner(qtbot):
    """Of three requests, the first already running: its result comes as `superseded`, the
    second (still waiting) never runs, the third is `finished`."""
    jobs = LatestOnly(own_thread=True)
    go = threading.Event()
    ran: list[str] = []

    def job(name: str, wait: bool = False):
        def run() -> str:
            if wait:
                go.wait(10)
            ran.append(name)
            return name

        return run

    superseded: list[str] = []
    jobs.superseded.connect(superseded.append)
    jobs.submit(job("first", wait=True))
    qtbot.waitUntil(lambda: jobs.pool.activeThreadCount() == 1, timeout=WAIT_MS)
    jobs.submit(job("second"))
    with qtbot.waitSignal(jobs.finished, timeout=WAIT_MS) as finished:
        jobs.submit(job("third"))
        go.set()
    assert finished.args == ["third", ""]
    assert ran == ["first", "third"] and superseded == ["first"]
    jobs.submit(job("after close", wait=False))
    assert jobs.close()
    qtbot.wait(50)
    assert superseded == ["first"]  # a closed job's results go nowhere
