import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ganviz_gui.cli import main
from ganviz_gui.core.run_folder import list_checkpoints, read_jsonl
from tests.core.helpers import own_home

TINY = [
    "--set",
    "g_hidden=16",
    "--set",
    "d_hidden=16",
    "--set",
    "toy_samples=1000",
    "--set",
    "log_every=5",
    "--set",
    "eval_every=10",
    "--set",
    "checkpoint_every=10",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def _trained_points_run(tmp_path_factory):
    """`ganviz train` run once for the module; capsys is per test, so stdout is caught here."""
    run = tmp_path_factory.mktemp("cli") / "run"
    out = io.StringIO()
    with own_home(tmp_path_factory), contextlib.redirect_stdout(out):
        code = main(
            [
                "train",
                "--dataset",
                "ring8",
                "--steps",
                "20",
                "--seed",
                "1",
                "--run-dir",
                str(run),
                *TINY,
            ]
        )
    assert code == 0
    (run.parent / "train_output.txt").write_text(out.getvalue())
    return run


@pytest.fixture
def points_run(_trained_points_run, tmp_path):
    """A copy of the module's trained run, so a test may change it (resume appends to it)."""
    shutil.copy(_trained_points_run.parent / "train_output.txt", tmp_path)
    return Path(shutil.copytree(_trained_points_run, tmp_path / "run"))


def test_train_writes_a_run_folder_and_reports(points_run):
    out = (points_run.parent / "train_output.txt").read_text()
    assert "run folder:" in out and "finished at step 20" in out
    assert "evaluation (EMA generator): " in out and "modes_covered=" in out
    assert [s for s, _ in list_checkpoints(points_run)] == [10, 20]
    config = json.loads((points_run / "config.json").read_text())
    assert config["lr_g"] == 1e-3 and config["r1_weight"] == 0.1  # recommended 2D settings
    assert config["g_hidden"] == 16  # --set wins


def test_piped_progress_is_plain_lines(points_run):
    out = (points_run.parent / "train_output.txt").read_text()
    lines = [line for line in out.splitlines() if line.startswith("step ")]
    assert lines and "ETA" in lines[-1] and lines[-1].startswith("step 20/20")
    assert "\r" not in out


def test_sample_npy_and_png_for_points(points_run, tmp_path):
    checkpoint = str(points_run / "checkpoints" / "step_00000020.pt")
    assert main(["sample", checkpoint, "-n", "33", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (33, 2)
    assert main(["sample", checkpoint, "-n", "33", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0


def test_evaluate_and_info_as_json(points_run, capsys):
    checkpoint = str(points_run / "checkpoints" / "step_00000020.pt")
    capsys.readouterr()
    assert main(["evaluate", checkpoint, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["modes_total"] == 8 and 0 <= result["high_quality"] <= 1
    assert 0 <= result["js_divergence"] <= 1
    assert main(["info", checkpoint, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["step"] == 20 and info["dataset"] == "ring8" and info["model"] == "mlp"


def test_images_sample_in_unit_range_and_evaluate(tmp_path, capsys, cached_digits_classifier):
    run = tmp_path / "img"
    assert (
        main(
            [
                "train",
                "--dataset",
                "digits",
                "--model",
                "dcgan",
                "--steps",
                "6",
                "--batch-size",
                "16",
                "--run-dir",
                str(run),
                "--set",
                "g_channels=8",
                "--set",
                "d_channels=8",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    checkpoint = str(run / "checkpoints" / "step_00000006.pt")
    assert (
        main(["sample", checkpoint, "-n", "5", "--seed", "3", "--out", str(tmp_path / "x.npy")])
        == 0
    )
    images = np.load(tmp_path / "x.npy")
    assert images.shape == (5, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    capsys.readouterr()
    assert main(["evaluate", checkpoint, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"d_real", "d_fake", "diversity_ratio"} <= set(result)


def test_resume_appends_to_the_same_run(points_run, capsys):
    checkpoint = str(points_run / "checkpoints" / "step_00000020.pt")
    assert main(["train", "--resume", checkpoint, "--steps", "30"]) == 0
    steps = [r["step"] for r in read_jsonl(points_run / "metrics.jsonl")]
    assert steps == [5, 10, 15, 20, 25, 30]
    assert main(["train", "--resume", checkpoint, "--model", "dcgan"]) == 2
    assert "cannot change model when resuming" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "ring8", "--lr-g", "nan"], "lr_g: must be a finite number"),
        (["train", "--dataset", "nope"], "dataset: 'nope' is not one of"),
        (["train", "--set", "lr=3"], "expected FIELD=VALUE with a known field"),
        (["train", "--dataset", "points", "--data", "/no/such.csv"], "/no/such.csv: no such file"),
        (["train", "--device", "cuda:7"], "device cuda:7"),
        (["info", "/no/such.pt"], "/no/such.pt: cannot read"),
        (["sample", "/x.pt", "--out", "a.txt"], "must end in .npy or .png"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path):
    if argv[0] == "train":
        argv = [*argv, "--run-dir", str(tmp_path / "r"), "--steps", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_no_command_without_a_display_explains_and_exits_2(capsys, monkeypatch):
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "ganviz train" in err


def test_module_entry_point_and_usage_error_exit_codes():
    ran = subprocess.run(
        [sys.executable, "-m", "ganviz_gui", "--version"], capture_output=True, text=True
    )
    assert ran.returncode == 0 and "GANViz" in ran.stdout
    ran = subprocess.run(
        [sys.executable, "-m", "ganviz_gui", "train", "--steps", "x"],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 2 and "invalid int value" in ran.stderr


def test_diagnose_prints_the_findings_of_a_run_folder(capsys, tmp_path):
    runs = Path(__file__).parent.parent / "data" / "diagnostic_runs"
    assert main(["diagnose", str(runs / "strong_d"), "--json"]) == 0
    kinds = [finding["kind"] for finding in json.loads(capsys.readouterr().out)]
    assert kinds == ["d_overpowering", "mode_collapse"]
    assert main(["diagnose", str(runs / "healthy")]) == 0
    assert capsys.readouterr().out == "no problems found in 200 records\n"
    (tmp_path / "config.json").write_text("{not json")
    assert main(["diagnose", str(tmp_path)]) == 2
    assert "config.json: unreadable" in capsys.readouterr().err


def test_diagnose_reads_a_run_logged_from_someone_elses_loop(capsys, tmp_path):
    """config.json then holds the user's own settings, not GANViz's: diagnosed all the same."""
    runs = Path(__file__).parent.parent / "data" / "diagnostic_runs"
    run = tmp_path / "own"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"lr": 0.0002, "epochs": 5}))
    (run / "metrics.jsonl").write_text((runs / "strong_d" / "metrics.jsonl").read_text())
    assert main(["diagnose", str(run), "--json"]) == 0
    kinds = [finding["kind"] for finding in json.loads(capsys.readouterr().out)]
    assert "d_overpowering" in kinds


def test_piped_progress_prints_each_record_once(capsys, monkeypatch):
    """Records come every 10 steps and lines every 5: a line without a new record would repeat
    the one before it, so it is not printed; the run's last line is, without metrics."""
    from types import SimpleNamespace

    from ganviz_gui import cli

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    progress = cli._Progress(0, 105)
    for step in range(1, 106):
        record = {"loss_d": 0.1 + step, "loss_g": 2.0} if step % 10 == 0 else None
        progress.update(SimpleNamespace(step=step, record=record))
    lines = capsys.readouterr().out.splitlines()
    metrics = [line.split("  ")[1] for line in lines[:-1]]
    assert len(metrics) == len(set(metrics)) == 10  # steps 10, 20, ..., 100: each once
    assert lines[-1].startswith("step 105/105  ") and "loss_d" not in lines[-1]
