"""`ganviz_gui.Run`: logging a user's own training loop to a run folder every view opens.

The networks here exist only in this file (a Linear first layer, unlike pytorch/examples'
DCGAN), so GANViz cannot recognise them: they open from the TorchScript programs the run
saves, and only when trusted.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from PIL import Image
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from ganviz_gui import Run
from ganviz_gui.core.errors import CheckpointError
from ganviz_gui.core.generator_files import (
    KIND_LOGGED,
    describe_generator_file,
    open_generator_file,
)
from ganviz_gui.core.inspection import open_path
from ganviz_gui.core.live_views import generator_sample_sheet
from ganviz_gui.core.logged_checkpoint import (
    ARCHITECTURE_DCGAN,
    LOGGED_FORMAT,
    OUTPUT_LOGIT,
    OUTPUT_PROBABILITY,
    PROGRAM_FILES,
)
from ganviz_gui.core.network_stats import layer_parameters
from ganviz_gui.core.run_folder import list_checkpoints, list_sample_pictures, read_jsonl
from ganviz_gui.core.run_log_writer import RunLogWriter
from ganviz_gui.core.run_sources import RunFolderSource
from tests.core.test_generator_files import ExamplesDcganGenerator

# torch 2.13 marks TorchScript as deprecated; Run makes its programs with it on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
LATENT = 8
REPO = Path(__file__).resolve().parents[2]


class UserGenerator(nn.Module):
    """DCGAN-like, but GANViz knows nothing of it: a Linear layer lifts z to 4x4 maps."""

    def __init__(self, nz: int = LATENT, channels: int = 1):
        super().__init__()
        self.project = nn.Linear(nz, 32 * 4 * 4)
        self.up = nn.Sequential(
            nn.ConvTranspose2d(32, 16, 4, 2, 1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.ConvTranspose2d(16, channels, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.project(z).view(-1, 32, 4, 4))


class UserDiscriminator(nn.Module):
    """A logit per 16x16 image; `sigmoid=True` ends in a Sigmoid, as the DCGAN example's D."""

    def __init__(self, channels: int = 1, sigmoid: bool = False):
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(channels, 16, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(16, 32, 4, 2, 1),
            nn.BatchNorm2d(32),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, 1),
        ]
        if sigmoid:
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


class PointGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def train(
    run: Run, g: nn.Module, d: nn.Module, steps: int, sigmoid: bool = False, start: int = 0
) -> None:
    """The textbook DCGAN loop (pytorch/examples' order), logging every step."""
    criterion = nn.BCELoss() if sigmoid else nn.BCEWithLogitsLoss()
    opt_g = torch.optim.Adam(g.parameters(), 2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-3, betas=(0.5, 0.999))
    for step in range(start, start + steps):
        real = torch.rand(16, 1, 16, 16) * 2 - 1
        fake = g(torch.randn(16, LATENT))
        d.zero_grad()
        out_real = d(real)
        loss_d = criterion(out_real, torch.ones(16)) + criterion(d(fake.detach()), torch.zeros(16))
        loss_d.backward()
        opt_d.step()
        g.zero_grad()
        out_fake = d(fake)
        loss_g = criterion(out_fake, torch.ones(16))
        loss_g.backward()
        opt_g.step()
        run.log(step, loss_d=loss_d, loss_g=loss_g, d_real=out_real.mean(), lr_g=2e-3)


def networks(sigmoid: bool = False) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    return UserGenerator(), UserDiscriminator(sigmoid=sigmoid)


def logged_run(run_dir: Path, steps: int = 12, sigmoid: bool = False, **settings):
    g, d = networks(sigmoid)
    settings = {
        "stats_every": 5,
        "sample_every": 5,
        "checkpoint_every": 5,
        "keep_checkpoints": 2,
        **settings,
    }
    with Run(run_dir, G=g, D=d, config={"lr": 2e-3, "out": Path("x")}, **settings) as run:
        train(run, g, d, steps, sigmoid)
    return g, d


def test_a_short_loop_writes_the_run_folder_format_and_opens_trusted(tmp_path):
    run_dir = tmp_path / "run"
    g, _ = logged_run(run_dir)

    config = json.loads((run_dir / "config.json").read_text())
    assert config == {"lr": 0.002, "out": "PosixPath('x')"}  # a Path is no JSON: its repr
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    assert [r["step"] for r in metrics] == list(range(12))
    assert {"time", "elapsed", "loss_d", "loss_g", "d_real", "lr_g"} <= set(metrics[0])
    events = read_jsonl(run_dir / "events.jsonl")
    started, closed = events[0], events[-1]
    assert started["kind"] == "started" and started["writer"] == "ganviz_gui.Run"
    assert started["data"] == {"kind": "images", "sample_shape": [1, 16, 16]}
    assert {"device", "app_version", "torch_version"} <= set(started)
    assert closed["kind"] == "closed" and closed["reason"] == "finished" and closed["step"] == 11

    stats = read_jsonl(run_dir / "network_stats.jsonl")
    assert [r["step"] for r in stats] == [0, 5, 10]
    layers = [row["layer"] for row in stats[1]["generator"]]
    assert layers == list(layer_parameters(g))
    row = stats[1]["discriminator"][0]
    assert set(row) == {
        "layer",
        "weight_norm",
        "grad_norm",
        "weight_range",
        "weight_hist",
        "grad_range",
        "grad_hist",
    }
    assert len(row["weight_hist"]) == 32 and row["grad_norm"] > 0

    assert [step for step, _ in list_sample_pictures(run_dir)] == [0, 5, 10, 11]
    picture = np.asarray(Image.open(run_dir / "samples" / "step_00000011.png"))
    assert picture.ndim == 3 and picture.shape[2] == 3
    assert [step for step, _ in list_checkpoints(run_dir)] == [10, 11]  # the newest 2 kept
    for name in PROGRAM_FILES.values():
        assert (run_dir / name).is_file()

    state = torch.load(run_dir / "checkpoints" / "step_00000011.pt", weights_only=True)
    assert state["format"] == LOGGED_FORMAT and state["format_version"] == 1
    assert state["step"] == 11 and state["fixed_noise"].shape == (64, LATENT)
    assert state["data"] == {"kind": "images", "sample_shape": [1, 16, 16]}
    assert state["programs"] == PROGRAM_FILES
    assert state["discriminator_output"] == OUTPUT_LOGIT
    assert state["config"] == {"lr": 0.002, "out": "PosixPath('x')"}
    assert set(state["generator"]) == set(g.state_dict())

    opened = open_path(run_dir, trust=True)
    assert opened.run_dir == run_dir and opened.generator.kind == KIND_LOGGED
    assert opened.generator.step == 11 and opened.generator.latent_dim == LATENT
    assert opened.generator.layers["generator"][0].name == "project"
    with pytest.raises(CheckpointError) as refused:
        open_path(run_dir)
    message = str(refused.value)
    assert "step_00000011.pt" in message and "TorchScript" in message and "trust" in message

    described = describe_generator_file(run_dir / "checkpoints" / "step_00000011.pt")
    assert described["needs_trust"] is True and described["step"] == 11
    assert described["programs"] == {"generator": "present", "discriminator": "present"}
    assert described["generator_parameters"] == sum(p.numel() for p in g.parameters()) + 32 + 1


def test_the_opened_generator_reproduces_the_users_and_d_scores_come_back(tmp_path):
    run_dir = tmp_path / "run"
    g, d = logged_run(run_dir)
    opened = open_generator_file(run_dir / "checkpoints" / "step_00000011.pt", trust=True)
    noise = opened.fixed_noise
    g.eval()
    d.eval()
    with torch.no_grad():
        expected = g(noise)
        expected_scores = torch.sigmoid(d(expected))
        got = opened.build_generator()(noise)
    assert (got - expected).abs().max() < 1e-5
    assert torch.equal(opened.probe_latents(), noise)

    sheet = generator_sample_sheet(opened, 11)
    assert sheet.score_is_probability and sheet.step == 11
    assert np.allclose(sheet.fake_scores, expected_scores.numpy(), atol=1e-5)
    assert sheet.fake_grid.shape == (8 * 17 + 1, 8 * 17 + 1, 3)

    # The sample grid at step 11 is the one the run saved as its PNG (same tiles, enlarged).
    saved = np.asarray(Image.open(run_dir / "samples" / "step_00000011.png").convert("RGB"))
    assert saved.shape[0] % sheet.fake_grid.shape[0] == 0


def test_a_d_ending_in_a_sigmoid_gives_its_own_probabilities(tmp_path):
    run_dir = tmp_path / "run"
    g, d = logged_run(run_dir, sigmoid=True)
    opened = open_generator_file(run_dir / "checkpoints" / "step_00000011.pt", trust=True)
    assert opened.description["discriminator_output"] == OUTPUT_PROBABILITY
    g.eval()
    d.eval()
    with torch.no_grad():
        probabilities = d(g(opened.fixed_noise))
    sheet = generator_sample_sheet(opened, 11)
    assert np.allclose(sheet.fake_scores, probabilities.numpy(), atol=1e-4)


def test_a_pytorch_examples_dcgan_generator_opens_without_trust(tmp_path):
    torch.manual_seed(0)
    g = ExamplesDcganGenerator(nz=LATENT, ngf=4, nc=1)
    with Run(tmp_path / "run", G=g, sample_every=0) as run:
        run.log(0, loss_g=1.0)
    opened = open_path(tmp_path / "run")
    generator = opened.generator
    assert generator.kind == KIND_LOGGED and generator.latent_dim == LATENT
    assert generator.sample_shape == (1, 64, 64) and not generator.has_critic
    g.eval()
    with torch.no_grad():
        expected = g(generator.fixed_noise.reshape(-1, LATENT, 1, 1))
        got = generator.build_generator()(generator.fixed_noise)
    assert (got - expected).abs().max() < 1e-5
    assert describe_generator_file(opened.checkpoints[-1][1])["needs_trust"] is False
    state = torch.load(opened.checkpoints[-1][1], weights_only=True)
    assert state["generator_architecture"] == ARCHITECTURE_DCGAN


class HalvedDcgan(ExamplesDcganGenerator):
    """The example's weights and layout, but another forward: it must not open as the example."""

    def forward(self, z):
        return self.main(z) * 0.5


def test_weights_of_the_dcgan_layout_with_another_forward_open_from_their_program(tmp_path):
    torch.manual_seed(0)
    g = HalvedDcgan(nz=LATENT, ngf=4, nc=1)
    with Run(tmp_path / "run", G=g, sample_every=0) as run:
        run.log(0, loss_g=1.0)
    with pytest.raises(CheckpointError, match="trust"):
        open_path(tmp_path / "run")
    generator = open_path(tmp_path / "run", trust=True).generator
    g.eval()
    with torch.no_grad():
        expected = g(generator.fixed_noise.reshape(-1, LATENT, 1, 1))
        got = generator.build_generator()(generator.fixed_noise)
    assert (got - expected).abs().max() < 1e-5


class ConditionalDiscriminator(UserDiscriminator):
    """A D that wants a label beside the image: it cannot be traced on G's samples alone."""

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1) + label


def test_a_d_that_cannot_be_traced_is_recorded_and_g_still_opens(tmp_path):
    g = UserGenerator()
    with Run(tmp_path / "run", G=g, D=ConditionalDiscriminator()) as run:
        run.log(0, loss_g=1.0)
    failed = [e for e in read_jsonl(tmp_path / "run" / "events.jsonl") if "program" in e["kind"]]
    assert [e["kind"] for e in failed] == ["discriminator_program_failed"]
    assert "trace" in failed[0]["reason"] and "script" in failed[0]["reason"]
    generator = open_path(tmp_path / "run", trust=True).generator
    assert generator.build_generator() is not None and not generator.has_critic
    state = torch.load(list_checkpoints(tmp_path / "run")[-1][1], weights_only=True)
    assert state["programs"] == {"generator": PROGRAM_FILES["generator"], "discriminator": None}


def test_tensors_and_extra_scalars_are_kept_as_given(tmp_path):
    g = UserGenerator()
    with Run(tmp_path / "run", G=g, stats_every=0, sample_every=0) as run:
        weight = torch.tensor([2.5], requires_grad=True)
        loss = (weight * 2).sum()  # requires grad, 0-d
        run.log(
            0,
            loss_g=loss,
            loss_d=torch.tensor([0.25]),
            d_real=np.float32(0.75),
            count=torch.tensor(7),
            my_metric=3,
            fraction=0.5,
            nothing=None,
            grad_norm_g=float("nan"),
        )
        with pytest.raises(ValueError, match="a tensor of 2 values"):
            run.log(1, loss_g=torch.ones(2))
        with pytest.raises(TypeError, match="log numbers"):
            run.log(1, loss_g="high")
        with pytest.raises(ValueError, match="'elapsed' is a field"):
            run.log(1, elapsed=3.0)
    (record,) = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    assert record["loss_g"] == 5.0 and record["loss_d"] == 0.25 and record["d_real"] == 0.75
    assert record["count"] == 7 and isinstance(record["count"], int)
    assert record["my_metric"] == 3 and record["fraction"] == 0.5
    assert "nothing" not in record and record["grad_norm_g"] is None  # JSON has no NaN
    assert list(record)[:3] == ["step", "time", "elapsed"]


def test_the_latent_shape_is_read_from_the_generator_or_given(tmp_path):
    dcgan = ExamplesDcganGenerator(nz=6, ngf=4, nc=1)
    run = Run(tmp_path / "a", G=dcgan, stats_every=0)
    assert run.latent_shape == (6, 1, 1) and run.sample_shape == (1, 64, 64)
    run.close()
    points = PointGenerator()
    points.latent_dim = 4
    run = Run(tmp_path / "b", G=points, stats_every=0)
    assert run.latent_shape == (4,) and run.data == {"kind": "points", "sample_shape": [2]}
    run.log(0, loss_g=1.0)
    run.close()
    assert read_jsonl(tmp_path / "b" / "events.jsonl")[0]["data"]["kind"] == "points"
    picture = np.asarray(Image.open(tmp_path / "b" / "samples" / "step_00000000.png"))
    assert picture.shape == (512, 512, 3)  # a scatter plot of G's points
    opened = open_path(tmp_path / "b", trust=True).generator
    assert opened.sample_shape == (2,) and not opened.is_image

    class Unknown(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 1, 1)

        def forward(self, z):
            return torch.tanh(self.conv(z))

    with pytest.raises(ValueError, match="give latent_shape="):
        Run(tmp_path / "c", G=Unknown())
    run = Run(tmp_path / "d", G=Unknown(), latent_shape=(4, 8, 8), stats_every=0)
    assert run.sample_shape == (1, 8, 8) and run.fixed_noise.shape == (64, 256)
    run.close()
    with pytest.raises(FileExistsError, match="holds a run already"):
        Run(tmp_path / "d", G=Unknown(), latent_shape=(4, 8, 8))


def test_an_exception_inside_the_with_block_is_recorded_and_raised(tmp_path):
    g, d = networks()
    with pytest.raises(RuntimeError, match="boom"), Run(tmp_path / "run", G=g, D=d) as run:
        train(run, g, d, 3)
        raise RuntimeError("boom")
    closed = read_jsonl(tmp_path / "run" / "events.jsonl")[-1]
    assert closed["kind"] == "closed" and closed["step"] == 2
    assert closed["reason"] == "error: RuntimeError: boom"
    assert open_path(tmp_path / "run", trust=True).generator.step == 2  # the closing checkpoint


def test_log_only_queues_the_writing_for_the_writer_thread(tmp_path, monkeypatch):
    writers: set[str] = set()
    append = RunLogWriter._append

    def noting_append(self, name, record):
        writers.add(threading.current_thread().name)
        append(self, name, record)

    monkeypatch.setattr(RunLogWriter, "_append", noting_append)
    g, d = networks()
    run = Run(tmp_path / "run", G=g, D=d, stats_every=1, checkpoint_every=2)
    writer = run._writer
    assert writer is not None
    release = threading.Event()
    writer.submit(release.wait)  # the writer is busy until released
    for step in range(5):
        run.log(step, loss_d=torch.tensor(1.0), loss_g=0.5)
    assert (tmp_path / "run" / "metrics.jsonl").read_bytes() == b""
    assert not list_checkpoints(tmp_path / "run") and not list_sample_pictures(tmp_path / "run")
    release.set()
    run.close()
    assert len(read_jsonl(tmp_path / "run" / "metrics.jsonl")) == 5
    assert len(read_jsonl(tmp_path / "run" / "network_stats.jsonl")) == 5
    assert writers == {"ganviz-run-writer"}


def test_gradients_are_those_each_optimizer_stepped_with(tmp_path):
    g, d = networks()
    run = Run(tmp_path / "run", G=g, D=d, stats_every=4, sample_every=0)
    first_layer = list(d.net[0].parameters())
    at_update: list[float] = []

    def grad_norm() -> float:
        return float(torch.linalg.vector_norm(torch.cat([p.grad.reshape(-1) for p in first_layer])))

    def remember(optimizer, args, kwargs):
        if optimizer.param_groups[0]["params"][0] is first_layer[0]:
            at_update.append(grad_norm())  # what D's update uses

    hook = register_optimizer_step_pre_hook(remember)
    try:
        train(run, g, d, 5)  # steps 0..4: the record of step 4 is taken at its updates
    finally:
        hook.remove()
    at_log = grad_norm()  # D's gradients at log time hold G's backward pass as well
    run.close()
    record = read_jsonl(tmp_path / "run" / "network_stats.jsonl")[1]
    assert record["step"] == 4
    assert record["discriminator"][0]["grad_norm"] == pytest.approx(at_update[-1], rel=1e-5)
    assert at_log != pytest.approx(at_update[-1], rel=1e-3)
    assert record["generator"][0]["grad_norm"] > 0


KILLED_LOOP = """
import sys, time, torch
sys.path.insert(0, {repo!r})
from tests.core.test_run_logger import networks, train
from ganviz_gui import Run
g, d = networks()
run = Run({run_dir!r}, G=g, D=d, stats_every=2, sample_every=3, checkpoint_every=3)
for start in range(0, 10**6, 3):
    train(run, g, d, 3, start=start)
"""


def test_a_run_killed_mid_write_leaves_a_folder_that_opens(tmp_path):
    run_dir = tmp_path / "run"
    script = KILLED_LOOP.format(repo=str(REPO), run_dir=str(run_dir))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(list_checkpoints(run_dir)) < 2:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "no checkpoint within a minute"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    opened = open_path(run_dir, trust=True)
    assert opened.generator.kind == KIND_LOGGED
    delta = RunFolderSource(run_dir, opened.generator).poll()
    assert len(delta.records) > 0 and delta.stats and delta.checkpoints
    assert delta.events[0]["kind"] == "started"
    assert not any(e["kind"] == "closed" for e in delta.events)  # it never got to close


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _distributed_worker(rank: int, world_size: int, port: int, root: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        torch.manual_seed(0)
        run = Run(Path(root) / f"rank{rank}", G=UserGenerator(), stats_every=0)
        assert run.is_writer == (rank == 0)
        for step in range(3):
            own = float(rank * 2 + 1)  # rank 0: 1, rank 1: 3
            run.log(step, reduce=True, loss_g=torch.tensor(own + step), loss_d=own)
        run.log(3, own=float(rank))  # not reduced: rank 0's own value
        run.close()
    finally:
        dist.destroy_process_group()


def test_only_rank_zero_writes_and_reduce_writes_the_mean_over_ranks(tmp_path):
    mp.spawn(_distributed_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    assert not (tmp_path / "rank1").exists()
    records = read_jsonl(tmp_path / "rank0" / "metrics.jsonl")
    assert [r.get("loss_g") for r in records] == [2.0, 3.0, 4.0, None]
    assert [r.get("loss_d") for r in records[:3]] == [2.0, 2.0, 2.0]
    assert records[3]["own"] == 0.0
    assert read_jsonl(tmp_path / "rank0" / "events.jsonl")[0]["world_size"] == 2
