import json
import math

import pytest
import torch

from ganviz_gui.core.errors import ConfigError, TrainingStopped
from ganviz_gui.core.run_folder import read_jsonl
from ganviz_gui.core.trainer import Trainer
from tests.core.helpers import tiny_image_config, tiny_points_config

RECORD_KEYS = {
    "step",
    "loss_d",
    "loss_g",
    "d_real",
    "d_fake",
    "grad_norm_d",
    "grad_norm_g",
    "lr_g",
    "lr_d",
    "d_steps",
    "elapsed",
    "time",
    "steps_per_sec",
}


def test_records_come_at_the_logging_interval_with_every_scalar():
    trainer = Trainer(tiny_points_config(log_every=5, eval_every=10))
    results = [trainer.step() for _ in range(10)]
    assert [r.record is not None for r in results] == [False] * 4 + [True] + [False] * 4 + [True]
    first, second = results[4].record, results[9].record
    assert set(first) >= RECORD_KEYS
    assert "modes_covered" not in first  # 2D metrics only at eval_every
    assert {"modes_covered", "high_quality", "js_divergence"} <= set(second)
    assert all(math.isfinite(v) for v in second.values() if isinstance(v, float))
    assert 0 <= second["d_real"] <= 1 and 0 <= second["d_fake"] <= 1


def test_same_seed_same_losses_on_cpu():
    losses = []
    for _ in range(2):
        trainer = Trainer(tiny_points_config(seed=7))
        losses.append([trainer.step().record for _ in range(10)][-1]["loss_d"])
    assert losses[0] == losses[1]
    other = Trainer(tiny_points_config(seed=8))
    assert [other.step().record for _ in range(10)][-1]["loss_d"] != losses[0]


def test_d_only_and_g_only_steps_update_only_their_network():
    trainer = Trainer(tiny_points_config())
    g_before = [p.clone() for p in trainer.generator.parameters()]
    d_before = [p.clone() for p in trainer.discriminator.parameters()]
    trainer.step("d")
    assert all(
        torch.equal(a, b) for a, b in zip(g_before, trainer.generator.parameters(), strict=True)
    )
    assert not all(
        torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters(), strict=True)
    )
    d_now = [p.clone() for p in trainer.discriminator.parameters()]
    trainer.step("g")
    assert all(
        torch.equal(a, b) for a, b in zip(d_now, trainer.discriminator.parameters(), strict=True)
    )
    assert trainer.step_count == 2
    with pytest.raises(ValueError):
        trainer.step("both-twice")


def test_live_changes_apply_and_become_events():
    trainer = Trainer(tiny_points_config())
    trainer.step()
    trainer.set_learning_rates(lr_g=1e-5)
    trainer.set_d_steps(3)
    trainer.set_loss("hinge")
    assert trainer.optimizer_g.param_groups[0]["lr"] == 1e-5
    assert trainer.config.d_steps == 3 and trainer.config.loss == "hinge"
    events = trainer.drain_events()
    assert [e["kind"] for e in events] == ["settings_changed"] * 3
    assert events[0]["lr_g"] == 1e-5 and events[0]["step"] == 1
    before = tiny_points_config()  # each event says what it changed from
    assert events[0]["previous"] == {"lr_g": before.lr_g}
    assert events[1]["previous"] == {"d_steps": before.d_steps}
    assert events[2]["previous"] == {"loss": before.loss}
    with pytest.raises(ConfigError, match="lr_d"):
        trainer.set_learning_rates(lr_d=-1)
    with pytest.raises(ConfigError, match="loss"):
        trainer.set_loss("bogus")
    for _ in range(5):
        trainer.step()  # still trains under the new settings


@pytest.mark.parametrize("loss", ["minimax", "lsgan", "hinge", "wgan-gp"])
def test_every_loss_trains_images_and_points(loss):
    for config in (tiny_points_config(loss=loss), tiny_image_config(loss=loss, r1_weight=1.0)):
        trainer = Trainer(config)
        record = [trainer.step() for _ in range(5)][-1].record
        assert math.isfinite(record["loss_d"]) and math.isfinite(record["loss_g"])


def _poison_next_batch(trainer):
    real_next = trainer.sampler.next

    def poisoned():
        trainer.sampler.next = real_next
        return real_next() * float("nan")

    trainer.sampler.next = poisoned


def test_non_finite_update_is_refused_on_the_device_without_a_sync():
    trainer = Trainer(tiny_points_config(log_every=5))
    for _ in range(3):
        trainer.step()
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    adam_steps = [s["step"].clone() for s in trainer.optimizer_d.state.values()]
    lr_before = trainer.config.lr_d
    _poison_next_batch(trainer)
    result = trainer.step()  # step 4: the fused kernel skips D's update; nothing synced yet
    assert not result.skipped and result.record is None
    assert all(
        torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters(), strict=True)
    )
    assert [s["step"] for s in trainer.optimizer_d.state.values()] == adam_steps
    result = trainer.step()  # step 5 closes the interval: the refusal comes to light
    assert result.skipped and result.record["refused_updates"] >= 1
    assert math.isfinite(result.record["loss_d"])  # the mean of the finite updates
    assert trainer.config.lr_d == lr_before / 2
    assert trainer.optimizer_d.param_groups[0]["lr"] == lr_before / 2
    event = trainer.drain_events()[-1]
    assert event["kind"] == "nonfinite_recovery" and event["network"] == "discriminator"
    assert event["restored_step"] == 0
    assert all(torch.isfinite(p).all() for p in trainer.discriminator.parameters())
    for _ in range(10):
        assert not trainer.step().skipped  # training goes on


def test_optimizers_without_a_fused_kernel_refuse_at_once():
    trainer = Trainer(tiny_points_config(optimizer_d="rmsprop", optimizer_g="rmsprop"))
    trainer.step()
    _poison_next_batch(trainer)
    assert trainer.step().skipped
    event = trainer.drain_events()[-1]
    assert event["kind"] == "nonfinite_recovery" and event["loss"] == "nan"
    assert all(torch.isfinite(p).all() for p in trainer.discriminator.parameters())


def test_repeated_failures_stop_the_run_with_a_reason():
    trainer = Trainer(tiny_points_config(max_nonfinite_recoveries=2, log_every=5))
    trainer.sampler.next = lambda: torch.full((32, 2), float("inf"), device=trainer.device)
    for _ in range(10):
        trainer.step()
    assert trainer.recoveries == 2
    with pytest.raises(TrainingStopped, match="non-finite loss or gradient 3 times"):
        for _ in range(5):
            trainer.step()
    assert trainer.events[-1]["kind"] == "stopped"


def test_samples_and_fixed_noise():
    trainer = Trainer(tiny_image_config())
    fixed = trainer.fixed_samples()
    assert fixed.shape == (16, 1, 8, 8) and fixed.min() >= -1 and fixed.max() <= 1
    assert (trainer.fixed_samples() == fixed).all()  # same noise, same weights, same pictures
    trainer.step()
    assert not (trainer.fixed_samples() == fixed).all()
    assert trainer.sample(5, seed=1).shape == (5, 1, 8, 8)


def test_training_does_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    trainer = Trainer(tiny_points_config())
    trainer.step()
    assert torch.equal(torch.rand(3), expected)


def test_dcgan_refuses_an_image_size_it_cannot_make(tmp_path):
    import numpy as np

    path = tmp_path / "a.npy"
    np.save(path, np.zeros((4, 20, 20), dtype=np.uint8))
    with pytest.raises(ConfigError, match="image_size: the array images are 20 px"):
        Trainer(tiny_image_config(dataset="array", data_path=str(path), image_size=0))


def test_devices_without_the_fused_gradient_check_still_refuse():
    trainer = Trainer(tiny_points_config(log_every=5))
    trainer._fused_grad_check = False  # as on an MPS build without GradScaler's kernel
    trainer.step()
    _poison_next_batch(trainer)
    results = [trainer.step() for _ in range(4)]
    assert results[-1].skipped and results[-1].record["refused_updates"] >= 1
    assert all(torch.isfinite(p).all() for p in trainer.discriminator.parameters())


# ---------------------------------------------------------------------- the run folder's schedule
def _written_steps(folder, kind: str) -> list[int]:
    suffix = {"checkpoints": "pt", "samples": "png"}[kind]
    return sorted(int(p.stem.removeprefix("step_")) for p in (folder / kind).glob(f"*.{suffix}"))


def _quick_points_config(**changes):
    # Auto intervals (the defaults), every checkpoint kept, little else written, tiny nets.
    settings = dict(checkpoint_every=0, sample_every=0, keep_checkpoints=0, log_every=50)
    settings.update(batch_size=8, g_hidden=8, d_hidden=8, g_layers=1, d_layers=1)
    return tiny_points_config(**{**settings, "eval_every": 10**6, "stats_every": 0, **changes})


def test_a_1000_step_run_writes_about_10_checkpoints_and_40_pictures(tmp_path):
    from ganviz_gui.core.training_session import TrainingSession

    session = TrainingSession.start(_quick_points_config(steps=1000), run_dir=tmp_path / "run")
    session.run(1000)
    session.close()
    assert _written_steps(tmp_path / "run", "checkpoints") == list(range(100, 1001, 100))
    assert _written_steps(tmp_path / "run", "samples") == list(range(0, 1001, 25))  # 0: before
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["checkpoint_every"], saved["sample_every"]) == (0, 0)  # the setting: auto
    started = read_jsonl(tmp_path / "run" / "events.jsonl")[0]
    assert (started["checkpoint_interval"], started["sample_interval"]) == (100, 25)


def test_explicit_intervals_are_the_schedule(tmp_path):
    from ganviz_gui.core.training_session import TrainingSession

    config = _quick_points_config(steps=60, checkpoint_every=25, sample_every=30)
    session = TrainingSession.start(config, run_dir=tmp_path / "run")
    session.run(60)
    session.close()
    assert _written_steps(tmp_path / "run", "checkpoints") == [25, 50, 60]  # 60: at stop
    assert _written_steps(tmp_path / "run", "samples") == [0, 30, 60]


def test_a_resumed_run_resolves_auto_intervals_from_its_new_length(tmp_path):
    from ganviz_gui.core.training_session import TrainingSession

    run_dir = tmp_path / "run"
    first = TrainingSession.start(_quick_points_config(steps=50), run_dir=run_dir)
    first.run(50)
    last = first.close()
    assert _written_steps(run_dir, "checkpoints") == list(range(5, 51, 5))
    resumed = TrainingSession.resume(last, overrides={"steps": 500})
    resumed.run(500)
    resumed.close()
    later = [step for step in _written_steps(run_dir, "checkpoints") if step > 50]
    assert later == list(range(100, 501, 50))
    events = read_jsonl(run_dir / "events.jsonl")
    intervals = [e["checkpoint_interval"] for e in events if e["kind"] in ("started", "resumed")]
    assert intervals == [5, 50]


# ---------------------------------------------------------------------- the recovery snapshot
def _state_copy(trainer: Trainer) -> dict:
    """The models and optimizers as fresh CPU tensors and plain values, to compare later."""
    import copy

    return copy.deepcopy(
        {
            "models": trainer._model_states(),
            "optimizer_g": trainer.optimizer_g.state_dict()["state"],
            "optimizer_d": trainer.optimizer_d.state_dict()["state"],
        }
    )


def _assert_same(found, expected, where="state"):
    if isinstance(expected, torch.Tensor):
        assert isinstance(found, torch.Tensor), where
        assert found.dtype == expected.dtype and found.shape == expected.shape, where
        assert torch.equal(found, expected), where
    elif isinstance(expected, dict):
        assert found.keys() == expected.keys(), where
        for key in expected:
            _assert_same(found[key], expected[key], f"{where}.{key}")
    else:
        assert found == expected, where


@pytest.mark.parametrize(
    "config", [tiny_points_config(), tiny_image_config()], ids=["mlp", "dcgan"]
)
def test_a_restored_snapshot_puts_back_exactly_the_state_it_took(config):
    """Taken into buffers reused in place: a restore must put back that moment's weights, EMA,
    batch-norm statistics and optimizer moments, and training on from it must leave the
    snapshot itself untouched (the live tensors never share the buffers' memory)."""
    torch.manual_seed(0)
    trainer = Trainer(config.replace(ema_decay=0.9))
    for _ in range(7):
        trainer.step()
    trainer._take_snapshot()
    taken = _state_copy(trainer)
    lr_g = trainer.config.lr_g
    for _ in range(2):  # restored twice: the second proves the first left the buffers alone
        for _ in range(6):
            trainer.step()
        with pytest.raises(AssertionError):
            _assert_same(_state_copy(trainer), taken)  # training did change it
        trainer._restore_snapshot()
        _assert_same(_state_copy(trainer), taken)
        assert trainer.optimizer_g.param_groups[0]["lr"] == lr_g
    for _ in range(7):  # a second take reuses the buffers: the newer state is what comes back
        trainer.step()
    trainer._take_snapshot()
    newer = _state_copy(trainer)
    trainer.step()
    trainer._restore_snapshot()
    _assert_same(_state_copy(trainer), newer)


def test_a_snapshot_never_keeps_a_non_finite_state_and_one_of_the_start_restores_it():
    trainer = Trainer(tiny_points_config())
    start = _state_copy(trainer)  # taken at construction: optimizers without state yet
    for _ in range(5):
        trainer.step()
    with torch.no_grad():
        trainer.generator.net[0].weight[0, 0] = float("nan")
    trainer._take_snapshot()  # refused: the start stays the good state
    assert trainer._snapshot_step == 0
    trainer._restore_snapshot()
    _assert_same(_state_copy(trainer), start)
    assert trainer.optimizer_g.state_dict()["state"] == {}  # Adam starts afresh, as it did
    trainer.step()  # and trains on from there
    assert all(torch.isfinite(p).all() for p in trainer.generator.parameters())
