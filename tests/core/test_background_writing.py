"""A session's files are written on its writer thread: what it writes is what a synchronous
write gives, of the moment it was asked for, and what fails there is raised on the training
thread (at its next step or at close), once, naming the last good checkpoint."""

from __future__ import annotations

import errno
import threading

import pytest
import torch

from ganviz_gui.core import sample_images
from ganviz_gui.core.checkpoint import read_torch_file, save_checkpoint
from ganviz_gui.core.errors import DiskFullError
from ganviz_gui.core.host_copies import HostCopy
from ganviz_gui.core.run_folder import list_checkpoints, read_jsonl
from ganviz_gui.core.run_pictures import RunPictures, spare_core_for_decoding
from ganviz_gui.core.training_session import TrainingSession
from tests.core.helpers import tiny_image_config, tiny_points_config

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def assert_same_tree(found, expected, where="checkpoint"):
    if isinstance(expected, torch.Tensor):
        assert isinstance(found, torch.Tensor), where
        assert (found.dtype, found.shape, found.device) == (
            expected.dtype,
            expected.shape,
            expected.device,
        ), where
        assert torch.equal(found, expected), where
    elif isinstance(expected, dict):
        assert list(found) == list(expected), where
        for key in expected:
            assert_same_tree(found[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert type(found) is type(expected) and len(found) == len(expected), where
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            assert_same_tree(a, b, f"{where}[{i}]")
    else:
        assert found == expected, where


class HeldWriter:
    """Holds a session's writer thread at a gate until released (what a slow disk does)."""

    def __init__(self, session: TrainingSession):
        self.gate = threading.Event()
        session.writer.submit(self.gate.wait)

    def release(self) -> None:
        self.gate.set()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("make_config", [tiny_points_config, tiny_image_config])
def test_a_checkpoint_from_the_writer_thread_is_the_synchronous_one_of_its_moment(
    tmp_path, device, make_config
):
    """Asked for at step 7 while the writer is held, written after 5 more steps changed every
    weight in place: the file holds step 7's state, byte for byte what a synchronous
    save_checkpoint of that moment writes."""
    config = make_config(steps=40, checkpoint_every=1000, sample_every=1000, ema_decay=0.9)
    session = TrainingSession.start(
        config.replace(device=device), run_dir=tmp_path / "run", device=torch.device(device)
    )
    for _ in range(7):
        session.step()
    reference = save_checkpoint(session.trainer.checkpoint_state(), tmp_path / "reference.pt")
    held = HeldWriter(session)
    queued = session.save_checkpoint(wait=False)
    for _ in range(5):
        session.step()
    assert not queued.exists()  # still waiting behind the gate
    held.release()
    session.writer.wait()
    assert queued.read_bytes() == reference.read_bytes()
    assert_same_tree(read_torch_file(queued), read_torch_file(reference))
    assert session.last_checkpoint == queued
    session.close()
    assert [step for step, _ in list_checkpoints(tmp_path / "run")] == [7, 12]


@pytest.mark.parametrize("off_thread", [True, False])
@pytest.mark.parametrize("make_config", [tiny_points_config, tiny_image_config])
def test_a_picture_is_the_one_of_its_moment_wherever_g_decodes_it(
    tmp_path, off_thread, make_config
):
    """Asked for at step 7 while the writer is held, drawn after 5 more steps: the PNG is G's
    (here EMA's) samples at step 7, byte for byte what a decode on the training thread gives,
    whether the writer thread decoded it from its copy of the weights or not."""
    config = make_config(steps=40, checkpoint_every=1000, sample_every=1000, ema_decay=0.9)
    session = TrainingSession.start(config, run_dir=tmp_path / "run")
    session.pictures = RunPictures(session.trainer, off_thread=off_thread)
    for _ in range(7):
        session.step()
    expected = RunPictures(session.trainer, off_thread=False).capture()()
    held = HeldWriter(session)
    queued = session.write_samples()
    for _ in range(5):
        session.step()
    assert not queued.exists()  # still waiting behind the gate
    held.release()
    session.writer.wait()
    assert queued.read_bytes() == expected
    later = RunPictures(session.trainer, off_thread=False).capture()()
    assert later != expected  # the 5 steps changed G: the picture is not of the end
    session.close()


def test_g_decodes_on_the_writer_thread_only_on_a_cpu_run_with_a_core_to_spare(monkeypatch):
    monkeypatch.setattr("ganviz_gui.core.run_pictures.os.cpu_count", lambda: 2)
    torch.set_num_threads(1)
    assert spare_core_for_decoding(torch.device("cpu"))
    assert not spare_core_for_decoding(torch.device("cuda"))
    torch.set_num_threads(2)  # every core trains: a second decode would take one from it
    assert not spare_core_for_decoding(torch.device("cpu"))


def test_a_batched_host_copy_gives_tensors_of_their_own():
    tree = {
        "a": torch.arange(6.0).reshape(2, 3),
        "b": [torch.tensor(3, dtype=torch.int64), torch.ones(4)],
        "n": None,
        "step": 5,
        "empty": torch.zeros(0),
    }
    copied = HostCopy.batched(tree)
    tree["a"].add_(1)  # the caller goes on changing its tensors
    got = copied.get()
    assert_same_tree(
        got,
        {
            "a": torch.arange(6.0).reshape(2, 3),
            "b": [torch.tensor(3, dtype=torch.int64), torch.ones(4)],
            "n": None,
            "step": 5,
            "empty": torch.zeros(0),
        },
    )
    storages = {t.untyped_storage().data_ptr() for t in (got["a"], *got["b"])}
    assert len(storages) == 3  # not views of one flat tensor: torch.save writes each alone


@pytest.mark.parametrize(
    "spoiled",
    [
        lambda tree: tree["a"].__setitem__((1, 2), float("nan")),
        lambda tree: tree["b"][1].__setitem__(0, float("inf")),
        lambda tree: tree.__setitem__("elapsed", float("nan")),  # a float beside the tensors
        lambda tree: tree.__setitem__("half", torch.tensor([1.0, float("nan")]).half()),
    ],
)
def test_a_batched_host_copy_finds_any_value_that_is_not_finite(spoiled):
    def tree():
        return {"a": torch.zeros(2, 3), "b": [torch.tensor(3), torch.ones(4)], "elapsed": 1.5}

    assert HostCopy.batched(tree()).all_finite()
    bad = tree()
    spoiled(bad)
    copied = HostCopy.batched(bad)
    assert not copied.all_finite()
    assert not HostCopy.of(bad).all_finite()  # an unbatched copy is checked whole


def torch_save_full_at(step, monkeypatch):
    real_save = torch.save

    def save(payload, handle, *args, **kwargs):
        if isinstance(payload, dict) and payload.get("step") == step:
            handle.write(b"PK\x03\x04 half a checkpoint")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1 vs 2")
        return real_save(payload, handle, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)


def test_a_full_disk_on_the_writer_thread_is_raised_at_the_next_step_naming_the_last_good(
    tmp_path, monkeypatch
):
    torch_save_full_at(20, monkeypatch)
    session = TrainingSession.start(
        tiny_points_config(steps=60, checkpoint_every=10), run_dir=tmp_path / "run"
    )
    for _ in range(20):
        session.step()  # the failing checkpoint of step 20 is only queued here
    session.writer.wait()  # ... and has failed now
    with pytest.raises(DiskFullError) as raised:
        session.step()
    message = str(raised.value)
    assert "step_00000020.pt" in message and message.endswith("step_00000010.pt")
    assert session.step_count == 20  # raised before training on
    assert session.disk_full and session.last_checkpoint.name == "step_00000010.pt"
    assert session.close("error: disk full") == session.last_checkpoint  # said once, not again
    assert [step for step, _ in list_checkpoints(tmp_path / "run")] == [10]
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))


def test_a_failure_after_the_last_step_is_raised_by_close_and_closes_as_an_error(
    tmp_path, monkeypatch
):
    torch_save_full_at(20, monkeypatch)
    session = TrainingSession.start(
        tiny_points_config(steps=20, checkpoint_every=10), run_dir=tmp_path / "run"
    )
    session.run(20)  # ends with the checkpoint of step 20 queued
    with pytest.raises(DiskFullError) as raised:
        session.close()
    assert str(raised.value).endswith("the last good checkpoint is " + str(session.last_checkpoint))
    closed = read_jsonl(tmp_path / "run" / "events.jsonl")[-1]
    assert closed["kind"] == "closed" and closed["reason"].startswith("error: disk full")
    assert session.close() == session.last_checkpoint  # closed: nothing raised again


def test_any_failure_of_the_writer_reaches_the_training_thread(tmp_path, monkeypatch):
    """Not only a full disk: a picture that cannot be written fails the run as it did when
    pictures were written in the step."""
    session = TrainingSession.start(
        tiny_image_config(steps=40, sample_every=10), run_dir=tmp_path / "run"
    )

    session.writer.wait()  # the picture of step 0 is on disk

    def refuse(data, path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(sample_images, "save_png_bytes", refuse)
    monkeypatch.setattr("ganviz_gui.core.training_session.save_png_bytes", refuse)
    with pytest.raises(PermissionError):
        session.run(40)
    assert session.step_count >= 10 and not session.disk_full  # the picture of step 10
    session.close("error: permission denied")
    events = read_jsonl(tmp_path / "run" / "events.jsonl")
    assert events[-1]["kind"] == "closed"


def test_a_non_finite_scheduled_checkpoint_is_skipped_on_the_writer_thread(tmp_path):
    session = TrainingSession.start(
        tiny_points_config(steps=40, checkpoint_every=1000), run_dir=tmp_path / "run"
    )
    session.run(10)
    with torch.no_grad():  # (a step would refuse the update and restore the snapshot)
        next(session.trainer.generator.parameters()).view(-1)[0] = float("inf")
    session._save_scheduled_checkpoint()  # what the schedule calls: refused where written
    session.writer.wait()
    kinds = [e["kind"] for e in session.take_new_events()]
    assert kinds[-1] == "checkpoint_skipped"
    assert list_checkpoints(tmp_path / "run") == [] and session.last_checkpoint is None
    events = read_jsonl(tmp_path / "run" / "events.jsonl")
    skipped = [e for e in events if e["kind"] == "checkpoint_skipped"]
    assert skipped[0]["step"] == 10 and "NaN or infinite" in skipped[0]["reason"]
    session.writer.close()


def test_an_asked_checkpoint_is_on_disk_when_asked_and_its_own_full_disk_is_raised(
    tmp_path, monkeypatch
):
    """The window's "save now" waits for its checkpoint: done when it returns, or failed
    there, naming the last good one."""
    session = TrainingSession.start(
        tiny_points_config(steps=40, checkpoint_every=1000), run_dir=tmp_path / "run"
    )
    session.run(5)
    held = HeldWriter(session)  # the writer is behind: the call waits for it
    threading.Timer(0.2, held.release).start()
    saved = session.save_checkpoint()
    assert read_torch_file(saved)["step"] == 5 and session.last_checkpoint == saved
    session.run(8)
    torch_save_full_at(8, monkeypatch)
    with pytest.raises(DiskFullError) as raised:
        session.save_checkpoint()
    assert str(raised.value).endswith("the last good checkpoint is " + str(saved))
    assert session.disk_full and session.last_checkpoint == saved
    assert session.close("error: disk full") == saved
