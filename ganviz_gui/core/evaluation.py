"""How good a generator is: the same numbers during training and for any saved checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ganviz_gui.core.data import Dataset, load_dataset, to_model_space
from ganviz_gui.core.losses import d_output
from ganviz_gui.core.metrics import PointHistogram, mean_pairwise_distance, mixture_quality

if TYPE_CHECKING:
    from ganviz_gui.core.checkpoint import Checkpoint

MIXTURE_SAMPLES = 2500  # generated points for modes_covered / high_quality (as PacGAN)
JS_SAMPLES = 5000  # generated points for the JS divergence histogram
IMAGE_SAMPLES = 512
DECODE_CHUNK = 4096  # latents G decodes at once: bounds the memory of a big batch
TRAINING_IMAGE_SAMPLES = 256  # during training: every eval_every steps, so kept cheap


def decode(generator: nn.Module, z: torch.Tensor) -> np.ndarray:
    """Run G in eval mode without gradients; numpy out, the module's mode restored."""
    return run_in_eval(generator, z).float().cpu().numpy()


def run_in_eval(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The module's outputs in eval mode, without gradients, in chunks of DECODE_CHUNK on its
    device; its train/eval mode is restored afterwards (the trainer's networks are shared)."""
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return torch.cat([module(chunk.to(device)) for chunk in inputs.split(DECODE_CHUNK)])
    finally:
        module.train(was_training)


def sample(generator: nn.Module, n: int, latent_dim: int, seed: int) -> np.ndarray:
    """n samples from seeded latents: (n, 2) points or (n, C, H, W) images in [-1, 1]."""
    return decode(generator, seeded_latents(n, latent_dim, seed))


def seeded_latents(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """n standard normal latents (CPU), the same for the same seed on every machine."""
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def evaluate_points(
    generator: nn.Module,
    latent_dim: int,
    dataset: Dataset,
    seed: int,
    reference: PointHistogram | None = None,
) -> dict[str, float]:
    """JS divergence on a grid for any 2D data; modes covered and quality for mixtures.

    Pass `reference` (the real points' histogram) when evaluating repeatedly.
    """
    points = sample(generator, JS_SAMPLES, latent_dim, seed)
    reference = reference or PointHistogram(dataset.data.numpy())
    result: dict[str, float] = {"js_divergence": reference.js_divergence(points)}
    if dataset.mode_centers is not None and dataset.mode_std is not None:
        quality = mixture_quality(points[:MIXTURE_SAMPLES], dataset.mode_centers, dataset.mode_std)
        result["modes_covered"] = quality["modes_covered"]
        result["modes_total"] = quality["modes_total"]
        result["high_quality"] = quality["high_quality"]
    return result


class ImageReference:
    """What generated images are compared with, computed once per data set: the spread of
    real images, and the data set's classifier where it has labels (`core.data_classifier`)."""

    def __init__(self, dataset: Dataset, samples: int = IMAGE_SAMPLES, seed: int = 0):
        from ganviz_gui.core.data_classifier import classifier_for

        index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
        self.real_spread = mean_pairwise_distance(
            to_model_space(dataset.data[index[:samples]]).numpy()
        )
        self.classifier = classifier_for(dataset)


def evaluate_images(
    generator: nn.Module, latent_dim: int, reference: ImageReference, samples: int, seed: int
) -> dict[str, Any]:
    """Diversity of generated images against the data's; with labels, the Fréchet distance in
    the classifier's features, the class histogram and the classes covered."""
    fake = sample(generator, samples, latent_dim, seed)
    spread = reference.real_spread
    # Near 1: samples as varied as the data; near 0: mode collapse.
    result: dict[str, Any] = {
        "diversity_ratio": mean_pairwise_distance(fake) / spread if spread else 0.0
    }
    if reference.classifier is not None:
        scores = reference.classifier.score(fake)
        result["frechet_distance"] = scores.frechet_distance
        result["classes_covered"] = scores.classes_covered
        result["classes_total"] = len(scores.class_counts)
        result["class_counts"] = scores.class_counts
    return result


def evaluate_checkpoint(
    checkpoint: Checkpoint, which: str = "ema", seed: int = 0, dataset: Dataset | None = None
) -> dict[str, Any]:
    """Metrics of a checkpoint's generator against the data it was trained on."""
    config = checkpoint.config
    dataset = dataset if dataset is not None else load_dataset(config)
    generator = checkpoint.build_generator(which)
    result: dict[str, Any] = {
        "step": checkpoint.step,
        "dataset": config.dataset,
        "generator": which,
    }
    if not dataset.is_image:
        result.update(evaluate_points(generator, config.latent_dim, dataset, seed))
        return result
    fake = sample(generator, IMAGE_SAMPLES, config.latent_dim, seed)
    index = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[
        :IMAGE_SAMPLES
    ]
    real = to_model_space(dataset.data[index])
    discriminator = checkpoint.build_discriminator()
    with torch.no_grad():
        result["d_real"] = float(d_output(config.loss, discriminator(real)))
        result["d_fake"] = float(d_output(config.loss, discriminator(torch.from_numpy(fake))))
    reference = ImageReference(dataset, IMAGE_SAMPLES, seed)
    result.update(evaluate_images(generator, config.latent_dim, reference, IMAGE_SAMPLES, seed))
    return result
