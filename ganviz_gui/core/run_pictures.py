"""The sample pictures a run folder gets, and which thread decodes them.

A picture is G's samples at one step drawn into a PNG: the fixed-noise grid for images, or
for 2D data a scatter of G's points over the real ones. The PNG is always drawn and encoded on
the run's writer thread. On a CPU run that leaves torch a core to spare, G's decode goes there
as well: the training thread only clones G's weights, and a replica of G that only the writer
thread touches decodes them. On 8 Gaussians the decode of 2,000 points was 1.9 ms of the
training thread per picture, about 1.3% of a run at a picture every 25 steps; the clone is
0.05 ms. On an accelerator, or when torch uses every core, the decode stays on the training
thread: there it is queued on the device, or a second decode would only take cores from the
step.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ganviz_gui.core.evaluation import DECODE_CHUNK, decode, seeded_latents
from ganviz_gui.core.sample_images import png_bytes, saved_grid, scatter_png

if TYPE_CHECKING:
    from ganviz_gui.core.trainer import Trainer

SCATTER_REAL_POINTS = 2000
SCATTER_FAKE_POINTS = 2000


def spare_core_for_decoding(device: torch.device) -> bool:
    """Whether a second thread can decode without taking a core from the training step: a CPU
    run whose torch threads leave at least one core free."""
    return device.type == "cpu" and torch.get_num_threads() < (os.cpu_count() or 1)


class RunPictures:
    """Makes a trainer's sample pictures: `capture()` on the training thread takes what the
    picture of this step needs, and returns what draws it into PNG bytes on the writer thread.

    `off_thread`: decode on the writer thread from a copy of G's weights (default: where
    `spare_core_for_decoding`). The pictures are the same either way."""

    def __init__(self, trainer: Trainer, off_thread: bool | None = None):
        self.trainer = trainer
        if off_thread is None:
            off_thread = spare_core_for_decoding(trainer.device)
        self.off_thread = off_thread
        self._replica: WriterReplica | None = None  # made by the first capture off the thread
        self._scatter_latents: torch.Tensor | None = None  # the same every picture: made once

    def capture(self) -> Callable[[], bytes]:
        trainer = self.trainer
        generator = trainer.sampling_generator()
        latents = self._latents()
        if self.off_thread:
            if self._replica is None:
                self._replica = WriterReplica(generator)
            outputs = self._replica.decoder(generator, latents)
        else:
            samples = decode(generator, latents)
            outputs = lambda: samples  # noqa: E731
        if trainer.dataset.is_image:
            return lambda: png_bytes(saved_grid(outputs(), gray=True))
        real = trainer.dataset.data[:SCATTER_REAL_POINTS].numpy()
        return lambda: scatter_png(real, outputs())

    def _latents(self) -> torch.Tensor:
        """The fixed noise for an image grid; for a scatter, SCATTER_FAKE_POINTS latents from
        the run's seed (those `Trainer.sample` would draw)."""
        trainer = self.trainer
        if trainer.dataset.is_image:
            return trainer.fixed_noise  # replaced on a resume, never changed in place
        if self._scatter_latents is None:
            self._scatter_latents = seeded_latents(
                SCATTER_FAKE_POINTS, trainer.config.latent_dim, trainer.config.seed + 5
            )
        return self._scatter_latents


class WriterReplica:
    """A copy of G, in eval mode, that only the writer thread runs. `decoder(generator, z)`
    clones the generator's weights of this moment on the training thread (training goes on
    changing them in place) and returns what loads them into the replica and decodes `z` on
    the writer thread. The writer does its work in the order it was handed over, so one
    replica serves every picture (G and its EMA copy alike: they share the architecture)."""

    def __init__(self, generator: nn.Module):
        self.replica = copy.deepcopy(generator).requires_grad_(False).eval()
        self._targets = list(self.replica.state_dict().values())

    def decoder(self, generator: nn.Module, z: torch.Tensor) -> Callable[[], np.ndarray]:
        with torch.no_grad():
            weights = [tensor.detach().clone() for tensor in generator.state_dict().values()]
        return lambda: self._decode(weights, z)

    def _decode(self, weights: list[torch.Tensor], z: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            for target, weight in zip(self._targets, weights, strict=True):
                target.copy_(weight)
            # As `decode` does, without switching modes: the replica stays in eval.
            outputs = torch.cat([self.replica(chunk) for chunk in z.split(DECODE_CHUNK)])
            return outputs.float().numpy()
