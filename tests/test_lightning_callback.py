"""`GANVizCallback`: a LightningModule GAN trained by Lightning's Trainer logs a run folder.

The GAN is written the way Lightning's own GAN example is (MLP networks, D ending in a
sigmoid, manual optimization of [opt_g, opt_d]) on 16x16 random images. No Qt is imported.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ganviz_gui.core.inspection import open_path
from ganviz_gui.core.run_folder import list_checkpoints, list_sample_pictures, read_jsonl
from ganviz_gui.lightning import GANVizCallback

pytestmark = [
    # torch 2.13 marks TorchScript as deprecated; Run makes its programs with it on purpose.
    pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"),
    # Lightning's advice for real training (more dataloader workers, a logger for hparams).
    pytest.mark.filterwarnings("ignore::lightning.fabric.utilities.warnings.PossibleUserWarning"),
    # Lightning 2.6's own use of a torch.utils._pytree name torch 2.13 deprecates.
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated"),
]
REPO = Path(__file__).resolve().parents[1]
IMAGE_SHAPE = (1, 16, 16)
LATENT = 8
BATCH = 8
IMAGES = 64  # 8 batches an epoch


class Generator(nn.Module):
    def __init__(self, latent_dim: int = LATENT):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(latent_dim, 64),
            nn.LeakyReLU(0.2),
            nn.Linear(64, 64),
            nn.BatchNorm1d(64),
            nn.LeakyReLU(0.2),
            nn.Linear(64, 16 * 16),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(z.size(0), *IMAGE_SHAPE)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 16, 64),
            nn.LeakyReLU(0.2),
            nn.Linear(64, 1),
            nn.Sigmoid(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)


class GAN(L.LightningModule):
    """D and G updated once per batch by hand, G first, as in Lightning's GAN example.

    g_every: update (and log) G on every g_every-th batch only. fail_at: raise in
    training_step at that batch. optimizers_reversed: return [opt_d, opt_g].
    """

    def __init__(
        self,
        lr_g: float = 2e-3,
        lr_d: float = 1e-3,
        g_every: int = 1,
        fail_at: int | None = None,
        optimizers_reversed: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = Generator()
        self.discriminator = Discriminator()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def training_step(self, batch, batch_idx):
        if batch_idx == self.hparams.fail_at:
            raise RuntimeError(f"the loss went wrong at batch {batch_idx}\nsecond line")
        (real,) = batch
        opt_g, opt_d = self.optimizers()
        if self.hparams.optimizers_reversed:
            opt_g, opt_d = opt_d, opt_g
        z = torch.randn(real.size(0), LATENT, device=self.device)
        ones = torch.ones(real.size(0), 1, device=self.device)
        zeros = torch.zeros(real.size(0), 1, device=self.device)

        if batch_idx % self.hparams.g_every == 0:
            self.toggle_optimizer(opt_g)
            g_loss = F.binary_cross_entropy(self.discriminator(self(z)), ones)
            self.log("g_loss", g_loss)
            self.manual_backward(g_loss)
            opt_g.step()
            opt_g.zero_grad()
            self.untoggle_optimizer(opt_g)

        self.toggle_optimizer(opt_d)
        d_real = self.discriminator(real)
        d_fake = self.discriminator(self(z).detach())
        d_loss = (F.binary_cross_entropy(d_real, ones) + F.binary_cross_entropy(d_fake, zeros)) / 2
        # On step and on epoch: Lightning also makes d_loss_step and d_loss_epoch of it.
        self.log("d_loss", d_loss, on_step=True, on_epoch=True)
        self.log("D(x)", d_real.mean())
        self.log("realism", d_fake.mean())  # no GANViz quantity: kept under its own name
        self.manual_backward(d_loss)
        opt_d.step()
        opt_d.zero_grad()
        self.untoggle_optimizer(opt_d)

    def configure_optimizers(self):
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=self.hparams.lr_d)
        optimizers = [opt_d, opt_g] if self.hparams.optimizers_reversed else [opt_g, opt_d]
        return optimizers, []

    def train_dataloader(self):
        images = torch.rand(IMAGES, *IMAGE_SHAPE, generator=torch.Generator().manual_seed(0))
        return DataLoader(TensorDataset(images * 2 - 1), batch_size=BATCH)


def make_trainer(root: Path, batches: int, callbacks: list, **settings) -> L.Trainer:
    """A quiet CPU trainer for `batches` batches. max_steps counts optimizer steps: two per
    batch here (a G step every g_every-th batch and a D step every batch)."""
    g_every = settings.pop("g_every", 1)
    optimizer_steps = batches + (batches + g_every - 1) // g_every
    options = {
        "accelerator": "cpu",
        "devices": 1,
        "max_steps": optimizer_steps,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "default_root_dir": root,
        "callbacks": callbacks,
        **settings,
    }
    return L.Trainer(**options)


def train(run_dir: Path | None, root: Path, batches: int = 20, **options) -> GAN:
    module_options = {
        name: options.pop(name)
        for name in ("g_every", "fail_at", "optimizers_reversed")
        if name in options
    }
    torch.manual_seed(0)
    gan = GAN(**module_options)
    callback_options = {"sample_every": 10, "stats_every": 5, **options.pop("callback", {})}
    callback = GANVizCallback(run_dir, **callback_options)
    callbacks = [callback, *options.pop("callbacks", [])]
    g_every = module_options.get("g_every", 1)
    trainer = make_trainer(root, batches, callbacks, g_every=g_every, **options)
    trainer.fit(gan)
    gan.trainer_used, gan.callback = trainer, callback
    return gan


def test_a_lightning_gan_logs_losses_samples_and_a_checkpoint_that_reproduces_g(tmp_path):
    run_dir = tmp_path / "run"
    gan = train(run_dir, tmp_path, batches=20, callback={"checkpoint_every": 8})

    # One record per training batch, steps 0..19 across three epochs; global_step counted
    # the 40 optimizer steps.
    assert gan.trainer_used.global_step == 40
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    assert [record["step"] for record in metrics] == list(range(20))
    for record in metrics:
        assert {"loss_g", "loss_d", "d_real", "realism", "lr_g", "lr_d"} <= set(record)
        assert not {"d_loss", "d_loss_step", "d_loss_epoch", "g_loss", "D(x)"} & set(record)
    assert metrics[0]["lr_g"] == pytest.approx(2e-3) and metrics[0]["lr_d"] == pytest.approx(1e-3)

    config = (run_dir / "config.json").read_text()
    assert '"lr_g": 0.002' in config  # the module's hparams
    assert [step for step, _ in list_sample_pictures(run_dir)] == [0, 10, 19]
    assert [step for step, _ in list_checkpoints(run_dir)] == [8, 16, 19]
    stats = read_jsonl(run_dir / "network_stats.jsonl")
    assert [record["step"] for record in stats] == [0, 5, 10, 15]
    assert stats[1]["generator"][0]["grad_norm"] > 0
    events = read_jsonl(run_dir / "events.jsonl")
    assert events[0]["kind"] == "started"
    assert events[-1] == {**events[-1], "kind": "closed", "reason": "finished", "step": 19}

    opened = open_path(run_dir, trust=True)
    assert opened.generator.step == 19 and opened.generator.latent_dim == LATENT
    noise = opened.generator.fixed_noise
    generator = gan.generator.eval()
    with torch.no_grad():
        expected = generator(noise)
        got = opened.generator.build_generator()(noise)
    assert got.shape == (64, *IMAGE_SHAPE)
    assert (got - expected).abs().max() < 1e-5


def test_a_value_logged_on_some_batches_only_is_absent_from_the_others(tmp_path):
    run_dir = tmp_path / "run"
    train(run_dir, tmp_path, batches=8, g_every=3)
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    assert [record["step"] for record in metrics] == list(range(8))
    assert [record["step"] for record in metrics if "loss_g" in record] == [0, 3, 6]
    assert all("loss_d" in record for record in metrics)


def test_learning_rates_follow_the_parameters_each_optimizer_steps(tmp_path):
    run_dir = tmp_path / "run"
    train(run_dir, tmp_path, batches=2, optimizers_reversed=True)
    first = read_jsonl(run_dir / "metrics.jsonl")[0]
    assert first["lr_g"] == pytest.approx(2e-3) and first["lr_d"] == pytest.approx(1e-3)


class LogsItsOwnLearningRate(GAN):
    def training_step(self, batch, batch_idx):
        super().training_step(batch, batch_idx)
        self.log("generator_lr", 0.5)


def test_a_learning_rate_the_module_logs_itself_wins(tmp_path):
    run_dir = tmp_path / "run"
    callback = GANVizCallback(run_dir, stats_every=0)
    make_trainer(tmp_path, 2, [callback]).fit(LogsItsOwnLearningRate())
    records = read_jsonl(run_dir / "metrics.jsonl")
    assert [record["lr_g"] for record in records] == [0.5, 0.5]
    assert "generator_lr" not in records[0] and records[0]["lr_d"] == pytest.approx(1e-3)


class Unnamed(GAN):
    """Its generator under a name GANViz does not guess."""

    def __init__(self):
        super().__init__()
        self.painter = self.generator
        del self.generator

    def configure_optimizers(self):
        opt_g = torch.optim.Adam(self.painter.parameters())
        return [opt_g, torch.optim.Adam(self.discriminator.parameters())], []


def test_a_module_without_a_known_generator_attribute_is_refused_by_name(tmp_path):
    callback = GANVizCallback(tmp_path / "run")
    trainer = make_trainer(tmp_path, 2, [callback])
    with pytest.raises(AttributeError) as refused:
        trainer.fit(Unnamed())
    message = str(refused.value)
    assert "Unnamed has no generator" in message
    assert "generator, G, netG, gen" in message and "GANVizCallback(generator=" in message
    assert not (tmp_path / "run").exists()


def test_an_exception_in_training_step_closes_the_run_with_the_error(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="went wrong"):
        train(run_dir, tmp_path, batches=10, fail_at=4)
    closed = read_jsonl(run_dir / "events.jsonl")[-1]
    assert closed["kind"] == "closed" and closed["step"] == 3
    assert closed["reason"] == "error: RuntimeError: the loss went wrong at batch 4"
    assert [step for step, _ in list_checkpoints(run_dir)] == [3]  # close saves the last one


def test_ctrl_c_closes_the_run_as_interrupted(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"

    class CtrlC(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == 2:
                raise KeyboardInterrupt

    sigint = signal.getsignal(signal.SIGINT)
    try:  # Lightning shuts down gracefully, ignoring further Ctrl+C, then exits
        with pytest.raises(SystemExit):
            train(run_dir, tmp_path, batches=5, callbacks=[CtrlC()], callback={})
    finally:
        signal.signal(signal.SIGINT, sigint)
    closed = read_jsonl(run_dir / "events.jsonl")[-1]
    assert closed["kind"] == "closed" and closed["reason"] == "interrupted"


def test_without_a_path_the_run_goes_under_the_trainers_log_dir(tmp_path, caplog):
    from lightning.pytorch.loggers import TensorBoardLogger

    logger = TensorBoardLogger(tmp_path / "logs", name="gan")
    with caplog.at_level("INFO"):
        train(None, tmp_path, batches=2, logger=logger)
    run_dir = tmp_path / "logs" / "gan" / "version_0" / "ganviz"
    assert read_jsonl(run_dir / "events.jsonl")[-1]["reason"] == "finished"
    assert f"GANViz: logging the run to {run_dir}" in caplog.text

    # Without a logger: default_root_dir, and a fresh folder for each fit.
    train(None, tmp_path / "root", batches=1)
    train(None, tmp_path / "root", batches=1)
    assert (tmp_path / "root" / "ganviz" / "config.json").is_file()
    assert (tmp_path / "root" / "ganviz_1" / "config.json").is_file()


def test_without_lightning_the_import_error_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "ganviz_gui.lightning")
    for name in [name for name in sys.modules if name.split(".")[0] == "lightning"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: not importable
    monkeypatch.setitem(sys.modules, "lightning", None)
    with pytest.raises(ImportError, match=r'pip install "ganviz\[lightning\]"'):
        importlib.import_module("ganviz_gui.lightning")


# Two CPU processes under Lightning's "ddp" strategy (gloo). Lightning starts rank 1 by running
# this script again, so it runs as a script of its own rather than inside pytest. Each backward
# pass of a GAN leaves one network's parameters out (D's, frozen, in G's; G's, behind detached
# fakes, in D's): DDP must be told to look for unused parameters.
DDP_SCRIPT = """
import sys, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {repo!r})
import lightning as L
import torch
from ganviz_gui.lightning import GANVizCallback
from tests.test_lightning_callback import GAN, make_trainer

class RankedGAN(GAN):
    def training_step(self, batch, batch_idx):
        super().training_step(batch, batch_idx)
        self.log("rank", float(self.global_rank))

class RankCheck(L.Callback):
    def on_train_end(self, trainer, pl_module):
        ganviz = trainer.callbacks[0]
        assert ganviz.run.is_writer == (trainer.global_rank == 0), trainer.global_rank
        print(f"rank {{trainer.global_rank}} of {{trainer.world_size}}: ok", flush=True)

torch.manual_seed(0)
callback = GANVizCallback({run_dir!r}, sample_every=2, stats_every=2, reduce=True)
trainer = make_trainer(
    {root!r}, 4, [callback, RankCheck()], strategy="ddp_find_unused_parameters_true", devices=2
)
trainer.fit(RankedGAN())

# Again into the same folder: rank 0 refuses it, and every rank stops.
again = make_trainer(
    {root!r}, 4, [GANVizCallback({run_dir!r})], strategy="ddp_find_unused_parameters_true", devices=2
)
try:
    again.fit(RankedGAN())
except Exception as error:
    print(f"rank {{again.global_rank}} refused: {{type(error).__name__}}: {{error}}", flush=True)
# As a DDP script should end: a process group left to exit with the interpreter sometimes
# aborted in gloo's teardown ("terminate called without an active exception", exit -6).
if torch.distributed.is_initialized():
    torch.distributed.destroy_process_group()
"""


# 17-20 s on two shared cores, nearly all of it the two processes importing torch and Lightning.
def test_ddp_on_two_cpu_processes_writes_one_run_from_rank_zero_with_reduced_values(tmp_path):
    run_dir = tmp_path / "run"
    script = tmp_path / "ddp_gan.py"
    script.write_text(DDP_SCRIPT.format(repo=str(REPO), run_dir=str(run_dir), root=str(tmp_path)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    ran = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "rank 0 of 2: ok" in ran.stdout and "rank 1 of 2: ok" in ran.stdout
    assert "rank 0 refused: FileExistsError" in ran.stdout
    assert "rank 1 refused: RuntimeError: GANVizCallback: the run could not start" in ran.stdout
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    # Each rank trains 4 batches of its half of the data.
    assert [record["step"] for record in metrics] == [0, 1, 2, 3]
    assert all({"loss_g", "loss_d", "lr_g", "lr_d"} <= set(record) for record in metrics)
    # Rank 0 logs 0, rank 1 logs 1: reduce=True writes their mean.
    assert {record["rank"] for record in metrics} == {0.5}
    events = read_jsonl(run_dir / "events.jsonl")
    assert events[0]["world_size"] == 2
    assert events[-1]["kind"] == "closed" and events[-1]["reason"] == "finished"
    assert [step for step, _ in list_checkpoints(run_dir)] == [3]
    assert open_path(run_dir, trust=True).generator.step == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ddp_gan.py", "run"]
