"""A small classifier of the training data's labels, trained once and cached, that scores
generated images without downloading anything.

Inception-based FID needs 100 MB of weights trained on ImageNet, which say little about 8x8
digits. The idea of FID carries over to any labelled data set with a classifier of that data:
the Fréchet distance between Gaussians fitted to its penultimate features of real and of
generated images; its predicted classes give a class histogram of the samples and the number
of classes covered (the mode-coverage measure of the Stacked-MNIST experiments, Metz et al.
2017, Srivastava et al. 2017). The numbers are comparable between runs on the same data set
and image size, not with published FIDs.

The classifier is trained on the images as the GAN sees them (model space, [-1, 1]) and cached
under the app's cache folder, keyed by a fingerprint of the data, so each data set costs its
training once per machine (digits: about 2 s on a 2-core CPU).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganviz_gui.core.app_dirs import cache_dir
from ganviz_gui.core.atomic_files import atomic_write_text
from ganviz_gui.core.data import Dataset, to_model_space

FEATURES = 64  # width of the penultimate layer: the Fréchet distance's space
TRAIN_STEPS = 600  # Adam steps of 64 images; enough for >= 95% held-out accuracy on digits
REFERENCE_IMAGES = 2000  # real images whose features make the reference Gaussian
HELD_OUT = 0.1  # share of the data kept out of training to measure accuracy


class ClassifierNet(nn.Module):
    """Two strided convolutions and a feature layer: small enough to train in seconds."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(32, 64, 3, 2, 1),
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4, FEATURES),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Linear(FEATURES, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


@dataclass
class ImageScores:
    frechet_distance: float
    class_counts: list[int]  # generated samples predicted as each class
    classes_covered: int  # classes given at least a quarter of their fair share


class DataClassifier:
    """The trained classifier of one data set, with the reference statistics of its real data."""

    def __init__(self, net: ClassifierNet, accuracy: float, real: torch.Tensor):
        self.net = net.eval()
        self.accuracy = accuracy  # on the held-out share of the data
        self.classes = net.head.out_features
        features = self.features(real)
        self.real_mean, self.real_cov = _gaussian(features)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        images = torch.as_tensor(images).float()
        return torch.cat([self.net.body(chunk) for chunk in images.split(512)]).double().numpy()

    @torch.no_grad()
    def score(self, images: np.ndarray | torch.Tensor) -> ImageScores:
        """Fréchet distance to the real data and the class histogram, for images in [-1, 1]."""
        images = torch.as_tensor(images).float().cpu()
        features = self.features(images)
        mean, cov = _gaussian(features)
        logits = self.net.head(torch.from_numpy(features).float())
        counts = torch.bincount(logits.argmax(1), minlength=self.classes).tolist()
        fair_share = len(images) / self.classes
        covered = sum(1 for c in counts if c >= max(1.0, fair_share / 4))
        return ImageScores(
            frechet_distance(mean, cov, self.real_mean, self.real_cov), counts, covered
        )


def frechet_distance(
    mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """||mu_a - mu_b||^2 + Tr(A + B - 2 (A B)^(1/2)) between two Gaussians.

    Tr((A B)^(1/2)) is computed as the sum of square roots of the eigenvalues of
    A^(1/2) B A^(1/2), which is symmetric: no complex parts to discard, unlike scipy's sqrtm.
    """
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    distance = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(distance, 0.0))


def _gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def data_fingerprint(dataset: Dataset) -> str:
    """Identifies the data and labels exactly as the classifier sees them."""
    if dataset.labels is None:
        raise ValueError(f"{dataset.name}: has no labels, so no classifier to identify")
    digest = hashlib.sha256()
    digest.update(str((dataset.name, tuple(dataset.data.shape))).encode())
    step = max(1, len(dataset) // 4096)  # a sample of the images keeps hashing MNIST quick
    digest.update(dataset.data[::step].contiguous().numpy().tobytes())
    digest.update(dataset.labels.contiguous().numpy().tobytes())
    return digest.hexdigest()[:20]


def classifier_for(dataset: Dataset, folder: Path | None = None) -> DataClassifier | None:
    """The cached classifier of this labelled image data set, trained now if not cached yet.
    None for data without labels (or with a single class)."""
    if not dataset.is_image or dataset.labels is None:
        return None
    classes = int(dataset.labels.max()) + 1
    if classes < 2:
        return None
    folder = folder or cache_dir() / "classifiers"
    key = data_fingerprint(dataset)
    weights_path, info_path = folder / f"{key}.pt", folder / f"{key}.json"
    channels = dataset.data.shape[1]
    net = _new_net(channels, classes)
    accuracy = None
    if weights_path.exists() and info_path.exists():
        try:  # a damaged cache is retrained, never trusted
            net.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
            accuracy = float(json.loads(info_path.read_text())["accuracy"])
        except Exception:
            net, accuracy = _new_net(channels, classes), None
    if accuracy is None:
        accuracy = _train(net, dataset.data, dataset.labels)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = weights_path.with_suffix(".tmp")
        torch.save(net.state_dict(), temporary)
        temporary.replace(weights_path)
        atomic_write_text(info_path, json.dumps({"accuracy": accuracy, "dataset": dataset.name}))
    index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
    return DataClassifier(net, accuracy, to_model_space(dataset.data[index[:REFERENCE_IMAGES]]))


def _new_net(channels: int, classes: int) -> ClassifierNet:
    """Initialised from a fixed seed: the same data set trains the same classifier."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ClassifierNet(channels, classes)


def _train(net: ClassifierNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Train on 90% of the uint8 `images` with a fixed seed; returns accuracy on the other 10%.
    Batches are converted to model space as they are drawn: the data stays uint8 in memory."""
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(images), generator=generator)
    held = max(1, math.ceil(len(images) * HELD_OUT))
    test, train = order[:held], order[held:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net.train()
        optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
        for _ in range(TRAIN_STEPS):
            batch = train[torch.randint(len(train), (64,), generator=generator)]
            logits = net(to_model_space(images[batch]))
            loss = nn.functional.cross_entropy(logits, labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        net.eval()
    with torch.no_grad():
        predicted = torch.cat(
            [net(to_model_space(images[chunk])).argmax(1) for chunk in test.split(512)]
        )
    return float((predicted == labels[test]).float().mean())
