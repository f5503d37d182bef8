"""The one shape every data source returns, and the batch sampler that trains on it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Dataset:
    """Real training data, held in memory.

    Points are float32 (N, 2). Images are uint8 (N, C, H, W) in 0..255 to keep memory small
    (MNIST as float32 would take 4x as much); batches are scaled to [-1, 1] when drawn.
    """

    name: str
    data: torch.Tensor
    labels: torch.Tensor | None = None  # int64 (N,), where the source has classes
    class_names: list[str] | None = None
    source: str = ""  # where the data came from, for people
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason) not loaded
    mode_centers: np.ndarray | None = None  # (K, 2) for Gaussian mixtures
    mode_std: float | None = None

    @property
    def is_image(self) -> bool:
        return self.data.dim() == 4

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape[1:])

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def describe(self) -> dict:
        """Plain values for checkpoints and `info`: enough to know what G was trained on."""
        info: dict = {
            "name": self.name,
            "kind": "images" if self.is_image else "points",
            "sample_shape": list(self.sample_shape),
            "size": len(self),
            "source": self.source,
        }
        if self.class_names:
            info["class_names"] = list(self.class_names)
        if self.mode_centers is not None:
            info["mode_centers"] = self.mode_centers.tolist()
            info["mode_std"] = self.mode_std
        return info


def to_model_space(batch: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [-1, 1] (the range of G's tanh); points pass through."""
    if batch.dtype == torch.uint8:
        return batch.float().mul_(2.0 / 255.0).sub_(1.0)
    return batch


def images_to_unit(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> [0, 1] floats, clamped."""
    return images.add(1.0).mul_(0.5).clamp_(0.0, 1.0)


class BatchSampler:
    """Draws shuffled batches without replacement, reshuffling every epoch, on the device.

    The data live on the training device so a batch is one index operation, not a copy
    through a DataLoader (which costs more than a small GAN step).

    Under torchrun (`world_size` > 1) every rank shuffles alike, with a generator in the same
    state, and takes its own slice of each global batch of batch_size x world_size: the ranks
    see different samples, and one saved position resumes them all.
    """

    def __init__(
        self,
        data: torch.Tensor,
        batch_size: int,
        generator: torch.Generator,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.data = data
        self.batch_size = min(batch_size, data.shape[0] // world_size)  # per rank
        self.generator = generator
        self._start = rank * self.batch_size  # this rank's slice of the global batch
        self._global_batch = self.batch_size * world_size
        self._order = torch.empty(0, dtype=torch.long, device=data.device)
        self._position = 0

    def next(self) -> torch.Tensor:
        if self._position + self._global_batch > self._order.numel():
            self._order = torch.randperm(
                self.data.shape[0], generator=self.generator, device=self.data.device
            )
            self._position = 0
        start = self._position + self._start
        index = self._order[start : start + self.batch_size]
        self._position += self._global_batch
        return to_model_space(self.data[index])

    def state_dict(self) -> dict:
        """Where in the epoch we are, so a resumed run draws the same batches."""
        return {"order": self._order.cpu(), "position": self._position}

    def load_state_dict(self, state: dict) -> None:
        order = state["order"]
        if order.numel() and int(order.max()) >= self.data.shape[0]:
            return  # a different data set than the checkpoint's: start a fresh epoch
        self._order = order.to(self.data.device)
        self._position = int(state["position"])


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Center-crop uint8 (N, C, H, W) images to a square and resize them to `size` (antialiased)."""
    _, _, h, w = images.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    images = images[:, :, top : top + side, left : left + side]
    if side == size:
        return images.contiguous()
    out = []
    for chunk in images.split(4096):  # bounded float memory for big sets
        resized = F.interpolate(
            chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out.append(resized.round_().clamp_(0, 255).to(torch.uint8))
    return torch.cat(out)
