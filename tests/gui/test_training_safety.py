"""The window's side of a run's safety (issue 14): a full disk is one dialog, said once and
naming the checkpoint kept; a diverged run is said to have diverged, not to have finished."""

from __future__ import annotations

from pathlib import Path

import torch

from ganviz_gui.core import losses
from ganviz_gui.core.run_folder import list_checkpoints, read_jsonl
from tests.core.helpers import tiny_points_config
from tests.gui.conftest import WAIT_MS


def test_a_full_disk_is_one_dialog_naming_the_checkpoint_kept(qtbot, window, monkeypatch):
    real_save = torch.save

    def save(payload, handle, *args, **kwargs):
        if isinstance(payload, dict) and payload.get("step") == 20:
            handle.write(b"PK\x03\x04 half a checkpoint")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2 vs 1")
        return real_save(payload, handle, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    problems: list[str] = []
    window.workspace.problem.connect(problems.append)
    assert window.trainer.start(tiny_points_config(steps=40, checkpoint_every=10))
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    end = window.trainer.last_end
    assert end.reason == "error" and Path(end.checkpoint).name == "step_00000010.pt"
    assert len(problems) == 1, problems
    (text,) = problems
    assert text.count("disk full") == 1 and "could not save" not in text
    assert "unexpected pos" not in text and text.count("step_00000010.pt") == 1
    assert window.error_box is not None and window.error_box.text() == text
    run_dir = window.trainer.started.run_dir
    assert [step for step, _ in list_checkpoints(run_dir)] == [10]
    assert not [p for p in Path(run_dir).rglob("*.tmp")]


def test_a_diverged_run_says_so(qtbot, window, monkeypatch):
    real_g_loss = losses.g_loss
    monkeypatch.setattr(losses, "g_loss", lambda *a, **k: real_g_loss(*a, **k) + 1e12)
    problems: list[str] = []
    window.workspace.problem.connect(problems.append)
    assert window.trainer.start(tiny_points_config(steps=30))
    qtbot.waitUntil(lambda: window.trainer.training is None, timeout=WAIT_MS)
    end = window.trainer.last_end
    assert end.reason == "diverged" and end.step == 30
    assert len(problems) == 1 and "diverged: the losses ran away" in problems[0]
    closed = read_jsonl(Path(window.trainer.started.run_dir) / "events.jsonl")[-1]
    assert closed["kind"] == "closed" and closed["reason"] == "diverged"
