"""The live loop without Qt: pacing, typed commands, coalescing, pictures, errors.

Most tests run the loop on the test's own thread with a scripted listener: each update it
receives (or refused setting) triggers the script's next action, so paused runs advance
command by command, deterministically. A watchdog stops a loop that a broken script leaves
waiting.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import torch

from ganviz_gui.core import trainer as trainer_module
from ganviz_gui.core.checkpoint import load_checkpoint
from ganviz_gui.core.live_loop import (
    STEP_KINDS,
    Command,
    LiveLoop,
    Pause,
    RefreshRates,
    Resume,
    RunEnded,
    RunStarted,
    SaveCheckpoint,
    SetDSteps,
    SetLearningRates,
    SetLoss,
    SetSteps,
    Step,
    TrainingUpdate,
)
from ganviz_gui.core.run_folder import read_jsonl
from tests.core.helpers import tiny_image_config, tiny_points_config

WATCHDOG_SECONDS = 30.0
STOP = "stop"  # a script action: loop.stop("stopped")
Action = Command | str | None  # None: do nothing this time


class Recorder:
    """A listener that keeps everything, acknowledges updates (unless told not to) and plays
    a script: one action per update or refused setting."""

    def __init__(self, script: Sequence[Action] = (), acknowledge: bool = True):
        self.script: deque[Action] = deque(script)
        self.acknowledges = acknowledge
        self.loop: LiveLoop | None = None
        self.started: list[RunStarted] = []
        self.updates: list[TrainingUpdate] = []
        self.refused: list[str] = []
        self.saved: list[str] = []
        self.ended: list[RunEnded] = []
        self.on_update: Callable[[TrainingUpdate], None] | None = None

    def run_started(self, started: RunStarted) -> None:
        self.started.append(started)

    def updated(self, update: TrainingUpdate) -> None:
        self.updates.append(update)
        if self.on_update is not None:
            self.on_update(update)
        if self.acknowledges:
            self.loop.acknowledge()
        self._next()

    def setting_refused(self, message: str) -> None:
        self.refused.append(message)
        self._next()

    def checkpoint_saved(self, path: str) -> None:
        self.saved.append(path)

    def run_ended(self, ended: RunEnded) -> None:
        self.ended.append(ended)

    def _next(self) -> None:
        if not self.script:
            return
        action = self.script.popleft()
        if action == STOP:
            self.loop.stop("stopped")
        elif action is not None:
            self.loop.send(action)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for u in self.updates for r in u.records]

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for u in self.updates for e in u.events]


class TickingClock:
    """A fake clock that moves on by `tick` seconds each time it is read."""

    def __init__(self, tick: float):
        self.tick = tick
        self.now = 0.0

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def make_loop(
    tmp_path: Path, config: Any, script: Sequence[Action] = (), acknowledge: bool = True, **options
) -> tuple[LiveLoop, Recorder]:
    recorder = Recorder(script, acknowledge)
    options.setdefault("run_dir", str(tmp_path / "run"))
    loop = LiveLoop(recorder, config, **options)
    recorder.loop = loop
    return loop, recorder


def run(loop: LiveLoop) -> None:
    """Run on this thread, as the training thread does; the watchdog ends a stuck script."""
    watchdog = threading.Timer(WATCHDOG_SECONDS, loop.stop, args=("watchdog",))
    watchdog.start()
    try:
        loop.run()
    finally:
        watchdog.cancel()


def ended(recorder: Recorder) -> RunEnded:
    assert len(recorder.ended) == 1
    assert recorder.ended[0].reason != "watchdog", "the script left the loop waiting"
    return recorder.ended[0]


# ---------------------------------------------------------------------- whole runs
def test_a_run_to_its_end_reports_start_updates_and_a_checkpoint(tmp_path):
    loop, recorder = make_loop(tmp_path, tiny_points_config(steps=20, log_every=5))
    run(loop)
    (started,) = recorder.started
    assert started.run_dir == str(tmp_path / "run") and started.device == "CPU"
    assert not started.is_image and started.sample_shape == (2,) and started.threads == 1
    assert started.fixed_noise.shape == (16, 4)
    first, last = recorder.updates[0], recorder.updates[-1]
    assert first.step == 0 and first.field is not None and first.field.step == 0
    assert last.step == 20 == last.total_steps and last.field.step == 20
    assert first.samples is None and first.weights is None  # 2D data; weights not wanted
    assert [r["step"] for r in recorder.records] == [5, 10, 15, 20]  # each once, in order
    assert recorder.events[0]["kind"] == "started"
    result = ended(recorder)
    assert (result.reason, result.step, result.message) == ("finished", 20, "")
    assert result.checkpoint.endswith(".pt") and Path(result.checkpoint).exists()
    assert recorder.refused == [] and recorder.saved == []


def test_an_image_run_sends_sample_sheets_and_no_field(tmp_path):
    loop, recorder = make_loop(tmp_path, tiny_image_config(steps=3))
    run(loop)
    assert recorder.started[0].is_image
    first, last = recorder.updates[0], recorder.updates[-1]
    assert first.samples is not None and first.samples.real_grid is not None
    assert last.samples.step == 3 and last.field is None
    assert ended(recorder).reason == "finished"


def test_resuming_starts_paused_where_the_checkpoint_stands(tmp_path):
    loop, recorder = make_loop(tmp_path, tiny_points_config(steps=5))
    run(loop)
    checkpoint = ended(recorder).checkpoint
    loop, again = make_loop(
        tmp_path, None, [SetSteps(7), Resume()], resume_from=checkpoint, run_dir=None
    )
    run(loop)
    assert again.updates[0].step == 5 and again.updates[0].state == "paused"
    assert again.started[0].run_dir == str(tmp_path / "run")  # the same run folder
    assert (ended(again).reason, ended(again).step) == ("finished", 7)


def test_a_run_that_cannot_start_ends_at_once_with_the_reason(tmp_path):
    loop, recorder = make_loop(tmp_path, None, resume_from=str(tmp_path / "missing.pt"))
    run(loop)
    assert recorder.started == [] and recorder.updates == []
    result = ended(recorder)
    assert (result.reason, result.step, result.checkpoint) == ("error", 0, "")
    assert "missing.pt" in result.message


def test_an_exception_in_a_step_ends_the_run_as_an_error_keeping_its_checkpoint(
    tmp_path, monkeypatch
):
    real_step = trainer_module.Trainer.step

    def failing_step(self, kind="both"):
        if self.step_count == 6:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB\nmore details")
        return real_step(self, kind)

    monkeypatch.setattr(trainer_module.Trainer, "step", failing_step)
    loop, recorder = make_loop(tmp_path, tiny_points_config(steps=20, checkpoint_every=5))
    run(loop)
    result = ended(recorder)
    assert result.reason == "error" and result.step == 6
    assert result.message == "RuntimeError: CUDA out of memory. Tried to allocate 2 GiB"
    assert load_checkpoint(result.checkpoint).step == 6
    events = read_jsonl(tmp_path / "run" / "events.jsonl")
    assert {"kind": "error", "step": 6, "message": result.message}.items() <= events[-2].items()
    assert events[-1]["kind"] == "closed" and events[-1]["reason"] == "error"
    assert recorder.updates[-1].step == 6  # the final update matches the checkpoint


# ---------------------------------------------------------------------- commands
def test_step_advances_exactly_one_step_of_its_kind_and_stays_paused(tmp_path):
    script = [Step(), Step("d"), Step("g"), STOP]
    loop, recorder = make_loop(tmp_path, tiny_points_config(), script, start_paused=True)
    loop.set_wanted("weights", True)
    run(loop)
    updates = recorder.updates
    assert [u.step for u in updates] == [0, 1, 2, 3, 3]  # start, three steps, the final one
    assert all(u.state == "paused" and u.steps_per_sec == 0 for u in updates)
    before, after_d, after_g = updates[1].weights, updates[2].weights, updates[3].weights

    def same(a: dict, b: dict) -> bool:
        return all(torch.equal(a[k], b[k]) for k in a)

    assert same(before["generator"], after_d["generator"])  # "d" moves D only
    assert not same(before["discriminator"], after_d["discriminator"])
    assert same(after_d["discriminator"], after_g["discriminator"])  # "g" moves G only
    assert not same(after_d["generator"], after_g["generator"])
    assert (ended(recorder).reason, ended(recorder).step) == ("stopped", 3)


def test_pause_holds_the_step_and_resume_goes_on(tmp_path):
    # The script: pause at once, resume, let one step go by, stop.
    script = [Pause(), Resume(), None, STOP]
    config = tiny_points_config(steps=1000)
    loop, recorder = make_loop(tmp_path, config, script, clock=TickingClock(1.0))
    run(loop)
    states = [(u.state, u.step) for u in recorder.updates]
    assert states[:4] == [("running", 0), ("paused", 0), ("running", 0), ("running", 1)]
    assert recorder.updates[1].steps_per_sec == 0
    assert ended(recorder).step == 1


def test_live_settings_change_the_trainer_and_each_refreshes_the_views(tmp_path):
    script = [SetLearningRates(lr_g=1e-3), SetDSteps(3), SetLoss("hinge"), SetSteps(9), STOP]
    loop, recorder = make_loop(tmp_path, tiny_points_config(), script, start_paused=True)
    run(loop)
    # One forced update, with pictures, per change (plus the first and the final one).
    assert len(recorder.updates) == 6
    assert all(u.field is not None for u in recorder.updates)
    changes = [e for e in recorder.events if e["kind"] == "settings_changed"]
    assert [{k: e[k] for k in e if k not in ("step", "time", "kind")} for e in changes] == [
        {"lr_g": 1e-3, "previous": {"lr_g": tiny_points_config().lr_g}},
        {"d_steps": 3, "previous": {"d_steps": 1}},
        {"loss": "hinge", "previous": {"loss": "nonsaturating"}},
    ]
    assert recorder.updates[4].total_steps == 9
    config = load_checkpoint(ended(recorder).checkpoint).config
    assert (config.lr_g, config.d_steps, config.loss, config.steps) == (1e-3, 3, "hinge", 9)


def test_a_refused_setting_is_reported_and_the_run_goes_on(tmp_path):
    script = [SetDSteps(0), SetLoss("nope"), SetSteps(0), SetLearningRates(lr_d=-1), Step(), STOP]
    loop, recorder = make_loop(tmp_path, tiny_points_config(), script, start_paused=True)
    run(loop)
    assert len(recorder.refused) == 4
    assert recorder.refused[0].startswith("d_steps")
    assert recorder.refused[1].startswith("loss: 'nope'")
    assert recorder.refused[2].startswith("steps") and recorder.refused[3].startswith("lr_d")
    assert [u.step for u in recorder.updates] == [0, 1, 1]  # no update for a refusal
    assert (ended(recorder).reason, ended(recorder).step) == ("stopped", 1)


def test_save_checkpoint_reports_a_file_that_exists(tmp_path):
    loop, recorder = make_loop(
        tmp_path, tiny_points_config(), [Step(), SaveCheckpoint(), STOP], start_paused=True
    )
    run(loop)
    (saved,) = recorder.saved
    assert Path(saved).exists() and load_checkpoint(saved).step == 1


def test_commands_are_checked_when_sent(tmp_path):
    loop, _ = make_loop(tmp_path, tiny_points_config())
    with pytest.raises(TypeError):
        loop.send("pause")  # the old string protocol
    with pytest.raises(ValueError, match="step kind"):
        Step("both d")
    with pytest.raises(ValueError, match="view"):
        loop.set_wanted("histogram", True)
    with pytest.raises(ValueError, match="either a config"):
        LiveLoop(Recorder())
    assert STEP_KINDS == trainer_module.STEP_KINDS


def test_stop_from_another_thread_ends_a_running_loop_with_that_reason(tmp_path):
    config = tiny_points_config(steps=100_000)
    loop, recorder = make_loop(tmp_path, config)
    first_update = threading.Event()
    recorder.on_update = lambda _: first_update.set()
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        assert first_update.wait(10)
        loop.stop("window closed")
    finally:
        thread.join(10)
    assert not thread.is_alive()
    result = ended(recorder)
    assert result.reason == "window closed" and result.step < 100_000
    assert load_checkpoint(result.checkpoint).step == result.step


# ---------------------------------------------------------------------- pacing
def test_no_update_is_sent_until_the_previous_one_is_acknowledged(tmp_path):
    config = tiny_points_config(steps=10, log_every=1)
    # A clock that races ahead: only the acknowledgement holds updates back.
    loop, recorder = make_loop(tmp_path, config, acknowledge=False, clock=TickingClock(1.0))
    run(loop)
    assert len(recorder.updates) == 2  # the first and the final one, both forced
    assert [r["step"] for r in recorder.updates[-1].records] == list(range(1, 11))

    loop, acknowledged = make_loop(tmp_path, config, clock=TickingClock(1.0), run_dir=None)
    run(loop)
    assert [u.step for u in acknowledged.updates] == [0, *range(1, 11), 10]  # one per step


def test_updates_are_coalesced_at_update_hz(tmp_path):
    clock = TickingClock(0.01)
    config = tiny_points_config(steps=40, log_every=1)
    rates = RefreshRates(update_hz=10, field_hz=5)
    loop, recorder = make_loop(tmp_path, config, clock=clock, rates=rates)
    sent_at: list[float] = []
    recorder.on_update = lambda _: sent_at.append(clock.now)
    run(loop)
    paced = recorder.updates[1:-1]  # between the forced first and final updates
    assert 2 <= len(paced) < 40 / 2
    assert all(later - earlier >= 0.1 for earlier, later in pairwise(sent_at[1:-1]))
    assert all(len(u.records) >= 2 for u in paced[1:])  # several steps' records in one update
    assert [r["step"] for r in recorder.records] == list(range(1, 41))
    # The field at its own, lower rate: not every update carries one.
    assert 0 < sum(u.field is not None for u in paced) < len(paced)


def test_with_the_clock_standing_still_everything_arrives_in_the_final_update(tmp_path):
    config = tiny_points_config(steps=10, log_every=1)
    loop, recorder = make_loop(tmp_path, config, clock=lambda: 0.0)
    run(loop)
    assert [u.step for u in recorder.updates] == [0, 10]
    assert len(recorder.updates[-1].records) == 10


def test_pictures_nobody_shows_are_not_computed(tmp_path):
    config = tiny_points_config(steps=10, log_every=1)
    loop, recorder = make_loop(tmp_path, config, clock=TickingClock(1.0))
    loop.set_wanted("field", False)
    assert loop.wanted == {"field": False, "samples": True, "weights": False}
    run(loop)
    paced = recorder.updates[1:-1]
    assert len(paced) == 10 and all(u.field is None and u.weights is None for u in paced)
    # Forced updates (start, settings, end) bring every picture, so the views never lag.
    assert recorder.updates[0].field is not None and recorder.updates[-1].field is not None


def test_wanted_weights_come_at_their_own_interval(tmp_path):
    config = tiny_points_config(steps=10, log_every=1)
    loop, recorder = make_loop(tmp_path, config, clock=TickingClock(1.0))
    loop.set_wanted("weights", True)
    loop.set_weights_interval(5.0)
    assert loop.weights_interval == 5.0
    run(loop)
    paced = recorder.updates[1:-1]
    with_weights = [u for u in paced if u.weights is not None]
    assert 0 < len(with_weights) < len(paced)
    generator = with_weights[0].weights["generator"]
    assert all(t.device.type == "cpu" for t in generator.values())


def test_the_module_loads_without_torch_or_qt():
    # The window imports it before torch has loaded; the engine runs where Qt is absent.
    code = (
        "import sys; import ganviz_gui.core.live_loop; "
        "print(sorted({'torch', 'PySide6', 'pyqtgraph'} & set(sys.modules)))"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"
