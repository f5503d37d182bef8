"""Training under torchrun: two CPU processes joined by gloo.

The command-line tests start a real `python -m torch.distributed.run --nproc_per_node 2`; the
engine tests start two processes with torch.multiprocessing and compare what each rank ends
with: DistributedDataParallel and the shared decisions must leave both with the same weights.
"""

from __future__ import annotations

import itertools
import math
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ganviz_gui.core import distributed, losses
from ganviz_gui.core.checkpoint import load_checkpoint
from ganviz_gui.core.data import BatchSampler
from ganviz_gui.core.distributed import (
    DistributedContext,
    DistributedError,
    _rank_device,
    end_worker_process,
)
from ganviz_gui.core.errors import DeviceError
from ganviz_gui.core.run_folder import list_checkpoints, read_jsonl
from ganviz_gui.core.trainer import Trainer
from tests.core.helpers import tiny_image_config, tiny_points_config

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
PROJECT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------- one process
def test_without_torchrun_the_context_is_one_process_and_does_nothing(monkeypatch):
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    context = DistributedContext.from_environment("cpu")
    assert (context.rank, context.world_size, context.backend) == (0, 1, None)
    assert context.is_main and not context.is_distributed and not dist.is_initialized()
    assert context.device == torch.device("cpu")
    module = torch.nn.Linear(2, 2)
    assert context.wrap(module) is module
    assert context.describe() == {}
    values = {"loss": torch.tensor(0.25), "count": 3.0, "bad": torch.tensor(math.nan)}
    means = context.all_reduce_mean(values)
    assert means["loss"] == 0.25 and means["count"] == 3.0 and math.isnan(means["bad"])
    flag = torch.tensor(1.0)
    assert context.any_rank(flag) is flag and context.every_rank(False) is False
    with context.joined():
        pass  # leaves no group behind, raises nothing
    assert not dist.is_initialized()


def test_each_rank_takes_the_gpu_of_its_local_rank(monkeypatch):
    # No GPU here: CUDA is faked as far as choosing the device goes (nothing runs on it).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert _rank_device("auto", 1) == torch.device("cuda", 1)
    assert _rank_device("cuda:0", 1) == torch.device("cuda", 1)  # the kind only
    assert _rank_device("cpu", 1) == torch.device("cpu")
    with pytest.raises(DeviceError, match="LOCAL_RANK 2: this machine shows only 2"):
        _rank_device("cuda", 2)
    with pytest.raises(DeviceError, match="device mps: cannot train with several processes"):
        _rank_device("mps", 0)


def test_an_incomplete_torchrun_environment_is_one_clear_error(monkeypatch):
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(DistributedError, match="RANK is not set"):
        DistributedContext.from_environment("cpu")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(DistributedError, match=r"rank 1 of 2: cannot join .*MASTER_ADDR"):
        DistributedContext.from_environment("cpu")


def test_ranks_draw_disjoint_slices_of_one_shuffled_global_batch():
    data = torch.arange(40, dtype=torch.float32).reshape(20, 2)

    def batches(rank: int, world_size: int) -> list[set[float]]:
        sampler = BatchSampler(data, 4, torch.Generator().manual_seed(3), rank, world_size)
        return [set(sampler.next()[:, 0].tolist()) for _ in range(5)]  # crosses an epoch

    alone = BatchSampler(data, 8, torch.Generator().manual_seed(3))
    for rank0, rank1 in zip(batches(0, 2), batches(1, 2), strict=True):
        assert len(rank0) == len(rank1) == 4 and not rank0 & rank1
        assert rank0 | rank1 == set(alone.next()[:, 0].tolist())  # the same global batches


# ---------------------------------------------------------------------- two processes
# Settings whose training passes differ: R1 on real data (a double backward through D), WGAN-GP
# with two D updates a step and RMSprop (which checks before each update rather than on the
# device), spectral normalisation (buffers D updates as it runs), a DCGAN with batch norm.
TRAINER_CASES: dict[str, dict[str, Any]] = {
    "adam_r1": dict(r1_weight=0.1),
    "rmsprop_wgan_gp": dict(
        loss="wgan-gp", d_steps=2, optimizer_d="rmsprop", optimizer_g="rmsprop"
    ),
    "spectral_hinge": dict(loss="hinge", spectral_norm=True),
    "dcgan": dict(model="dcgan"),
}
TRAINER_STEPS = 24
POISONED_D_LOSS = 7  # rank 1's 8th D loss is made infinite (its gradients stay finite)


def _case_config(name: str):
    changes = {**TRAINER_CASES[name], "eval_every": 1000, "stats_every": 0}
    if changes.pop("model", None) == "dcgan":
        return tiny_image_config(steps=TRAINER_STEPS, **changes)
    return tiny_points_config(steps=TRAINER_STEPS, **changes)


_D_LOSS = losses.d_loss


def _poison_one_d_loss() -> None:
    """Make one D loss (counted from now) infinite by adding a constant. Its gradients stay
    finite, so rank 0 has no reason of its own to refuse the update rank 1 refuses: only the
    recovery the ranks decide together (at once with RMSprop, at the interval's end with the
    fused Adam) puts them back in step."""
    calls = itertools.count()

    def d_loss(*args):
        loss = _D_LOSS(*args)
        return loss + math.inf if next(calls) == POISONED_D_LOSS else loss

    losses.d_loss = d_loss


def _rank_main(rank: int, port: int, out_dir: str) -> None:
    """One of two ranks: the reductions, then each trainer case; results to rank<N>.pt."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    context = DistributedContext.from_environment("cpu", timeout=timedelta(seconds=60))
    results: dict[str, Any] = {"describe": context.describe()}
    with context.joined():
        results["means"] = context.all_reduce_mean(
            {
                "loss": torch.tensor(float(rank + 1)),  # 1 and 2
                "python_float": 10.0 * rank,  # 0 and 10
                "nan_on_rank_1": math.nan if rank else 4.0,
                "nan_everywhere": torch.tensor(math.nan),
            }
        )
        results["any_rank"] = float(context.any_rank(torch.tensor(float(rank == 1))))
        results["every_rank"] = context.every_rank(rank == 0)
        for name in TRAINER_CASES:
            if rank == 1:
                _poison_one_d_loss()
            trainer = Trainer(_case_config(name), distributed=context)
            latents = trainer._latents(4)
            records = [r.record for r in (trainer.step() for _ in range(TRAINER_STEPS))]
            results[name] = {
                "latents": latents,
                "parameters": {
                    f"{net}.{key}": value.detach().clone()
                    for net, module in (("g", trainer.generator), ("d", trainer.discriminator))
                    for key, value in module.named_parameters()
                },
                "recoveries": [e for e in trainer.events if e["kind"] == "nonfinite_recovery"],
                "records": [r for r in records if r is not None],
            }
    torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    end_worker_process(0)  # as `ganviz train` ends: Python's shutdown could abort (see there)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both ranks' results; fails (rather than hangs) if a rank waits on the other too long."""
    out = tmp_path_factory.mktemp("ranks")
    processes = mp.start_processes(
        _rank_main, args=(free_port(), str(out)), nprocs=2, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + 120
    while not processes.join(timeout=1):
        if time.monotonic() > deadline:
            for process in processes.processes:
                process.kill()
            pytest.fail("the two ranks did not finish within 120 s: one waits on the other")
    return tuple(torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1))


def test_all_reduce_mean_averages_over_ranks_skipping_non_finite_values(two_ranks):
    for results in two_ranks:
        means = results["means"]
        assert means["loss"] == 1.5 and means["python_float"] == 5.0
        assert means["nan_on_rank_1"] == 4.0 and math.isnan(means["nan_everywhere"])
        assert results["any_rank"] == 1.0 and results["every_rank"] is False
        assert results["describe"] == {"world_size": 2, "backend": "gloo"}


@pytest.mark.parametrize("case", TRAINER_CASES)
def test_ranks_train_on_different_samples_and_keep_the_same_weights(two_ranks, case):
    rank0, rank1 = (results[case] for results in two_ranks)
    assert not torch.equal(rank0["latents"], rank1["latents"])
    for key, value in rank0["parameters"].items():
        assert torch.equal(value, rank1["parameters"][key]), key


@pytest.mark.parametrize("case", TRAINER_CASES)
def test_a_refusal_on_one_rank_is_taken_by_both(two_ranks, case):
    rank0, rank1 = (results[case] for results in two_ranks)
    assert len(rank0["recoveries"]) == 1
    assert len(rank1["recoveries"]) == 1
    same = [
        {k: v for k, v in e[0].items() if k != "time"}
        for e in (rank0["recoveries"], rank1["recoveries"])
    ]
    assert same[0] == same[1] and "loss" not in same[0]  # which rank's loss was bad is unknown
    # The logged means are the ranks' means: the same record on both.
    steps = [[r["step"] for r in results["records"]] for results in (rank0, rank1)]
    assert steps[0] == steps[1]
    assert [r["loss_d"] for r in rank0["records"]] == [r["loss_d"] for r in rank1["records"]]


# ---------------------------------------------------------------------- torchrun
SHORT_RUN = [
    "--dataset",
    "ring8",
    "--seed",
    "1",
    "--batch-size",
    "64",
    "--threads",
    "1",
    "--set",
    "g_hidden=32",
    "--set",
    "d_hidden=32",
    "--set",
    "toy_samples=2000",
    "--set",
    "log_every=10",
    "--set",
    "eval_every=50",
    "--set",
    "checkpoint_every=50",
    "--set",
    "sample_every=50",
]


def torchrun_command(args: list[str], script: Path | None = None) -> list[str]:
    """`ganviz train ...` in two gloo processes, as a user starts it (or through `script`, a
    Python file that runs the command line it is given)."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        *(["-m", "ganviz_gui"] if script is None else [str(script)]),
        "train",
        *args,
    ]


def torchrun_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env["GANVIZ_HOME"] = str(home)
    env["PYTHONPATH"] = str(PROJECT)  # for a script: its own folder is first on its path
    return env


def torchrun(
    args: list[str], home: Path, timeout: float = 120, script: Path | None = None
) -> subprocess.CompletedProcess:
    ran = subprocess.run(
        torchrun_command(args, script),
        cwd=PROJECT,
        env=torchrun_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    return ran


# `ganviz train` as torchrun starts it, with an atexit function that says if Python shut down.
WORKER_THAT_ENDS = """
import atexit, os, sys
from ganviz_gui.cli import main
atexit.register(lambda: print("python shut down", flush=True))
print(f"rank {os.environ['RANK']} started", end="")  # no newline: left in the buffer
sys.exit(main(sys.argv[1:]))
"""


def test_a_torchrun_worker_ends_without_pythons_shutdown(tmp_path):
    """Python's shutdown could abort a worker after a good run (SIGABRT: gloo's threads free
    a collective's tensors once Python can no longer give them the GIL), failing the job:
    `ganviz train` ends a worker before it, its output kept, its run closed. A process that
    joined no group (this one) carries on."""
    assert not distributed._joined_a_group  # else the call below would end pytest itself
    end_worker_process(0)
    script = tmp_path / "worker.py"
    script.write_text(WORKER_THAT_ENDS)
    ran = torchrun([*SHORT_RUN, "--steps", "20"], tmp_path, script=script)
    assert "rank 0 started" in ran.stdout and "rank 1 started" in ran.stdout
    assert "finished at step 20" in ran.stdout
    assert "python shut down" not in ran.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert read_jsonl(run_dir / "events.jsonl")[-1]["kind"] == "closed"


@pytest.fixture(scope="module")
def torchrun_home(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    home = tmp_path_factory.mktemp("torchrun_home")
    return home, torchrun([*SHORT_RUN, "--steps", "100"], home)


def test_torchrun_writes_one_run_folder_from_rank_0(torchrun_home):
    home, ran = torchrun_home
    runs = list((home / "runs").iterdir())
    assert len(runs) == 1, runs  # another rank writing would have made a second folder
    run = runs[0]
    assert ran.stdout.count("run folder:") == 1 and "finished at step 100" in ran.stdout
    started = [e for e in read_jsonl(run / "events.jsonl") if e["kind"] == "started"]
    assert len(started) == 1
    assert started[0]["world_size"] == 2 and started[0]["backend"] == "gloo"
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl")]
    assert steps == list(range(10, 101, 10))  # one writer: no record twice
    checkpoints = list_checkpoints(run)
    assert [step for step, _ in checkpoints] == [50, 100]
    checkpoint = load_checkpoint(checkpoints[-1][1])
    assert checkpoint.state["step"] == 100 and checkpoint.config.batch_size == 64
    generator = checkpoint.build_generator("ema")
    assert generator(torch.zeros(3, checkpoint.config.latent_dim)).shape == (3, 2)


def test_resume_under_torchrun_continues_the_step_count(torchrun_home, tmp_path):
    home, _ = torchrun_home
    (run,) = (home / "runs").iterdir()
    first_last = read_jsonl(run / "metrics.jsonl")[-1]["step"]
    checkpoint = run / "checkpoints" / "step_00000100.pt"
    torchrun(["--resume", str(checkpoint), "--steps", "150"], home)
    assert len(list((home / "runs").iterdir())) == 1
    steps = [r["step"] for r in read_jsonl(run / "metrics.jsonl")]
    assert steps[-1] == 150 > first_last and steps == list(range(10, 151, 10))
    resumed = [e for e in read_jsonl(run / "events.jsonl") if e["kind"] == "resumed"]
    assert len(resumed) == 1 and resumed[0]["step"] == 100 and resumed[0]["world_size"] == 2


def test_sigterm_to_torchrun_stops_the_run_with_a_checkpoint(tmp_path):
    """torchrun stops its workers with SIGTERM (Ctrl+C, a failed peer, a preempted job)."""
    started = subprocess.Popen(
        torchrun_command([*SHORT_RUN, "--steps", "100000"]),
        cwd=PROJECT,
        env=torchrun_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("runs/*/metrics.jsonl")) or not read_jsonl(
            next(tmp_path.glob("runs/*/metrics.jsonl"))
        ):
            assert started.poll() is None and time.monotonic() < deadline, "no records came"
            time.sleep(0.2)
        started.terminate()
        assert started.wait(timeout=60) != 0  # a stopped run is not a finished one
    finally:
        started.kill()
    (run,) = (tmp_path / "runs").iterdir()
    closed = read_jsonl(run / "events.jsonl")[-1]
    assert closed["kind"] == "closed" and closed["reason"] == "interrupted"
    step, path = list_checkpoints(run)[-1]
    assert step == closed["step"] and load_checkpoint(path).state["step"] == step


@pytest.mark.slow
def test_two_processes_learn_ring8(tmp_path):
    """The raw generator (what the quality records measure) must hold most modes at the end.

    Two-timescale rates keep the raw generator from hopping between modes: with the 2D
    defaults (both at 1e-3) its coverage swung between 0 and 8 from one record to the next.
    Measured in one process with the same global batch of 512, seeds 0 to 5 at 3,500 steps:
    five ended on 8 of 8, one held a single mode. Under torchrun on this CPU the run is
    deterministic; seed 1 covers 8 from step 2,400 on. 45 to 80 s on 2 shared cores.
    """
    settings = ["--batch-size", "256", "--lr-g", "2e-4", "--lr-d", "1e-3", "--threads", "1"]
    ring8 = ["--dataset", "ring8", "--steps", "3000", "--seed", "1", "--set", "stats_every=0"]
    torchrun([*ring8, *settings], tmp_path, timeout=400)
    (run,) = (tmp_path / "runs").iterdir()
    quality = [r for r in read_jsonl(run / "metrics.jsonl") if "modes_covered" in r]
    assert quality[-1]["step"] == 3000 and quality[-1]["modes_covered"] >= 6, quality[-1]
