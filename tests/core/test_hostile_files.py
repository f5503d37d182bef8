"""Hostile and broken files through the readers, `open_path` and the CLI's inspection commands.

Nothing waits forever (a FIFO, /dev/zero), nothing costs more than the file is worth (zip and
gzip bombs, a header that promises terabytes, a 25-million-element record), a record of the
wrong type never breaks an open, and every failure is one line that names the file.

`HOSTILE_CASES` is the table: each case makes one hostile thing in a test's folder and says
what the message (or, where the thing still opens, the note the window shows) must say. Each
runs through the CLI (`ganviz info`, `sample`, `evaluate`, `diagnose`) and through
`inspection.open_path` followed by what the window's open does in the background
(`open_as_the_window_does`). A case that a broken reader would hang on, or exhaust memory
with, runs in a subprocess under a timeout and an address-space limit, so a regression fails
instead of blocking the suite. The GUI tests reuse the table.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ganviz_gui.core.errors import DataError, GanvizError
from ganviz_gui.core.record_columns import MAX_LIST, MAX_STEP, MAX_TEXT, NUMBER_KEYS
from tests.core.helpers import tiny_points_config

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/zero: POSIX")

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
ADDRESS_SPACE = 2 << 30  # a subprocess that tries to hold a bomb in memory fails at 2 GiB
BOMB_BYTES = 2 << 30  # what the zip bombs inflate to
NEWEST = Path("checkpoints/step_00000040.pt")  # of the tiny run; step 20 is the older one
MARKER = "PWNED"  # a file that code run from a hostile file would create


# ---------------------------------------------------------------------- the tiny run
TEMPLATE = "hostile-files-run"


def tiny_run(tmp_path: Path) -> Path:
    """A copy in `tmp_path` of a tiny finished run (ring8, 40 steps: checkpoints at 20 and 40,
    sample pictures, metrics, events and layer statistics), trained once per session."""
    template = tmp_path.parent / TEMPLATE
    if not template.exists():
        from ganviz_gui.core.training_session import TrainingSession

        building = tmp_path.parent / f"{TEMPLATE}.building-{os.getpid()}"
        config = tiny_points_config(
            steps=40, checkpoint_every=20, sample_every=20, stats_every=20, eval_every=20
        )
        session = TrainingSession.start(config, run_dir=building)
        try:
            session.run(config.steps)
        finally:
            session.close()
        try:
            building.rename(template)
        except OSError:  # another process built it meanwhile
            shutil.rmtree(building, ignore_errors=True)
    run = tmp_path / "run"
    shutil.copytree(template, run, symlinks=True)
    return run


# ---------------------------------------------------------------------- makers
def _fifo(path: Path) -> Path:
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


def _device_link(path: Path, device: str = "/dev/zero") -> Path:
    path.unlink(missing_ok=True)
    path.symlink_to(device)
    return path


def _append_lines(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


def _run_with(edit: Callable[[Path], Any]) -> Callable[[Path], Path]:
    """A maker: the tiny run, edited by `edit(run)`."""

    def make(tmp_path: Path) -> Path:
        run = tiny_run(tmp_path)
        edit(run)
        return run

    return make


def _lone(edit: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """A maker: a file outside any run, made by `edit(tmp_path / "x.pt")`."""
    return lambda tmp_path: edit(tmp_path / "x.pt")


def _lone_checkpoint(edit: Callable[[Path], Any]) -> Callable[[Path], Path]:
    """A maker: a copy of the tiny run's newest checkpoint outside the run, edited."""

    def make(tmp_path: Path) -> Path:
        path = tmp_path / "x.pt"
        shutil.copyfile(tiny_run(tmp_path) / NEWEST, path)
        edit(path)
        return path

    return make


class _RunsCode:
    """Unpickled by plain pickle, it would run a shell command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _code_checkpoint(path: Path) -> Path:
    """A torch zip (data.pkl, version, byteorder) whose pickle asks for os.system, named as a
    GANViz checkpoint so that the checkpoint reader is the one that reads it."""
    data = pickle.dumps(
        {"format": "ganviz-checkpoint", "x": _RunsCode(path.parent.parent / MARKER)}, protocol=2
    )
    path.unlink(missing_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{path.stem}/data.pkl", data)
        archive.writestr(f"{path.stem}/version", "3\n")
        archive.writestr(f"{path.stem}/byteorder", "little")
    return path


def _stride0_noise(path: Path) -> Path:
    """The checkpoint with fixed noise of 5 x 10^11 rows over one stored float (stride 0)."""
    state = torch.load(path, weights_only=True)
    latent = state["fixed_noise"].shape[1]
    state["fixed_noise"] = torch.zeros(1, 1).expand(500_000_000_000, latent)
    torch.save(state, path)
    return path


def _deflated_zeros(total: int, head: bytes = b"") -> bytes:
    """A raw deflate stream of `head` then `total` zero bytes (a multiple of 1 MiB), made in
    milliseconds: after a full flush the compressor starts afresh, so each block's output is
    the same bytes, repeated."""
    block = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)] if head else []
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    parts += [piece * (total // len(block)), compressor.flush()]
    return b"".join(parts)


def _crc_of_zeros(total: int, head: bytes = b"") -> int:
    crc, block = zlib.crc32(head), bytes(1 << 20)
    for _ in range(total // len(block)):
        crc = zlib.crc32(block, crc)
    return crc


@dataclass
class _Member:
    name: str
    stored: bytes  # the bytes as they lie in the archive
    method: int = zipfile.ZIP_STORED
    crc: int | None = None  # of the inflated bytes (None: of `stored`)
    size: int | None = None  # declared inflated size (None: len(stored))


def _write_zip(path: Path, members: list[_Member]) -> Path:
    """A zip written by hand, so that a member can be precompressed or declare any size."""
    out, directory = io.BytesIO(), io.BytesIO()
    for member in members:
        name = member.name.encode()
        crc = zlib.crc32(member.stored) if member.crc is None else member.crc
        size = len(member.stored) if member.size is None else member.size
        compressed = len(member.stored) if member.method else size
        offset = out.tell()
        # version 2.0, no flags, the method, a time of 0 and a date of 1980-01-01
        common = (member.method, 0, 0x21, crc, compressed, size, len(name), 0)
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, *common) + name + member.stored)
        entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, *common, 0, 0, 0, 0, offset)
        directory.write(entry + name)
    start, listing = out.tell(), directory.getvalue()
    count = len(members)
    out.write(listing)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(listing), start, 0))
    path.write_bytes(out.getvalue())
    return path


def _members_of(path: Path) -> list[_Member]:
    with zipfile.ZipFile(path) as archive:
        return [_Member(info.filename, archive.read(info)) for info in archive.infolist()]


class _Storage:
    pass


def _bomb_in_storage(path: Path) -> Path:
    """A torch zip of one uint8 tensor whose storage record is 2 GiB of zeros, deflated to
    about 2 MB (torch.save never compresses: only a bomb would)."""

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", torch.ByteStorage, "0", "cpu", BOMB_BYTES)
            return None

    class Tensor:
        def __reduce__(self):
            rebuild = torch._utils._rebuild_tensor_v2
            return (rebuild, (_Storage(), 0, (BOMB_BYTES,), (1,), False, OrderedDict()))

    data = io.BytesIO()
    Pickler(data, protocol=2).dump({"format": "ganviz-checkpoint", "w": Tensor()})
    stem = path.stem
    return _write_zip(
        path,
        [
            _Member(f"{stem}/data.pkl", data.getvalue()),
            _Member(f"{stem}/version", b"3\n"),
            _Member(f"{stem}/byteorder", b"little"),
            _Member(
                f"{stem}/data/0",
                _deflated_zeros(BOMB_BYTES),
                zipfile.ZIP_DEFLATED,
                _crc_of_zeros(BOMB_BYTES),
                BOMB_BYTES,
            ),
        ],
    )


def _extra_bomb_member(path: Path) -> Path:
    """The checkpoint, whole, and one more member: 2 GiB of zeros, deflated."""
    bomb = _Member(
        f"{path.stem}/extra",
        _deflated_zeros(BOMB_BYTES),
        zipfile.ZIP_DEFLATED,
        _crc_of_zeros(BOMB_BYTES),
        BOMB_BYTES,
    )
    return _write_zip(path, [*_members_of(path), bomb])


def _member_larger_than_the_file(path: Path) -> Path:
    """The checkpoint, its first storage record declaring 2 GiB (stored, not compressed)."""
    members = _members_of(path)
    storage = next(m for m in members if "/data/" in m.name)
    storage.size = BOMB_BYTES
    return _write_zip(path, members)


def _tensorboard_log(tmp_path: Path) -> Path:
    writer_class = pytest.importorskip("torch.utils.tensorboard").SummaryWriter
    log = tmp_path / "log"
    writer = writer_class(str(log))
    for step in range(5):
        writer.add_scalar("Loss/D", 1.0 / (step + 1), step)
    writer.close()
    return log


def _log_with_fifo(tmp_path: Path) -> Path:
    log = _tensorboard_log(tmp_path)
    _fifo(log / "events.out.tfevents.1.host.2.fifo")
    return log


def _log_with_huge_record(tmp_path: Path) -> Path:
    """A log whose event file goes on with a record header declaring 2^40 bytes (its header
    checksum right): a reader that allocates what a record declares asks for a terabyte."""
    from ganviz_gui.core.tensorboard_log import masked_crc32c

    log = _tensorboard_log(tmp_path)
    events = next(log.glob("events.out.tfevents.*"))
    length = struct.pack("<Q", 1 << 40)
    with open(events, "ab") as handle:
        handle.write(length + struct.pack("<I", masked_crc32c(length)) + b"\0" * 64)
    return log


WRONG_METRICS = [
    '{"step": 41, "loss_d": "x"}',
    '{"step": 42, "loss_d": [1, 2]}',
    '{"step": 43, "loss_d": null}',
    '{"step": 44, "loss_d": {"a": 1}}',
    '{"loss_d": 1.0}',
    '{"step": "x", "loss_d": 1.0}',
    '{"step": -5, "loss_d": 1.0}',
    '{"step": 1e300}',
    '{"step": 100000000000000000000000000000}',
    '{"step": 2.5}',
    '{"step": null}',
    '{"step": [1]}',
    '{"step": {"a": 1}}',
    '{"step": 45, "modes_covered": "many"}',
    '{"step": 46, "note": "' + "x" * (MAX_TEXT + 1) + '"}',
    '{"step": 47, "big": ' + "9" * 400 + "}",
    '{"step": 48, "class_counts": [1, "x"]}',
    "[1, 2]",
    "not json",
]
WRONG_EVENTS = [
    "[1, 2]",
    '{"kind": "resumed"}',
    '{"step": -1, "kind": "resumed"}',
    '{"step": 1e300, "kind": "stopped"}',
    '{"step": "x", "kind": "nonfinite_recovery", "network": "generator"}',
    '{"step": 50, "kind": 5}',
    '{"step": 51, "kind": "nonfinite_recovery", "restored_step": "x", "network": ["g"]}',
    '{"step": 52, "kind": "settings_changed", "lr_g": "fast", "loss": 3}',
    '{"step": 53, "kind": "started", "data": {"sample_shape": "x"}}',
    '{"step": 54, "kind": "closed", "reason": null}',
    '{"step": 55, "kind": "note", "deep": ' + "[" * 50 + "]" * 50 + "}",
]
WRONG_STATS = [
    '{"step": "x", "generator": []}',
    '{"step": 10, "generator": "x"}',
    '{"step": 20, "generator": [{"weight_norm": "x"}]}',
    '{"step": 30, "generator": [{"layer": "net.0", "weight_hist": "x", "weight_norm": [1], '
    '"grad_range": 1e308}]}',
    '{"step": 40, "verdicts": {"real": "x"}}',
    '{"step": 50, "discriminator": [null, 5, {"layer": 7}]}',
    '{"step": 60, "verdicts": {"low": 0, "high": 1, "real": [1], "fake": [1, 2], "overlap": 0.5}}',
]


def _huge_list_record(run: Path) -> None:
    """A metrics line of 50 MB: one record holding a 25-million-element list."""
    with open(run / "metrics.jsonl", "ab") as handle:
        handle.write(b'{"step": 49, "class_counts": [')
        for _ in range(25):
            handle.write(b"0," * 1_000_000)
        handle.write(b"0]}\n")


def _many_keys_record(run: Path) -> None:
    """One record with 200,000 keys: read as a column per key, 1.6 GB."""
    keys = ", ".join(f'"k{i}": 1' for i in range(200_000))
    _append_lines(run / "metrics.jsonl", ['{"step": 49, ' + keys + "}"])


# ---------------------------------------------------------------------- the table
RUN_INFO = ("info", "{path}")
DIAGNOSE = ("diagnose", "{path}")
LONE_FILE = (("info", "{path}"), ("sample", "{path}", "--out", "{out}"), ("evaluate", "{path}"))


@dataclass(frozen=True)
class HostileCase:
    """One hostile thing, and what must be said of it.

    `make(tmp_path)` makes it and returns the path to open. `opens` False: opening it is
    refused by a GanvizError (the window's dialog) whose one-line message holds `phrase` and
    names `names`. `opens` True: it opens (at checkpoint step `step`, None for none), and
    one of the notes the window shows (`OpenedPath.notes()`, the run source's `notes()`)
    holds `phrase`. Each of `commands` (argv, "{path}" and "{out}" filled in) exits
    `exit_code`: 2 with one line on stderr holding `phrase` and `names`, or 0 with `phrase`
    in its output. `isolated`: a broken reader would hang or exhaust memory on it."""

    name: str
    make: Callable[[Path], Path]
    phrase: str
    names: str
    commands: tuple[tuple[str, ...], ...]
    exit_code: int = 2
    opens: bool = False
    step: int | None = 40
    isolated: bool = False


HOSTILE_CASES = [
    HostileCase(
        "fifo as a checkpoint",
        _lone(_fifo),
        "not a regular file",
        "x.pt",
        LONE_FILE,
        isolated=True,
    ),
    HostileCase(
        "/dev/zero as a checkpoint",
        _lone(_device_link),
        "not a regular file",
        "x.pt",
        LONE_FILE,
        isolated=True,
    ),
    HostileCase(
        "fifo as a run's metrics.jsonl",
        _run_with(lambda run: _fifo(run / "metrics.jsonl")),
        "metrics.jsonl: not a regular file",
        "metrics.jsonl",
        (DIAGNOSE,),
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "/dev/zero as a run's metrics.jsonl",
        _run_with(lambda run: _device_link(run / "metrics.jsonl")),
        "metrics.jsonl: not a regular file",
        "metrics.jsonl",
        (DIAGNOSE,),
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "/dev/urandom as a run's events.jsonl",
        _run_with(lambda run: _device_link(run / "events.jsonl", "/dev/urandom")),
        "events.jsonl: not a regular file",
        "events.jsonl",
        (DIAGNOSE,),
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "fifo as a run's events.jsonl",
        _run_with(lambda run: _fifo(run / "events.jsonl")),
        "events.jsonl: not a regular file",
        "events.jsonl",
        (DIAGNOSE,),
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "fifo as a run's network_stats.jsonl",
        _run_with(lambda run: _fifo(run / "network_stats.jsonl")),
        "network_stats.jsonl: not a regular file",
        "network_stats.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "fifo as a run's config.json",
        _run_with(lambda run: _fifo(run / "config.json")),
        "not a regular file",
        "config.json",
        (DIAGNOSE,),
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "fifo as a run's newest checkpoint",
        _run_with(lambda run: _fifo(run / NEWEST)),
        "step_00000040.pt: not a regular file",
        "step_00000040.pt",
        (RUN_INFO,),
        exit_code=0,
        opens=True,
        step=20,
        isolated=True,
    ),
    HostileCase(
        "/dev/zero as a run's newest checkpoint",
        _run_with(lambda run: _device_link(run / NEWEST)),
        "step_00000040.pt: not a regular file",
        "step_00000040.pt",
        (RUN_INFO,),
        exit_code=0,
        opens=True,
        step=20,
        isolated=True,
    ),
    HostileCase(
        "a pickle asking for os.system as the newest checkpoint",
        _run_with(lambda run: _code_checkpoint(run / NEWEST)),
        "refused: it holds Python objects",
        "step_00000040.pt",
        (RUN_INFO,),
        exit_code=0,
        opens=True,
        step=20,
    ),
    HostileCase(
        "fixed noise of 5e11 rows at stride 0 in the newest checkpoint",
        _run_with(lambda run: _stride0_noise(run / NEWEST)),
        "larger than the data stored for it",
        "step_00000040.pt",
        (RUN_INFO,),
        exit_code=0,
        opens=True,
        step=20,
        isolated=True,
    ),
    HostileCase(
        "fixed noise of 5e11 rows at stride 0 in a checkpoint",
        _lone_checkpoint(_stride0_noise),
        "larger than the data stored for it",
        "x.pt",
        LONE_FILE,
        isolated=True,
    ),
    HostileCase(
        "a 2 GiB zip bomb in a storage record",
        _lone(_bomb_in_storage),
        "is a compressed member",
        "x.pt",
        LONE_FILE,
        isolated=True,
    ),
    HostileCase(
        "an extra 2 GiB zip bomb member in a checkpoint",
        _lone_checkpoint(_extra_bomb_member),
        "is a compressed member",
        "x.pt",
        LONE_FILE,
        isolated=True,
    ),
    HostileCase(
        "a stored member declaring more bytes than the file",
        _lone_checkpoint(_member_larger_than_the_file),
        "more than the",
        "x.pt",
        LONE_FILE,
        isolated=True,
    ),
    HostileCase(
        "config.json nested 100,000 deep",
        _run_with(lambda run: (run / "config.json").write_text("[" * 100_000 + "]" * 100_000)),
        "nested too deeply",
        "config.json",
        (DIAGNOSE,),
        opens=True,
    ),
    HostileCase(
        "a PNG picture as config.json",
        _run_with(
            lambda run: shutil.copyfile(run / "samples/step_00000000.png", run / "config.json")
        ),
        "not a JSON text file",
        "config.json",
        (DIAGNOSE,),
        opens=True,
    ),
    HostileCase(
        'an event whose step is "x"',
        _run_with(lambda run: _append_lines(run / "events.jsonl", [WRONG_EVENTS[4]])),
        "events.jsonl: skipped 1 record",
        "events.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
    ),
    HostileCase(
        "metrics records of every wrong type",
        _run_with(lambda run: _append_lines(run / "metrics.jsonl", WRONG_METRICS)),
        "metrics.jsonl: skipped 2 damaged lines, 9 records",
        "metrics.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
    ),
    HostileCase(
        "events of every wrong type",
        _run_with(lambda run: _append_lines(run / "events.jsonl", WRONG_EVENTS)),
        "events.jsonl: skipped 1 damaged line, 5 records",
        "events.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
    ),
    HostileCase(
        "layer statistics of every wrong type",
        _run_with(lambda run: _append_lines(run / "network_stats.jsonl", WRONG_STATS)),
        "network_stats.jsonl: skipped 1 record",
        "network_stats.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
    ),
    HostileCase(
        "a list of 20,000 numbers in a metrics record",
        _run_with(
            lambda run: _append_lines(
                run / "metrics.jsonl",
                [json.dumps({"step": 49, "class_counts": [1] * 20_000, "mine": [0.5] * 20_000})],
            )
        ),
        "metrics.jsonl: skipped 2 values",
        "metrics.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
    ),
    HostileCase(
        "a 25-million-element list in a metrics record",
        _run_with(_huge_list_record),
        "metrics.jsonl: skipped 1 damaged line",
        "metrics.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "a metrics record with 200,000 keys",
        _run_with(_many_keys_record),
        "metrics.jsonl: skipped 199,",
        "metrics.jsonl",
        (DIAGNOSE,),
        exit_code=0,
        opens=True,
        isolated=True,
    ),
    HostileCase(
        "a fifo as a TensorBoard log's event file",
        _log_with_fifo,
        "events.out.tfevents.1.host.2.fifo: not a regular file",
        "events.out.tfevents.1.host.2.fifo",
        (RUN_INFO,),
        exit_code=0,
        opens=True,
        step=None,
        isolated=True,
    ),
    HostileCase(
        "a TensorBoard record declaring 2^40 bytes",
        _log_with_huge_record,
        "declares more bytes than memory holds",
        "events.out.tfevents",
        (RUN_INFO,),
        exit_code=0,
        opens=True,
        step=None,
        isolated=True,
    ),
]
CASES_BY_NAME = {case.name: case for case in HOSTILE_CASES}


# ---------------------------------------------------------------------- running a case
def open_as_the_window_does(path: Path) -> dict[str, Any]:
    """What the window's open does in the background: `open_path`, the run's source polled to
    the end and described. Returns the notes the window shows, the step of the checkpoint
    opened, and every way what reaches the views is not well-typed (none, if all is well).
    Raises the GanvizError the window shows in a dialog."""
    from ganviz_gui.core.inspection import open_path

    opened = open_path(path)
    notes = opened.notes()
    problems: list[str] = []
    source = opened.run_source()
    if source is not None:
        delta = source.poll_all()
        source.describe()
        notes += source.notes()  # type: ignore[attr-defined]
        problems = ill_typed(delta)
    step = opened.generator.step if opened.generator is not None else None
    return {"notes": notes, "step": step, "problems": problems}


def ill_typed(delta: Any) -> list[str]:
    """How the records, events and layer statistics of a poll are not what the views expect."""
    from ganviz_gui.core.record_columns import as_columns

    found = []

    def is_step(value: Any) -> bool:
        return type(value) is int and 0 <= value <= MAX_STEP

    def is_number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    for record in as_columns(delta.records):
        if not is_step(record.get("step")):
            found.append(f"metrics: step {record.get('step')!r}")
        for key, value in record.items():
            if is_number(value):
                continue
            numbers = isinstance(value, list) and len(value) <= MAX_LIST
            numbers = numbers and all(map(is_number, value))
            text = isinstance(value, str) and len(value) <= MAX_TEXT
            documented = key in NUMBER_KEYS and key != "class_counts"
            if documented or not (numbers or text):
                found.append(f"metrics: {key} = {value!r:.50}")
    for event in delta.events:
        if not is_step(event.get("step")) or not isinstance(event.get("kind", ""), str):
            found.append(f"event: {event!r:.80}")
    for record in delta.stats:
        if not is_step(record.get("step")):
            found.append(f"stats: step {record.get('step')!r}")
        for network in ("generator", "discriminator"):
            for layer in record.get(network, []):
                numbers = [layer[k] for k in ("weight_norm", "grad_norm", "weight_range")]
                hists = [layer["weight_hist"], layer["grad_hist"]]
                if not isinstance(layer["layer"], str) or not all(
                    v is None or type(v) is float for v in numbers
                ):
                    found.append(f"stats layer: {layer!r:.80}")
                if not all(isinstance(h, list) and all(map(is_number, h)) for h in hists):
                    found.append(f"stats histogram: {layer!r:.80}")
        verdicts = record.get("verdicts")
        if verdicts is not None and len(verdicts["real"]) != len(verdicts["fake"]):
            found.append(f"stats verdicts: {verdicts!r:.80}")
    return found


def run_case(case: HostileCase, path: Path) -> dict[str, Any]:
    """Each of the case's commands through the CLI (exit code, stdout, stderr), then the
    window's open; plain values, so a subprocess can hand them back as JSON."""
    from ganviz_gui.cli import main

    commands = []
    for argv in case.commands:
        filled = [part.format(path=path, out=path.parent / "out.png") for part in argv]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(filled)
        commands.append(
            {"argv": filled, "code": code, "out": out.getvalue(), "err": err.getvalue()}
        )
    try:
        opened: dict[str, Any] = {**open_as_the_window_does(path), "error": None}
    except GanvizError as exc:
        opened = {"error": str(exc)}
    return {"commands": commands, "open": opened}


# A fresh interpreter's first lines: its address space limited (a bomb fails there, not here;
# set by the child itself, as preexec_fn is not safe in a process with threads, as torch's).
_LIMITED = f"""
import resource
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
"""
# Runs one case (argv: case name, path, where to write the result).
_DRIVER = (
    _LIMITED
    + """
import json, sys
from pathlib import Path
from tests.core.test_hostile_files import CASES_BY_NAME, run_case
result = run_case(CASES_BY_NAME[sys.argv[1]], Path(sys.argv[2]))
Path(sys.argv[3]).write_text(json.dumps(result))
"""
)


def run_isolated(case: HostileCase, path: Path) -> dict[str, Any]:
    """`run_case` in a subprocess, under TIMEOUT_S and ADDRESS_SPACE: a hang or a bomb fails.
    The case is found there by its name (it must be in HOSTILE_CASES); `path` is what it made."""
    result_file = path.parent / "result.json"
    try:
        ran = subprocess.run(
            [sys.executable, "-c", _DRIVER, case.name, str(path), str(result_file)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case.name}: still reading after {TIMEOUT_S} s (it hangs)")
    assert ran.returncode == 0 and result_file.exists(), ran.stderr[-3000:]
    return json.loads(result_file.read_text())


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=[case.name for case in HOSTILE_CASES])
def test_a_hostile_file_is_named_and_never_hangs_or_breaks_an_open(case, tmp_path):
    path = case.make(tmp_path)
    result = run_isolated(case, path) if case.isolated else run_case(case, path)
    for ran in result["commands"]:
        said = ran["out"] + ran["err"]
        assert "Traceback" not in said, said[-3000:]
        assert ran["code"] == case.exit_code, (ran["argv"], said[-2000:])
        if case.exit_code == 2:
            lines = [line for line in ran["err"].splitlines() if line.strip()]
            assert len(lines) == 1, ran["err"]
            assert case.phrase in lines[0] and case.names in lines[0], lines[0]
        else:
            assert case.phrase in said, said[-2000:]
    opened = result["open"]
    if case.opens:
        assert opened["error"] is None, opened["error"]
        assert any(case.phrase in note for note in opened["notes"]), opened["notes"]
        assert opened["step"] == case.step
        assert opened["problems"] == []
    else:
        assert opened["error"] is not None and case.phrase in opened["error"], opened
        assert case.names in opened["error"] and "\n" not in opened["error"]
    assert not any(tmp_path.rglob(MARKER)), "code from a file ran"


# ---------------------------------------------------------------------- records, one by one
def test_wrong_typed_records_reach_the_views_well_typed_and_counted(tmp_path):
    from ganviz_gui.core.run_sources import RunFolderSource

    run = tiny_run(tmp_path)
    _append_lines(run / "metrics.jsonl", WRONG_METRICS)
    _append_lines(run / "events.jsonl", WRONG_EVENTS)
    _append_lines(run / "network_stats.jsonl", WRONG_STATS)
    source = RunFolderSource(run)
    delta = source.poll_all()
    assert ill_typed(delta) == []
    steps = [record["step"] for record in delta.records]
    assert 41 in steps and 48 in steps and max(steps) <= 48  # the records with good steps stay
    record_41 = next(r for r in delta.records if r["step"] == 41)
    assert "loss_d" not in record_41  # text where a number is: dropped
    recovery = next(e for e in delta.events if e["step"] == 51)
    assert "restored_step" not in recovery and "network" not in recovery
    assert recovery["kind"] == "nonfinite_recovery"
    layers = next(r for r in delta.stats if r["step"] == 30)["generator"]
    assert layers == [
        {
            "layer": "net.0",
            "weight_norm": None,
            "grad_norm": None,
            "weight_range": None,
            "grad_range": None,
            "weight_hist": [],
            "grad_hist": [],
        }
    ]
    assert "verdicts" not in next(r for r in delta.stats if r["step"] == 60)
    assert source.skipped > 0 and len(source.notes()) == 3


def test_a_line_longer_than_a_read_is_passed_over_unparsed_and_counted_once(tmp_path):
    from ganviz_gui.core.run_sources import JsonlTail

    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"step": 1}\n' + b"x" * 10_000 + b'\n{"step": 2}\n')
    tail = JsonlTail(path, max_bytes=1024)
    found = []
    while True:
        records, _ = tail.read_new()
        found += records
        if not tail.more:
            break
    assert found == [{"step": 1}, {"step": 2}] and tail.damaged == 1


def test_diagnose_ignores_events_of_the_wrong_type():
    from ganviz_gui.core.diagnostics import diagnose

    events = [
        {"step": "x", "kind": "nonfinite_recovery"},
        {"step": 5, "kind": "nonfinite_recovery", "network": ["g"]},
        {"step": 7, "kind": "settings_changed", "loss": 3},
        "not an event",
    ]
    (finding,) = diagnose([], events)  # type: ignore[list-item]
    assert (finding.first_step, finding.last_step) == (5, 5) and "in ?" in finding.evidence


# ---------------------------------------------------------------------- settings files
@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "looks like a PNG picture"),
        ('{"steps": 5}'.encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        (b'{"steps": ' + b"1" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_a_settings_file_that_is_no_json_text_is_one_config_error(tmp_path, content, phrase):
    from ganviz_gui.core.config import TrainingConfig
    from ganviz_gui.core.errors import ConfigError

    path = tmp_path / "settings.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as raised:
        TrainingConfig.load_json(path)
    message = str(raised.value)
    assert phrase in message and str(path) in message and "\n" not in message


def test_a_settings_file_in_utf16_with_a_byte_order_mark_is_read(tmp_path):
    from ganviz_gui.core.config import TrainingConfig

    path = tmp_path / "settings.json"
    path.write_bytes(json.dumps({**TrainingConfig().to_dict(), "steps": 7}).encode("utf-16"))
    assert TrainingConfig.load_json(path).steps == 7


# ---------------------------------------------------------------------- pictures
_READ_PICTURE = (
    _LIMITED
    + """
import sys
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.sample_images import read_picture
try:
    read_picture(sys.argv[1])
except DataError as exc:
    print(exc)
"""
)


@pytest.mark.parametrize("make", [_fifo, _device_link], ids=["fifo", "/dev/zero"])
def test_a_sample_picture_that_is_no_regular_file_is_refused_at_once(tmp_path, make):
    picture = make(tmp_path / "step_00000000.png")
    ran = subprocess.run(
        [sys.executable, "-c", _READ_PICTURE, str(picture)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert f"{picture}: not a regular file" in ran.stdout, ran.stderr[-2000:]


# ---------------------------------------------------------------------- data sets
def _object_npy(path: Path) -> Path:
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


def _pickle_as_npy(path: Path) -> Path:
    path.write_bytes(pickle.dumps([1, 2, 3]))
    return path


def _object_npz(path: Path) -> Path:
    np.savez(path, images=np.zeros((2, 8, 8), np.uint8), labels=np.array([{}, {}], object))
    return path


@pytest.mark.parametrize(
    "make", [_object_npy, _pickle_as_npy, _object_npz], ids=["object .npy", "pickle", ".npz"]
)
def test_an_array_file_of_python_objects_is_refused_without_numpys_unsafe_advice(tmp_path, make):
    from ganviz_gui.core.data.array_file import load_array_file
    from ganviz_gui.core.data.toy2d import load_points

    path = make(tmp_path / ("points.npz" if make is _object_npz else "points.npy"))
    loads = [lambda: load_array_file(path, 0)]
    if path.suffix == ".npy":  # 2D points come from .npy files (or CSV) only
        loads.append(lambda: load_points(path))
    for load in loads:
        with pytest.raises(DataError) as raised:
            load()
        message = str(raised.value)
        assert "Python objects" in message and str(path) in message
        assert "allow_pickle" not in message and "unsafe" not in message


def _npy_header(shape: tuple[int, ...], dtype: str = "|u1") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()  # the magic, the header's length, the header


def test_an_array_header_promising_more_than_the_file_holds_is_refused_first(tmp_path):
    from ganviz_gui.core.data.array_file import load_array_file

    path = tmp_path / "lie.npy"
    path.write_bytes(_npy_header((10_000_000_000, 8, 8)) + bytes(640))
    with pytest.raises(DataError, match="promises an array of shape"):
        load_array_file(path, 0)


def test_an_npz_member_that_would_inflate_to_2_gib_is_refused_before_inflating(tmp_path):
    from ganviz_gui.core.data.array_file import load_array_file

    head = _npy_header((BOMB_BYTES // 64, 8, 8))
    member = _Member(
        "images.npy",
        _deflated_zeros(BOMB_BYTES, head),
        zipfile.ZIP_DEFLATED,
        _crc_of_zeros(BOMB_BYTES, head),
        len(head) + BOMB_BYTES,
    )
    path = _write_zip(tmp_path / "bomb.npz", [member])
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="would inflate"):
            load_array_file(path, 0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_an_idx_gzip_bomb_is_inflated_no_further_than_its_header_promises(tmp_path):
    from ganviz_gui.core.data.idx import read_idx

    head = b"\x00\x00\x08\x03" + struct.pack(">3I", 10, 28, 28)
    raw_deflate = _deflated_zeros(512 << 20, head)
    crc = _crc_of_zeros(512 << 20, head)
    gzipped = (
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        + raw_deflate
        + struct.pack("<2I", crc, (len(head) + (512 << 20)) & 0xFFFFFFFF)
    )
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzipped)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="but more bytes follow"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20
    (tmp_path / "huge.idx").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", *[1 << 31] * 3))
    with pytest.raises(DataError, match="more than GANViz reads"):
        read_idx(tmp_path / "huge.idx")


def test_a_file_given_for_a_folder_data_set_is_not_a_folder(tmp_path):
    from ganviz_gui.core.data.idx import load_idx_dataset
    from ganviz_gui.core.data.image_folder import load_image_folder

    file = tmp_path / "images.png"
    file.write_bytes(b"not a folder")
    with pytest.raises(DataError, match=re.escape(f"{file}: not a folder")):
        load_image_folder(file, 8, "auto")
    with pytest.raises(DataError, match=re.escape(f"{file}: not a folder")):
        load_idx_dataset("mnist", file, download=False)


def test_an_unreadable_sub_folder_and_a_fifo_are_listed_as_skipped(tmp_path, monkeypatch):
    from PIL import Image

    from ganviz_gui.core.data.image_folder import load_image_folder

    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        Image.new("L", (12, 12), 90).save(tmp_path / name / "a.png")
    _fifo(tmp_path / "cats" / "pipe.png")
    locked = tmp_path / "dogs"
    real_scandir = os.scandir

    def scandir(path: Any = "."):  # as chmod 000 would, for any user, root included
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    data = load_image_folder(tmp_path, 8, "auto")
    skipped = dict(data.skipped)
    assert len(data) == 1 and data.class_names == ["cats"]
    assert "cannot list its files (Permission denied)" in skipped[str(locked)]
    assert "not a regular file" in skipped[str(tmp_path / "cats" / "pipe.png")]
