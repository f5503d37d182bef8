"""What logging costs a user's own training loop: none, `ganviz_gui.Run`, and TensorBoard's
`SummaryWriter`, side by side.

The loop is pytorch/examples' dcgan/main.py step (D on real, D on fake.detach(), G on the same
fake; BCELoss on a D that ends in a Sigmoid) on synthetic 32x32 images. `Run` logs the step's
scalars (tensors, as the loop has them) at its default intervals: every step, layer statistics
every 100 steps, a sample grid every 500. `SummaryWriter` logs the same scalars every step and
a grid of the same fixed-noise samples (tiled here, as torchvision's make_grid would) every 500
steps. The three take turns on one set of networks, optimizers and data, so only the logging
differs (networks of their own would train apart, and one's weights can get slower than
another's, denormals say). Each pair runs the three one after another, in an order that
rotates from pair to pair so drift in machine load favours none; each logger's first steps,
untimed, hold its one-off work (folders, G's programs). Printed: each one's median time per
step and the part of it spent in the logger's own call (what the training thread pays
directly, steadier than the difference of two noisy timings), and the medians of the
per-pair ratios. Targets: Run within 2% of no logging, and no slower than SummaryWriter.

    python benchmarks/bench_logging.py [--pairs 5] [--steps 600] [--warm-up 20] [--width 64]
                                       [--threads 1] [--device cpu]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from ganviz_gui import Run

NZ = 100
SAMPLE_EVERY = 500  # Run's default; SummaryWriter's grids at the same steps
SCALARS = ("loss_d", "loss_g", "d_real", "d_fake")


class Generator(nn.Module):
    """pytorch/examples' DCGAN generator, three upsamplings shorter: 32x32 images."""

    def __init__(self, width: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, width * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.ConvTranspose2d(width, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class Discriminator(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width * 4, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1, 1).squeeze(1)


class Loop:
    """One copy of the user's networks, optimizers and data, stepped as the example does."""

    def __init__(self, width: int, batch: int, device: torch.device, seed: int):
        torch.manual_seed(seed)
        self.device = device
        self.netG = Generator(width).to(device)
        self.netD = Discriminator(width).to(device)
        self.opt_g = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.criterion = nn.BCELoss()
        # Synthetic "real" images, a fixed pool cycled through: loading is not what is timed.
        self.pool = torch.tanh(torch.randn(8, batch, 3, 32, 32, device=device))
        self.batch = batch
        self.real_label = torch.full((batch,), 1.0, device=device)
        self.fake_label = torch.full((batch,), 0.0, device=device)
        self.step_count = 0

    def step(self) -> dict[str, torch.Tensor]:
        real = self.pool[self.step_count % len(self.pool)]
        self.step_count += 1
        self.netD.zero_grad()
        output = self.netD(real)
        err_d_real = self.criterion(output, self.real_label)
        err_d_real.backward()
        d_x = output.mean()
        fake = self.netG(torch.randn(self.batch, NZ, 1, 1, device=self.device))
        output = self.netD(fake.detach())
        err_d_fake = self.criterion(output, self.fake_label)
        err_d_fake.backward()
        d_g_z1 = output.mean()
        err_d = err_d_real + err_d_fake
        self.opt_d.step()
        self.netG.zero_grad()
        output = self.netD(fake)
        err_g = self.criterion(output, self.real_label)
        err_g.backward()
        self.opt_g.step()
        return dict(zip(SCALARS, (err_d, err_g, d_x, d_g_z1), strict=True))


class NoLogging:
    name = "none"

    def start(self, loop: Loop, folder: Path) -> None:
        pass

    def log(self, step: int, scalars: dict[str, torch.Tensor]) -> None:
        pass

    def close(self) -> None:
        pass


class GanvizLogging:
    name = "Run"

    def start(self, loop: Loop, folder: Path) -> None:
        self.run = Run(folder, G=loop.netG, D=loop.netD, config={"lr": 2e-4, "nz": NZ})

    def log(self, step: int, scalars: dict[str, torch.Tensor]) -> None:
        self.run.log(step, **scalars)

    def close(self) -> None:
        self.run.close()


class TensorBoardLogging:
    """What a user writes with SummaryWriter: the scalars each step, a grid every 500 steps."""

    name = "SummaryWriter"

    def start(self, loop: Loop, folder: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.loop = loop
        self.writer = SummaryWriter(str(folder))
        generator = torch.Generator().manual_seed(0)
        self.fixed_noise = torch.randn(64, NZ, 1, 1, generator=generator).to(loop.device)

    def log(self, step: int, scalars: dict[str, torch.Tensor]) -> None:
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, step)
        if step % SAMPLE_EVERY == 0:
            generator = self.loop.netG
            was_training = generator.training
            generator.eval()
            with torch.no_grad():
                samples = generator(self.fixed_noise)
            generator.train(was_training)
            self.writer.add_image("samples", tile(samples.cpu()), step)

    def close(self) -> None:
        self.writer.close()


def tile(images: torch.Tensor, padding: int = 2) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] -> one (C, rows*(H+p)+p, cols*(W+p)+p) picture in [0, 1]."""
    n, c, h, w = images.shape
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = torch.zeros(c, rows * (h + padding) + padding, columns * (w + padding) + padding)
    for index in range(n):
        row, column = divmod(index, columns)
        top, left = padding + row * (h + padding), padding + column * (w + padding)
        grid[:, top : top + h, left : left + w] = (images[index] + 1) / 2
    return grid


def timed_run(
    logger, loop: Loop, folder: Path, steps: int, warm_up: int
) -> tuple[float, float, float]:
    """(seconds per step over `steps` steps after `warm_up` untimed ones, of them the seconds
    per step spent in the logger's log call, seconds to close)."""
    logger.start(loop, folder)
    for step in range(warm_up):
        logger.log(step, loop.step())
    _synchronize(loop.device)
    in_log = 0.0
    started = time.perf_counter()
    for step in range(warm_up, warm_up + steps):
        scalars = loop.step()
        called = time.perf_counter()
        logger.log(step, scalars)
        in_log += time.perf_counter() - called
    _synchronize(loop.device)
    per_step = (time.perf_counter() - started) / steps
    started = time.perf_counter()
    logger.close()
    return per_step, in_log / steps, time.perf_counter() - started


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5, help="rounds of the three loops")
    parser.add_argument("--steps", type=int, default=600, help="timed steps of each loop")
    parser.add_argument("--warm-up", type=int, default=20, help="untimed steps before them")
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"torch {torch.__version__}, device {device}, {args.threads} thread(s), DCGAN 32x32 "
        f"width {args.width}, batch {args.batch}, {args.steps} steps (+{args.warm_up} warm-up) "
        f"x {args.pairs} pairs"
    )
    loggers = [NoLogging(), GanvizLogging(), TensorBoardLogging()]
    loop = Loop(args.width, args.batch, device, seed=0)
    for _ in range(3):  # warm the kernels and the allocator once
        loop.step()
    per_step: dict[str, list[float]] = {logger.name: [] for logger in loggers}
    in_log: dict[str, list[float]] = {logger.name: [] for logger in loggers}
    closing: dict[str, list[float]] = {logger.name: [] for logger in loggers}
    with tempfile.TemporaryDirectory(prefix="ganviz-bench-logging-") as scratch:
        for pair in range(args.pairs):
            order = loggers[pair % 3 :] + loggers[: pair % 3]
            for logger in order:
                folder = Path(scratch) / f"{logger.name}-{pair}"
                seconds, logging, closed = timed_run(logger, loop, folder, args.steps, args.warm_up)
                per_step[logger.name].append(seconds)
                in_log[logger.name].append(logging)
                closing[logger.name].append(closed)
    for name, times in per_step.items():
        shares = [logging / step for logging, step in zip(in_log[name], times, strict=True)]
        print(
            f"{name:>14}: {statistics.median(times) * 1000:8.2f} ms/step "
            f"(min {min(times) * 1000:.2f}, max {max(times) * 1000:.2f}); in its log call "
            f"{statistics.median(in_log[name]) * 1e6:7.1f} us/step = "
            f"{statistics.median(shares):.3%} of the step; "
            f"close {statistics.median(closing[name]):.2f} s"
        )
    for a, b in (("Run", "none"), ("SummaryWriter", "none"), ("Run", "SummaryWriter")):
        ratios = [x / y for x, y in zip(per_step[a], per_step[b], strict=True)]
        print(
            f"{a + ' / ' + b:>28}: median {statistics.median(ratios):.4f} "
            f"(min {min(ratios):.4f}, max {max(ratios):.4f})"
        )


if __name__ == "__main__":
    main()
