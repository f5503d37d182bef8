"""Trainer throughput against a minimal hand-written GAN loop over the same modules,
optimizers and batches.

The minimal loop is the reference DCGAN step (D on real, D on fake.detach(), G on the same
fake) plus the same EMA update, with nothing else: no metrics, no finiteness checks, no
snapshots. The trainer runs with its default logging (every 10 steps) and, for 2D data, its
coverage metrics (every 100 steps). Runs alternate, and the script prints the median of the
per-pair ratios (trainer steps/s over minimal steps/s); the target is at least 0.95.

    python benchmarks/bench_engine.py [--repeats 11] [--steps 300] [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from ganviz_gui.core.config import TrainingConfig, recommended_settings
from ganviz_gui.core.trainer import Trainer

# name: (settings, fraction of --steps): the 32 px case's steps are ~10x slower, so fewer.
CASES = {
    "ring8 mlp": (dict(dataset="ring8", model="mlp"), 1.0),
    "digits dcgan 8px": (dict(dataset="digits", model="dcgan"), 1.0),
    "digits dcgan 32px": (
        dict(dataset="digits", model="dcgan", image_size=32, g_channels=32, d_channels=32),
        0.25,
    ),
}


def make_trainer(case: dict, device: str) -> Trainer:
    settings = {**recommended_settings(case["dataset"], case["model"]), **case, "device": device}
    settings["r1_weight"] = 0.0  # the minimal loop has no penalty; compare like with like
    settings["sample_every"] = settings["checkpoint_every"] = 10**8
    return Trainer(TrainingConfig(**settings))


def run_trainer(trainer: Trainer, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    _synchronize(trainer.device)
    return steps / (time.perf_counter() - started)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_minimal(trainer: Trainer, steps: int) -> float:
    """The same modules and optimizers, driven by the textbook loop."""
    g, d = trainer.generator, trainer.discriminator
    opt_g, opt_d = trainer.optimizer_g, trainer.optimizer_d
    ema = trainer.generator_ema
    latent, batch = trainer.config.latent_dim, trainer.config.batch_size
    decay = trainer.config.ema_decay
    started = time.perf_counter()
    for _ in range(steps):
        real = trainer.sampler.next()
        fake = g(torch.randn(batch, latent, device=trainer.device))
        real_logits, fake_logits = d(real), d(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out = d(fake)
        loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(ema.parameters()), list(g.parameters()), 1 - decay)
    _synchronize(trainer.device)
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, device {args.device}, {args.threads} thread(s), "
        f"{args.steps} steps x {args.repeats} pairs"
    )
    for name, (case, fraction) in CASES.items():
        steps = max(10, int(args.steps * fraction))
        trainer, minimal = make_trainer(case, args.device), make_trainer(case, args.device)
        run_trainer(trainer, 20), run_minimal(minimal, 20)  # warm-up
        ratios, trainer_rates, minimal_rates = [], [], []
        for repeat in range(args.repeats):
            # Alternate which goes first so drift in machine load does not favour one side.
            if repeat % 2:
                b = run_minimal(minimal, steps)
                a = run_trainer(trainer, steps)
            else:
                a = run_trainer(trainer, steps)
                b = run_minimal(minimal, steps)
            trainer_rates.append(a)
            minimal_rates.append(b)
            ratios.append(a / b)
        print(
            f"{name:>20}: trainer {statistics.median(trainer_rates):7.1f} steps/s, "
            f"minimal {statistics.median(minimal_rates):7.1f} steps/s, "
            f"median ratio {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})"
        )


if __name__ == "__main__":
    main()
