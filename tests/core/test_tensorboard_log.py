"""TensorBoard logs as runs: written here by the writers people use, then read and followed."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import sys

import pytest
import torch
from PIL import Image

from ganviz_gui.core.errors import DataError, MissingPackageError
from ganviz_gui.core.tag_mapping import TagMapping
from ganviz_gui.core.tensorboard_log import (
    TensorBoardSource,
    crc32c,
    event_files,
    find_runs,
    is_tensorboard_log,
    masked_crc32c,
)

SummaryWriter = pytest.importorskip("torch.utils.tensorboard").SummaryWriter

STEPS = range(0, 120, 10)  # 12 steps: more pictures than the 10 TensorBoard keeps
PICTURE = (3, 16, 24)  # channels, height, width of each logged sample picture


def log_step(writer, step: int) -> None:
    writer.add_scalar("Loss/D", 1.0 + step, step)
    writer.add_scalar("Loss/G", 2.0 + step, step)
    writer.add_scalar("D(x)", 0.75, step)
    writer.add_scalar("D(G(z))", 0.25, step)
    writer.add_scalar("Loss/other", -float(step), step)
    writer.add_image("samples", torch.rand(PICTURE), step)


@pytest.fixture
def log(tmp_path):
    """A SummaryWriter's log of 12 steps (left open, to write more), and its folder."""
    folder = tmp_path / "runs" / "dcgan"
    writer = SummaryWriter(str(folder))
    writer.add_image("real", torch.rand(PICTURE), 0)
    for step in STEPS:
        log_step(writer, step)
    writer.flush()
    yield writer, folder
    writer.close()


def record_frames(data: bytes) -> list[int]:
    """The offsets at which the TFRecords of an event file start."""
    starts, offset = [], 0
    while offset < len(data):
        starts.append(offset)
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        offset += 12 + length + 4
    return starts


# ---------------------------------------------------------------------- reading
def test_first_poll_maps_tags_and_keeps_every_picture(log):
    _, folder = log
    source = TensorBoardSource(folder)
    delta = source.poll()
    assert [record["step"] for record in delta.records] == list(STEPS)
    record = delta.records[3]
    assert record["loss_d"] == 31.0 and record["loss_g"] == 32.0
    assert record["d_real"] == 0.75 and record["d_fake"] == 0.25
    assert record["Loss/other"] == -30.0  # unmapped: kept under its tag, still plotted
    assert isinstance(record["time"], float) and record["time"] > 1e9  # the event's wall time
    assert source.picture_tag == "samples"  # preferred to "real"
    assert source.image_counts() == {"real": 1, "samples": len(STEPS)}
    assert [step for step, _ in delta.pictures] == list(STEPS)
    picture = Image.open(io.BytesIO(delta.pictures[-1][1]))
    assert picture.format == "PNG" and picture.size == (PICTURE[2], PICTURE[1])
    assert not source.poll()  # nothing new


def test_describe(log):
    _, folder = log
    info = TensorBoardSource(folder).describe()
    assert info.source == "tensorboard" and info.name == "dcgan" and info.run_dir == folder
    assert info.config is None and info.is_image
    assert info.sample_shape == PICTURE


def test_describe_before_poll_loses_nothing(log):
    _, folder = log
    source = TensorBoardSource(folder)
    source.describe()  # reads the log to learn the pictures' size
    delta = source.poll()
    assert len(delta.records) == len(STEPS) and len(delta.pictures) == len(STEPS)


def test_tensor_scalars_and_old_style_scalars_are_both_read(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step in range(3):
        writer.add_scalar("g_loss", 0.5 * step, step, new_style=True)  # a tensor summary
        writer.add_scalar("d_loss", 0.25 * step, step)  # a simple_value summary
    writer.close()
    records = TensorBoardSource(tmp_path).poll().records
    assert [(r["loss_g"], r["loss_d"]) for r in records] == [(0.0, 0.0), (0.5, 0.25), (1.0, 0.5)]


def test_add_scalars_subfolders_belong_to_the_run(tmp_path):
    writer = SummaryWriter(str(tmp_path))
    for step in range(3):
        writer.add_scalars("Loss", {"D": 1.0, "G": 2.0}, step)  # writes Loss_D/, Loss_G/
    writer.close()
    source = TensorBoardSource(tmp_path)
    assert source.run_dir == tmp_path
    records = source.poll().records
    assert [(r["step"], r["loss_d"], r["loss_g"]) for r in records] == [
        (0, 1.0, 2.0),
        (1, 1.0, 2.0),
        (2, 1.0, 2.0),
    ]
    assert source.scalar_tags() == ["Loss/D", "Loss/G"]


# ---------------------------------------------------------------------- following
def test_following_returns_only_what_was_written_since(log):
    writer, folder = log
    source = TensorBoardSource(folder)
    source.poll()
    for step in (120, 130):
        log_step(writer, step)
    writer.flush()
    delta = source.poll()
    assert [record["step"] for record in delta.records] == [120, 130]
    assert delta.records[0]["loss_d"] == 121.0 and not delta.restarted
    assert [step for step, _ in delta.pictures] == [*STEPS, 120, 130]  # the whole list
    writer.add_scalar("Loss/D", 5.0, 140)  # scalars only: the pictures did not change
    writer.flush()
    delta = source.poll()
    assert delta.records == [{"step": 140, "time": delta.records[0]["time"], "loss_d": 5.0}]
    assert delta.pictures is None


@pytest.mark.parametrize("into_record", [5, 20], ids=["mid-header", "mid-event"])
def test_a_record_cut_off_mid_append_is_read_at_the_next_poll(log, tmp_path, into_record):
    writer, folder = log
    writer.close()
    (original,) = event_files(folder)
    data = original.read_bytes()
    cut = record_frames(data)[-4] + into_record  # inside the fourth record from the end
    copy = tmp_path / "copy" / original.name
    copy.parent.mkdir()
    copy.write_bytes(data[:cut])
    source = TensorBoardSource(copy.parent)
    first = source.poll()
    assert source.image_counts()["samples"] == len(STEPS) - 1  # the last one is past the cut
    with open(copy, "ab") as handle:
        handle.write(data[cut:])
    second = source.poll()
    whole = TensorBoardSource(folder).poll()
    assert second.records  # the cut record and the three after it
    read = {record["step"]: dict(record) for record in first.records}
    for record in second.records:  # a step may come in two parts, one per poll
        read.setdefault(record["step"], {"time": record["time"]}).update(
            {key: value for key, value in record.items() if key != "time"}
        )
    assert read == {record["step"]: record for record in whole.records}
    assert source.image_counts() == {"real": 1, "samples": len(STEPS)}


def test_new_event_files_are_read_in_order(log):
    writer, folder = log
    source = TensorBoardSource(folder)
    source.poll()
    writer.close()
    resumed = SummaryWriter(str(folder))  # a restarted writer: a second file in the folder
    resumed.add_scalar("Loss/D", -1.0, 110)  # it logs the last step again
    resumed.add_scalar("Loss/D", -2.0, 200)
    resumed.close()
    assert len(event_files(folder)) == 2
    delta = source.poll()
    assert [(r["step"], r["loss_d"]) for r in delta.records] == [(110, -1.0), (200, -2.0)]
    again = TensorBoardSource(folder).poll().records  # read from the start: the newer file wins
    assert [(r["step"], r["loss_d"]) for r in again[-2:]] == [(110, -1.0), (200, -2.0)]


# ---------------------------------------------------------------------- mapping
def test_a_new_mapping_remaps_what_was_read_without_reading_again(log):
    _, folder = log
    source = TensorBoardSource(folder)
    source.poll()
    shutil.rmtree(folder)  # nothing left to read again
    source.set_mapping(TagMapping(overrides={"Loss/other": "grad_norm_d", "D(x)": None}))
    delta = source.poll()
    assert delta.restarted and len(delta.records) == len(STEPS)
    record = delta.records[3]
    assert record["grad_norm_d"] == -30.0 and "Loss/other" not in record
    assert record["D(x)"] == 0.75 and "d_real" not in record
    assert record["loss_d"] == 31.0
    assert len(delta.pictures) == len(STEPS)
    rows = {row.tag: row for row in source.tag_rows()}
    assert rows["Loss/other"].quantity == "grad_norm_d" and not rows["Loss/other"].was_guessed
    assert rows["Loss/D"].quantity == "loss_d" and rows["Loss/D"].was_guessed
    assert not source.poll()


def test_the_mapping_chooses_the_picture_tag(log):
    _, folder = log
    source = TensorBoardSource(folder, TagMapping(picture_tag="real"))
    assert len(source.poll().pictures) == 1
    assert source.picture_tag == "real"
    source.set_mapping(TagMapping())
    assert len(source.poll().pictures) == len(STEPS)


# ---------------------------------------------------------------------- finding logs
def test_is_tensorboard_log(log, tmp_path):
    _, folder = log
    (event_file,) = event_files(folder)
    assert is_tensorboard_log(folder) and is_tensorboard_log(event_file)
    assert is_tensorboard_log(tmp_path)  # runs/dcgan/ two levels down

    lightning_run = tmp_path / "project" / "lightning_logs" / "version_0"
    lightning_run.mkdir(parents=True)
    shutil.copy(event_file, lightning_run / event_file.name)
    (lightning_run / "hparams.yaml").write_text("{}\n")
    for path in (lightning_run.parent.parent, lightning_run.parent, lightning_run):
        assert is_tensorboard_log(path)
        assert find_runs(path) == [lightning_run]

    junk = tmp_path / "junk" / "events.out.tfevents.x"
    junk.parent.mkdir()
    junk.write_bytes(os.urandom(200))
    (junk.parent / "events.out.tfevents.empty").write_bytes(b"")
    assert not is_tensorboard_log(junk) and not is_tensorboard_log(junk.parent)

    run_folder = tmp_path / "ganviz-run"
    (run_folder / "samples").mkdir(parents=True)
    (run_folder / "config.json").write_text("{}")
    (run_folder / "metrics.jsonl").write_text(json.dumps({"step": 0, "loss_d": 1.0}) + "\n")
    assert not is_tensorboard_log(run_folder)
    assert not is_tensorboard_log(tmp_path / "missing")
    with pytest.raises(DataError, match="not a TensorBoard log"):
        TensorBoardSource(run_folder)


def test_a_folder_of_several_runs_opens_the_newest(tmp_path):
    logs = tmp_path / "lightning_logs"
    for version, loss in ((0, 1.0), (1, 2.0)):
        writer = SummaryWriter(str(logs / f"version_{version}"))
        writer.add_scalar("d_loss", loss, 0)
        writer.close()
    (old,) = event_files(logs / "version_0")
    os.utime(old, (1_000_000, 1_000_000))  # version_1 was written to last
    source = TensorBoardSource(logs)
    assert source.runs == [logs / "version_0", logs / "version_1"]
    assert source.run_dir == logs / "version_1"
    assert source.describe().name == "version_1 (newest of 2 runs in lightning_logs)"
    assert source.poll().records[0]["loss_d"] == 2.0


def test_the_record_checksum_is_tensorflows():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as theirs

    for data in (b"", b"\x00" * 8, b"an event"):
        assert masked_crc32c(data) == theirs(data)


def test_without_tensorboard_the_message_says_how_to_install_it(log, monkeypatch):
    _, folder = log
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing.event_file_loader", None)
    with pytest.raises(MissingPackageError) as raised:
        TensorBoardSource(folder)
    message = str(raised.value)
    assert str(folder) in message and 'pip install "ganviz[tensorboard]"' in message
    assert is_tensorboard_log(folder)  # telling a log apart needs no tensorboard


# ---------------------------------------------------------------------- other writers
def test_a_lightning_tensorboard_logger_log(tmp_path):
    loggers = pytest.importorskip("lightning.pytorch.loggers")
    logger = loggers.TensorBoardLogger(save_dir=str(tmp_path), name="lightning_logs")
    for step in range(5):
        logger.log_metrics(
            {"d_loss": 1.0 / (step + 1), "g_loss": 2.0, "lr-Adam": 2e-4, "epoch": 0}, step=step
        )
    logger.finalize("success")
    source = TensorBoardSource(tmp_path)  # the project folder: lightning_logs/version_0 in it
    assert source.run_dir == tmp_path / "lightning_logs" / "version_0"
    records = source.poll().records
    assert [r["step"] for r in records] == list(range(5))
    assert records[1]["loss_d"] == 0.5 and records[1]["loss_g"] == 2.0
    assert records[1]["lr_g"] == pytest.approx(2e-4) and records[1]["epoch"] == 0.0
    assert source.describe().sample_shape == ()  # no pictures logged


# ---------------------------------------------------------------------- ganviz info
def test_cli_info_describes_a_log(log, capsys):
    from ganviz_gui.cli import main

    _, folder = log
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Loss/D -> loss_d" in out and "Loss/other (kept)" in out
    assert "samples: 12 pictures (the sample history)" in out
    assert main(["info", str(folder), "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["steps"] == len(STEPS) and described["last_step"] == STEPS[-1]
    assert described["scalar_tags"]["D(G(z))"] == "d_fake"
    assert described["image_tags"] == {"real": 1, "samples": len(STEPS)}
