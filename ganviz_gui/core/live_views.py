"""What the live window shows, computed from a trainer as plain numpy (no Qt).

The GUI's training thread calls these between steps and sends the results across; the
paint code only draws them. Keeping them here lets tests check the numbers without a window.

- `sample_sheet`: the fixed-noise grid from the EMA generator and a grid of real samples,
  tiled to uint8, with D's verdict on every tile.
- `PlaneField`: for 2D data, the views GAN Lab made famous: D's output over the plane, real
  and generated points, the image of a latent grid under G (the generator's manifold), and the
  direction G's own gradient would move each generated point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ganviz_gui.core.checkpoint import Checkpoint
from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import to_model_space
from ganviz_gui.core.evaluation import decode, run_in_eval
from ganviz_gui.core.losses import PROBABILISTIC_LOSSES, d_outputs, g_loss
from ganviz_gui.core.sample_images import image_grid
from ganviz_gui.core.trainer import Trainer

if TYPE_CHECKING:
    from ganviz_gui.core.generator_files import GeneratorFile

GRID_PADDING = 1
CPU = torch.device("cpu")
# The real samples shown beside a run's generated ones are drawn with the run's seed + this
# (the trainer's own random streams take seed + 1 to seed + 5).
REAL_SAMPLES_SEED_OFFSET = 6


@dataclass
class SampleSheet:
    fake_grid: np.ndarray  # (H, W, 3) uint8: the fixed-noise samples of the EMA generator
    real_grid: np.ndarray | None  # (H, W, 3) uint8: as many real samples (None: not at hand)
    fake_scores: np.ndarray  # (N,) D's output on each generated sample
    real_scores: np.ndarray | None  # (N,) D's output on each real sample
    columns: int
    tile: tuple[int, int]  # (height, width) of one sample in pixels
    padding: int
    step: int
    score_is_probability: bool  # D(x) in [0, 1]; otherwise a raw critic score
    # What the grid shows, for its caption: the fixed-noise samples of a generator, or a
    # picture a run wrote (whose samples carry neither latents nor D's verdicts).
    caption: str = "generated (EMA)"

    def tile_at(self, x: float, y: float) -> int | None:
        """Index of the sample under pixel (x, y) of a grid, or None on padding/outside."""
        h, w = self.tile
        col, col_off = divmod(math.floor(x) - self.padding, w + self.padding)
        row, row_off = divmod(math.floor(y) - self.padding, h + self.padding)
        if x < 0 or y < 0 or col_off >= w or row_off >= h or col >= self.columns:
            return None
        index = row * self.columns + col
        return index if 0 <= index < len(self.fake_scores) else None

    def tile_picture(self, grid: np.ndarray, index: int) -> np.ndarray:
        """One sample cut out of a grid, (h, w, 3) uint8."""
        h, w = self.tile
        row, col = divmod(index, self.columns)
        top = self.padding + row * (h + self.padding)
        left = self.padding + col * (w + self.padding)
        return grid[top : top + h, left : left + w].copy()


def real_batch(data: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n samples of a data set's `data` chosen once (seeded), kept as the data set stores them.
    The first n of a longer batch of the same seed: asking for fewer picks a prefix."""
    index = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    return data[index]


def run_real_samples(data: torch.Tensor, config: TrainingConfig, n: int) -> torch.Tensor:
    """The real samples a run's sample grid shows beside its generated ones, as the data set
    stores them: the same ones while it trains (core.live_loop) and once it is opened
    (core.inspection.real_samples_of_run), drawn with the run's seed + REAL_SAMPLES_SEED_OFFSET."""
    return real_batch(data, n, config.seed + REAL_SAMPLES_SEED_OFFSET)


def real_samples_fit(sheet: SampleSheet, real: np.ndarray) -> bool:
    """`real` ((N, C, H, W)) can be tiled beside `sheet`'s samples: the sheet has samples to
    pair them with (not a picture a run wrote), of the same height and width."""
    return len(sheet.fake_scores) > 0 and tuple(real.shape[2:]) == tuple(sheet.tile)


def add_real_samples(
    sheet: SampleSheet, real: np.ndarray, score: Callable[[torch.Tensor], np.ndarray] | None
) -> SampleSheet:
    """`sheet` with `real` (model space, (N, C, H, W) float32) tiled beside its samples, on the
    same grid, each with `score`'s verdict (D's; NaN where there is no D). Samples that do not
    fit (`real_samples_fit`) are left out: the sheet as it is."""
    if not real_samples_fit(sheet, real):
        return sheet
    real = real[: len(sheet.fake_scores)]
    if score is None:
        scores = np.full(len(real), np.nan, dtype=np.float32)
    else:
        scores = score(torch.tensor(real))  # a copy: the caller's array is never shared
    grid = image_grid(real, sheet.columns, sheet.padding)
    return replace(sheet, real_grid=grid, real_scores=scores)


def sample_sheet(trainer: Trainer, real: torch.Tensor) -> SampleSheet:
    """The fixed-noise samples (EMA generator) and `real`, tiled, with D's output on each."""
    return LiveSamples(trainer, real).sheet()


class LiveSamples:
    """The live sample grid of one trainer: `sheet()` is what the training thread pays for
    each refresh, so what never changes (the real samples in model space, their tiled grid)
    is prepared once, and D judges the generated and the real samples in one batch."""

    def __init__(self, trainer: Trainer, real: torch.Tensor):
        self.trainer = trainer
        self.real = to_model_space(real).float()  # (N, C, H, W) in [-1, 1]
        self._real_grid: np.ndarray | None = None  # tiled on the first sheet (its columns)

    def sheet(self) -> SampleSheet:
        trainer = self.trainer
        fake = trainer.fixed_samples()  # (N, C, H, W) in [-1, 1]
        # One D pass over both (eval mode: no sample sees another): one launch, not two.
        scores = discriminator_outputs(trainer, torch.cat([torch.from_numpy(fake), self.real]))
        sheet = _sheet(
            fake, scores[: len(fake)], None, None, trainer.step_count, trainer.config.loss
        )
        if self._real_grid is None:
            self._real_grid = image_grid(self.real.numpy(), sheet.columns, sheet.padding)
        return replace(sheet, real_grid=self._real_grid, real_scores=scores[len(fake) :])


def _sheet(
    fake: np.ndarray,
    fake_scores: np.ndarray,
    real: np.ndarray | None,
    real_scores: np.ndarray | None,
    step: int,
    loss: str,
) -> SampleSheet:
    """Tile (N, C, H, W) samples in [-1, 1] into a sheet, real ones (if any) on the same grid."""
    columns = math.ceil(math.sqrt(len(fake)))
    return SampleSheet(
        fake_grid=image_grid(fake, columns, GRID_PADDING),
        real_grid=None if real is None else image_grid(real, columns, GRID_PADDING),
        fake_scores=fake_scores,
        real_scores=real_scores,
        columns=columns,
        tile=(int(fake.shape[2]), int(fake.shape[3])),
        padding=GRID_PADDING,
        step=step,
        score_is_probability=loss in PROBABILISTIC_LOSSES,
    )


def discriminator_outputs(trainer: Trainer, samples: torch.Tensor) -> np.ndarray:
    """D's output per sample, in eval mode (no spectral-norm power step), as float32 numpy."""
    return d_scores(trainer.discriminator, trainer.config.loss, samples)


def d_scores(discriminator: torch.nn.Module, loss: str, samples: torch.Tensor) -> np.ndarray:
    """D's output per sample as the plots show it, in eval mode, as float32 numpy."""
    return d_outputs(loss, run_in_eval(discriminator, samples)).float().cpu().numpy()


def checkpoint_field(checkpoint: Checkpoint) -> FieldSnapshot:
    """The 2D field view of a checkpoint of a 2D run (its data regenerated or re-read)."""
    from ganviz_gui.core.data import load_dataset

    dataset = load_dataset(checkpoint.config)
    return PlaneField(NetworksAtStep.from_checkpoint(checkpoint, dataset)).snapshot()


def picture_sheet(picture: np.ndarray, step: int) -> SampleSheet:
    """A sample picture a run wrote (its samples/ folder, a TensorBoard image) as a sheet: one
    tile, no verdicts, nothing to click through to a latent."""
    height, width = picture.shape[:2]
    return SampleSheet(
        fake_grid=picture,
        real_grid=None,
        fake_scores=np.zeros(0, dtype=np.float32),
        real_scores=None,
        columns=1,
        tile=(height, width),
        padding=0,
        step=step,
        score_is_probability=True,
        caption="sample picture the run wrote",
    )


def checkpoint_sample_sheet(checkpoint: Checkpoint, real: np.ndarray | None = None) -> SampleSheet:
    """The run's fixed-noise samples as this checkpoint draws them, with its D's verdicts;
    `real`: the run's real samples (model space, (N, C, H, W)) beside them, judged by the
    same D (see `add_real_samples`). The caller loads them once per run, not per checkpoint.
    """
    generator = checkpoint.build_generator("ema")
    fake = decode(generator, checkpoint.state["fixed_noise"])  # (N, C, H, W) in [-1, 1]
    loss = checkpoint.config.loss
    discriminator = checkpoint.build_discriminator()
    scores = d_scores(discriminator, loss, torch.from_numpy(fake))
    sheet = _sheet(fake, scores, None, None, checkpoint.step, loss)
    if real is None:
        return sheet
    return add_real_samples(sheet, real, partial(d_scores, discriminator, loss))


def generator_sample_sheet(
    generator_file: GeneratorFile, step: int, real: np.ndarray | None = None
) -> SampleSheet:
    """The fixed-noise samples of any image generator file that carries its fixed noise (a
    checkpoint ganviz_gui.Run logged), with D's verdicts where the file has a D (NaN without),
    and `real` beside them as in `checkpoint_sample_sheet`. A GANViz checkpoint is shown by
    `checkpoint_sample_sheet` (its EMA generator)."""
    noise = generator_file.fixed_noise
    if noise is None:
        noise = generator_file.probe_latents()
    fake = decode(generator_file.build_generator("ema"), noise)  # (N, C, H, W) in [-1, 1]
    critic = generator_file.build_critic()
    score: Callable[[torch.Tensor], np.ndarray] | None = None
    if critic is None:
        scores, loss = np.full(len(fake), np.nan, dtype=np.float32), "nonsaturating"
    else:
        discriminator, loss = critic
        scores = d_scores(discriminator, loss, torch.from_numpy(fake))
        score = partial(d_scores, discriminator, loss)
    sheet = _sheet(fake, scores, None, None, step, loss)
    sheet.caption = "generated (fixed noise)"
    return sheet if real is None else add_real_samples(sheet, real, score)


# ---------------------------------------------------------------------- 2D field
@dataclass
class FieldSnapshot:
    bounds: tuple[float, float, float, float]  # x0, x1, y0, y1 of the heat map
    heat: np.ndarray  # (R, R) float32 D output; row 0 is y0 (bottom), column 0 is x0
    heat_is_probability: bool
    real: np.ndarray  # (n, 2) float32
    fake: np.ndarray  # (m, 2) float32, from the raw generator (the one D is fighting)
    arrows: np.ndarray  # (k, 2) float32: -d loss_G / d x for the first k fake points
    mesh: np.ndarray  # (g, g, 2) float32: G applied to a g x g grid on a latent plane
    step: int


@dataclass
class NetworksAtStep:
    """The parts of a `Trainer` a `PlaneField` reads, for networks loaded from a checkpoint."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module
    dataset: Any  # core.data.Dataset: the real points
    config: TrainingConfig
    step_count: int
    device: torch.device = CPU

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, dataset: Any) -> NetworksAtStep:
        # The raw generator, as during training: it is the one D is fighting.
        return cls(
            generator=checkpoint.build_generator("raw"),
            discriminator=checkpoint.build_discriminator(),
            dataset=dataset,
            config=checkpoint.config,
            step_count=checkpoint.step,
        )


class PlaneField:
    """Computes `FieldSnapshot`s for one trainer (or `NetworksAtStep`), everything random
    fixed once.

    The same latents and real points are shown every time, so frames differ only because
    the networks changed.
    """

    def __init__(
        self,
        trainer: Trainer | NetworksAtStep,
        resolution: int = 32,
        display_resolution: int = 96,
        points: int = 300,
        arrows: int = 80,
        mesh_size: int = 17,
        mesh_extent: float = 2.0,
        seed: int = 0,
    ):
        if trainer.dataset.is_image:
            raise ValueError("the plane field needs 2D point data")
        self.trainer = trainer
        self.resolution = resolution
        self.display_resolution = display_resolution
        self.arrow_count = min(arrows, points)
        rng = torch.Generator().manual_seed(seed)
        data = trainer.dataset.data
        self.real = data[torch.randperm(len(data), generator=rng)[:points]].float()
        self.bounds = field_bounds(data.numpy())
        latent_dim = trainer.config.latent_dim
        self.latents = torch.randn(points, latent_dim, generator=rng)
        # A 2D slice of latent space through 0 along two random orthonormal directions,
        # gridded in units of the prior's standard deviation.
        basis = torch.linalg.qr(torch.randn(latent_dim, 2, generator=rng))[0]  # (D, 2)
        if latent_dim == 1:
            basis = torch.cat([basis, torch.zeros(1, 1)], dim=1)
        ticks = torch.linspace(-mesh_extent, mesh_extent, mesh_size)
        uu, vv = torch.meshgrid(ticks, ticks, indexing="ij")
        self.mesh_latents = torch.stack([uu.flatten(), vv.flatten()], 1) @ basis.T  # (g*g, D)
        self.mesh_size = mesh_size
        x0, x1, y0, y1 = self.bounds
        # D is evaluated at cell centres on a coarse grid (it costs a D forward per cell, at
        # 10 Hz) and interpolated for display; D's output is smooth at this scale.
        centres = (torch.arange(resolution) + 0.5) / resolution
        xs = x0 + centres * (x1 - x0)
        ys = y0 + centres * (y1 - y0)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        self.grid = torch.stack([gx.flatten(), gy.flatten()], 1)  # (R*R, 2), row-major in y

    def snapshot(self) -> FieldSnapshot:
        trainer = self.trainer
        device = trainer.device
        generator, discriminator = trainer.generator, trainer.discriminator
        g_mode, d_mode = generator.training, discriminator.training
        generator.eval()
        discriminator.eval()
        try:
            with torch.no_grad():
                both = generator(torch.cat([self.latents, self.mesh_latents]).to(device))
                fake, mesh = both[: len(self.latents)], both[len(self.latents) :]
                heat_logits = discriminator(self.grid.to(device))
            # Where G's loss pushes each generated point: minus its gradient w.r.t. the point.
            moving = fake[: self.arrow_count].detach().requires_grad_(True)
            for p in discriminator.parameters():
                p.requires_grad_(False)
            try:
                loss = g_loss(trainer.config.loss, discriminator(moving)) * self.arrow_count
                (grad,) = torch.autograd.grad(loss, moving)
            finally:
                for p in discriminator.parameters():
                    p.requires_grad_(True)
        finally:
            generator.train(g_mode)
            discriminator.train(d_mode)
        coarse = d_outputs(trainer.config.loss, heat_logits).reshape(
            1, 1, self.resolution, self.resolution
        )
        size = (self.display_resolution, self.display_resolution)
        heat = F.interpolate(coarse.float(), size=size, mode="bilinear", align_corners=False)[0, 0]
        g = self.mesh_size
        return FieldSnapshot(
            bounds=self.bounds,
            heat=heat.float().cpu().numpy(),
            heat_is_probability=trainer.config.loss in PROBABILISTIC_LOSSES,
            real=self.real.numpy(),
            fake=fake.float().cpu().numpy(),
            arrows=(-grad).float().cpu().numpy(),
            mesh=mesh.reshape(g, g, 2).float().cpu().numpy(),
            step=trainer.step_count,
        )


def field_bounds(points: np.ndarray, margin: float = 0.35) -> tuple[float, float, float, float]:
    """A square around the bulk of the real data, with room for G's points to wander in."""
    lo = np.percentile(points, 0.5, axis=0)
    hi = np.percentile(points, 99.5, axis=0)
    center = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2 * (1 + margin), 1e-3)
    return (
        float(center[0] - half),
        float(center[0] + half),
        float(center[1] - half),
        float(center[1] + half),
    )


# ---------------------------------------------------------------------- data preview
def dataset_preview(config: TrainingConfig, count: int = 36) -> tuple[np.ndarray, str]:
    """A picture of real samples of the configured data, and a one-line summary.

    Never downloads: a preview must not start an 11 MB transfer behind the user's back.
    Raises the engine's errors (DataError naming the file) when the data cannot be read.
    """
    from ganviz_gui.core.data import load_dataset
    from ganviz_gui.core.sample_images import scatter_plot, tile_scale, upscale

    dataset = load_dataset(config.replace(download=False))
    summary = f"{dataset.name}: {len(dataset):,} samples of shape {tuple(dataset.sample_shape)}"
    if dataset.skipped:
        summary += f"; {len(dataset.skipped)} file(s) skipped"
    index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
    if dataset.is_image:
        images = to_model_space(dataset.data[index[:count]]).float().numpy()
        columns = math.ceil(math.sqrt(len(images)))
        picture = upscale(image_grid(images, columns), tile_scale(images.shape[-1]) // 2 or 1)
        return picture, summary
    points = dataset.data[index[:2000]].numpy()
    return scatter_plot(points, np.empty((0, 2)), size=256), summary
