"""Is a generated sample a copy of a training image? Its nearest neighbours in the training set.

Distances are L2 in the model's pixel space ([-1, 1]). A sample much closer to its nearest
training image than training images are to each other (`typical_neighbour_distance`) is a
likely copy: the memorisation check of the GAN literature, in its plainest form.
"""

from __future__ import annotations

import numpy as np
import torch

from ganviz_gui.core.data import Dataset, to_model_space

CHUNK = 4096  # training images compared per batch (uint8 data is converted chunk by chunk)
COPY_RATIO = 0.5  # nearer than half the typical training-image spacing: a likely copy


def nearest_images(
    sample: np.ndarray | torch.Tensor, dataset: Dataset, k: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of the k training images nearest `sample` (C, H, W) in [-1, 1]."""
    if not dataset.is_image:
        raise ValueError("nearest training images are for image data")
    query = torch.as_tensor(sample, dtype=torch.float32).reshape(1, -1)
    data = dataset.data
    if query.shape[1] != data[0].numel():
        raise ValueError(
            f"the sample has {query.shape[1]} values, the training images "
            f"{tuple(data.shape[1:])} = {data[0].numel()}"
        )
    best_distances = torch.full((0,), float("inf"))
    best_indices = torch.zeros(0, dtype=torch.long)
    for start in range(0, len(data), CHUNK):
        chunk = to_model_space(data[start : start + CHUNK]).reshape(-1, query.shape[1])
        distances = torch.cdist(query, chunk)[0]
        best_distances = torch.cat([best_distances, distances])
        best_indices = torch.cat([best_indices, torch.arange(start, start + len(chunk))])
        keep = torch.topk(best_distances, min(k, len(best_distances)), largest=False).indices
        best_distances, best_indices = best_distances[keep], best_indices[keep]
    order = torch.argsort(best_distances)
    return best_indices[order].numpy(), best_distances[order].numpy()


def typical_neighbour_distance(dataset: Dataset, probes: int = 32, seed: int = 0) -> float:
    """Median distance from a training image to its nearest other training image."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randperm(len(dataset), generator=generator)[: min(probes, len(dataset))]
    nearest = []
    for index in picks.tolist():
        indices, distances = nearest_images(to_model_space(dataset.data[index]), dataset, k=2)
        others = distances[indices != index]
        nearest.append(float(others[0]) if len(others) else float(distances[-1]))
    return float(np.median(nearest))


def picture_to_model_space(picture: np.ndarray, channels: int) -> np.ndarray:
    """A displayed sample (H, W, 3) uint8 back in the model's pixel space: (C, H, W) in [-1, 1]
    (a one-channel data set's sample was shown as grey RGB: its first channel is the sample)."""
    return picture.transpose(2, 0, 1)[:channels].astype(np.float32) / 127.5 - 1.0


def memorisation_verdict(distances: np.ndarray, typical: float) -> str:
    """What the nearest distances say of copying, for people."""
    ratio = float(distances[0]) / typical if typical > 0 else float("inf")
    verdict = (
        "much closer to a training image than training images are to each other: it may be a copy."
        if ratio < COPY_RATIO
        else "no closer to a training image than training images are to each other: no "
        "sign of copying."
    )
    return (
        f"Nearest training images (L2 in pixel space, nearest first): "
        f"{', '.join(f'{d:.2f}' for d in distances)}. Training images lie {typical:.2f} "
        f"from their nearest other training image (median); this sample is {ratio:.2f}x "
        f"that, {verdict}"
    )
