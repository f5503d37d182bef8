"""Every refused command line is one line on stderr and exit 2, never a usage block or a
traceback: malformed lines (argparse's refusals), values only the engine refuses, messages that
quote newlines, a run folder that is a file, and the machine running out of memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ganviz_gui.cli import main

# (command line, words the one line must hold); {file} is an existing file, {tmp} a folder.
MALFORMED_LINES = [
    (["bogus"], "invalid choice: 'bogus'"),
    (["-x"], "unrecognized arguments: -x (see ganviz --help)"),
    (["train", "--foo"], "unrecognized arguments: --foo (see ganviz train --help)"),
    (["train", "extra"], "unrecognized arguments: extra (see ganviz train --help)"),
    (["info", "a.pt", "b.pt"], "unrecognized arguments: b.pt (see ganviz info --help)"),
    (["train", "--steps"], "argument --steps: expected one argument"),
    (["train", "--steps", "x"], "argument --steps: invalid int value: 'x'"),
    (["train", "--lr-g", "fast"], "argument --lr-g: invalid float value: 'fast'"),
    (["train", "--set"], "argument --set: expected one argument"),
    (["sample"], "the following arguments are required: checkpoint, --out"),
    (
        ["sample", "g.pt", "--out", "{tmp}/s.png", "-n", "x"],
        "argument -n: invalid int value: 'x' (see ganviz sample --help)",
    ),
    (["sample", "g.pt", "--out", "{tmp}/s.png", "--noise-mode", "zz"], "invalid choice: 'zz'"),
    (["sample", "g.pt", "--out", "{tmp}/s.png", "--seed", "-1"], "--seed: must be between 0"),
    (["sample", "g.pt", "--out", "{tmp}/s.png", "--seed", "1" + "0" * 30], "--seed: must be"),
    (["sample", "g.pt", "--out", "{tmp}/s.png", "--truncation", "nan"], "must be a finite"),
    (["sample", "g.pt", "--out", "{tmp}/s.png", "--class", "-1"], "--class: must be at least 0"),
    (["sample", "g.pt", "--out", "{tmp}"], "--out: {tmp} is a folder, not a file"),
    (["sample", "g.pt", "--out", "{file}/s.png"], "{file} is a file, not a folder"),
    (["sample", "", "--out", "{tmp}/s.png"], "argument checkpoint: an empty path"),
    (["sample", "g.pt", "--out", ""], "argument --out: an empty path"),
    (["info", "g.pt", "--latent-dim", "0"], "--latent-dim: must be between 1 and"),
    (["info", ""], "argument checkpoint: an empty path"),
    (["evaluate"], "the following arguments are required: checkpoint"),
    (["evaluate", "g.pt", "--seed", "-3"], "--seed: must be between 0"),
    (["evaluate", ""], "argument checkpoint: an empty path"),
    (["diagnose"], "the following arguments are required: run"),
    (["diagnose", ""], "argument run: an empty path"),
    (["open"], "the following arguments are required: path (see ganviz open --help)"),
    (["open", ""], "argument path: an empty path"),
    (["train", "--config", ""], "argument --config: an empty path"),
    (["train", "--resume", ""], "argument --resume: an empty path"),
    # "" would be the current folder: the run would be written wherever the shell stands.
    (["train", "--run-dir", ""], "argument --run-dir: an empty path"),
    (["train", "--run-dir", "{file}"], "--run-dir: {file} is a file, not a folder"),
    (["train", "--run-dir", "{file}/run"], "{file} is a file, not a folder"),
    (["demo", "--run-dir", "{file}"], "--run-dir: {file} is a file, not a folder"),
    # the engine's refusal of a path that holds a newline, kept to one line
    (["train", "--config", "{tmp}/no\nsuch.json"], "no such.json"),
]


def _filled(argv: list[str], tmp_path) -> list[str]:
    (tmp_path / "a-file").write_text("not a folder")
    return [
        word.replace("{file}", str(tmp_path / "a-file")).replace("{tmp}", str(tmp_path))
        for word in argv
    ]


def _assert_one_line(err: str, words: str) -> None:
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "usage:" not in err, err
    assert words in err, err


@pytest.fixture
def nothing_starts(monkeypatch, tmp_path):
    """A refused line must start nothing: no training (`--run-dir ""` was the current folder),
    no window (`open ""` opened it on the current folder)."""
    from ganviz_gui.core.training_session import TrainingSession
    from ganviz_gui.gui import app

    def started(*args, **kwargs):
        raise AssertionError("a refused command line started something")

    monkeypatch.setattr(TrainingSession, "start", started)
    monkeypatch.setattr(app, "run_app", started)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("nothing_starts")
@pytest.mark.parametrize(
    ("argv", "words"), MALFORMED_LINES, ids=[" ".join(argv) for argv, _ in MALFORMED_LINES]
)
def test_a_malformed_command_line_is_one_line_and_exit_2(argv, words, capsys, tmp_path):
    code = main(_filled(argv, tmp_path))
    assert code == 2
    _assert_one_line(capsys.readouterr().err, _filled([words], tmp_path)[0])


ENTRY_POINT_LINES = [
    (["bogus"], "ganviz: error: argument COMMAND: invalid choice"),
    (["sample", "g.pt", "-n", "x"], "invalid int value: 'x' (see ganviz sample --help)"),
    (["train", "--run-dir", "{file}"], "{file} is a file, not a folder"),
    (["open"], "required: path (see ganviz open --help)"),
]


@pytest.mark.parametrize(
    ("argv", "words"), ENTRY_POINT_LINES, ids=[" ".join(argv) for argv, _ in ENTRY_POINT_LINES]
)
def test_the_installed_entry_point_says_it_in_one_line(argv, words, tmp_path):
    ran = subprocess.run(
        [sys.executable, "-m", "ganviz_gui", *_filled(argv, tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 2
    _assert_one_line(ran.stderr, _filled([words], tmp_path)[0])


def test_help_and_version_still_exit_0(capsys):
    assert main(["--version"]) == 0
    assert main(["train", "--help"]) == 0
    assert "--run-dir" in capsys.readouterr().out


# ---------------------------------------------------------------------- out of memory
CPU_ALLOCATOR_REFUSAL = (
    "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
    "you tried to allocate 17179869184 bytes. Error code 12 (Cannot allocate memory)"
)


def _huge_training(tmp_path) -> list[str]:
    return [
        "train",
        "--batch-size",
        "65536",
        "--set",
        "g_hidden=16384",
        "--set",
        "d_hidden=16384",
        "--run-dir",
        str(tmp_path / "run"),
    ]


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        (RuntimeError(CPU_ALLOCATOR_REFUSAL), "17,179,869,184 bytes (16.0 GiB)"),
        (
            RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 96 bytes"),
            "96 bytes",
        ),
        (MemoryError(), "out of memory"),
    ],
    ids=["cpu allocator", "older torch", "MemoryError"],
)
def test_out_of_memory_building_the_models_names_the_size_and_settings(
    refusal, words, monkeypatch, capsys, tmp_path
):
    from ganviz_gui.core.training_session import TrainingSession

    def refuse(*args, **kwargs):
        raise refusal

    monkeypatch.setattr(TrainingSession, "start", refuse)
    assert main(_huge_training(tmp_path)) == 2
    err = capsys.readouterr().err
    _assert_one_line(err, words)
    assert "out of memory" in err and "batch_size=65536, g_hidden=16384, d_hidden=16384" in err


def test_out_of_memory_in_the_first_step_is_one_line_too(monkeypatch, capsys, tmp_path):
    import torch

    from ganviz_gui.core.training_session import TrainingSession

    def refuse(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0)")

    monkeypatch.setattr(TrainingSession, "run", refuse)
    argv = [
        "train",
        "--steps",
        "2",
        "--set",
        "g_hidden=8",
        "--set",
        "d_hidden=8",
        "--set",
        "toy_samples=256",
        "--threads",
        "1",
        "--run-dir",
        str(tmp_path / "run"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    _assert_one_line(err, "out of memory trying to allocate 20.00 GiB with batch_size=256")


def test_a_refused_file_is_one_line_and_a_real_bug_keeps_its_traceback(
    monkeypatch, capsys, tmp_path
):
    from ganviz_gui.core.training_session import TrainingSession

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "run" / "config.json"))

    monkeypatch.setattr(TrainingSession, "start", refuse)
    assert main(["train", "--run-dir", str(tmp_path / "run")]) == 2
    _assert_one_line(capsys.readouterr().err, "config.json: Permission denied")

    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch")  # a RuntimeError that is no memory refusal

    monkeypatch.setattr(TrainingSession, "start", broken)
    assert main(["train", "--run-dir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error: RuntimeError: shape mismatch" in err
