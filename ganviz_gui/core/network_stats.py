"""Inside G and D: their layers, each layer's health, and how D's verdicts are spread.

- `describe_layers`: every layer with its output shape and parameter count (forward hooks on
  one small batch), as torchinfo's summary gives, without the dependency.
- `LayerStats`: per layer, the norm of its weights and of their gradients and a histogram of
  each, measured on the device with no sync until the record is taken (one transfer per
  record), so the trainer can record them every `stats_every` steps at little cost.
- `verdict_histograms`: D's outputs on a real and a fake batch as two histograms, and their
  overlap: 1 when D cannot tell them apart at all, 0 when it separates them perfectly.
- `describe_networks`: both networks' layer tables at once, for the network view.

Records are plain JSON (the run folder's network_stats.jsonl, see docs/run-folder.md);
`stats_records.clean_stats_record` reads one back, whoever wrote it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

HISTOGRAM_BINS = 32
VERDICT_BINS = 24
# Parameter names end in one of these; what comes before is the layer (`net.3.weight` ->
# `net.3`; spectral norm's `net.0.parametrizations.weight.original` -> `net.0`).
_PARAMETER_PARTS = ("weight", "bias", "parametrizations")


@dataclass
class LayerInfo:
    name: str  # the module's path in its network, e.g. "net.3"
    kind: str  # the module's class, e.g. "ConvTranspose2d"
    output_shape: tuple[int, ...]  # per sample, without the batch dimension
    parameters: int


def layer_parameters(
    module: nn.Module, trainable_only: bool = True
) -> OrderedDict[str, list[torch.Tensor]]:
    """The network's (trainable) parameters grouped by layer, in the order they are declared."""
    layers: OrderedDict[str, list[torch.Tensor]] = OrderedDict()
    for name, parameter in module.named_parameters():
        if trainable_only and not parameter.requires_grad:
            continue
        parts = name.split(".")
        cut = next((i for i, part in enumerate(parts) if part in _PARAMETER_PARTS), len(parts))
        layers.setdefault(".".join(parts[:cut]) or "(top)", []).append(parameter)
    return layers


def describe_layers(module: nn.Module, example_input: torch.Tensor) -> list[LayerInfo]:
    """Every leaf layer that runs on `example_input` (a batch), in the order it runs."""
    # Every parameter counts, trainable or not (a network rebuilt for viewing trains nothing).
    owned = {
        name: sum(p.numel() for p in ps)
        for name, ps in layer_parameters(module, trainable_only=False).items()
    }
    found: list[LayerInfo] = []
    hooks = []

    def hook_for(name: str, layer: nn.Module):
        def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor):
                shape = tuple(output.shape[1:])
                kind = type(layer).__name__
                if kind.startswith("Parametrized"):  # torch's class for a spectral-normed layer
                    kind = kind.removeprefix("Parametrized") + " (spectral norm)"
                count = owned.get(name, 0) if chosen is None else whole.get(name, 0)
                found.append(LayerInfo(name, kind, shape, count))

        return record

    # A network may name the layers worth listing (StyleGAN: each styled synthesis layer,
    # whose parts are small affines); otherwise every leaf layer is.
    named = getattr(module, "feature_layers", None)
    chosen = set(named()) if callable(named) else None
    whole = {  # a chosen layer owns its parts' parameters too
        name: sum(p.numel() for p in layer.parameters())
        for name, layer in module.named_modules()
        if chosen is not None and name in chosen
    }
    for name, layer in module.named_modules():
        # A leaf layer has no children but spectral norm's `parametrizations`, which are
        # parts of the layer rather than layers of their own.
        children = [child for child, _ in layer.named_children() if child != "parametrizations"]
        listed = (name in chosen) if chosen is not None else not children
        if name and listed and "parametrizations" not in name:
            hooks.append(layer.register_forward_hook(hook_for(name, layer)))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            module(example_input)
    finally:
        module.train(was_training)
        for handle in hooks:
            handle.remove()
    return found


def _symmetric_histogram(values: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Counts over [-m, m], m = max |value| (a device tensor: no sync), and m itself."""
    finite = torch.where(torch.isfinite(values), values, torch.zeros_like(values))
    bound = finite.abs().max().clamp_min(1e-12)
    edges = torch.linspace(-1.0, 1.0, bins + 1, device=values.device)[1:-1] * bound
    index = torch.bucketize(finite, edges, right=True)  # [a, b) bins, as numpy counts them
    return torch.bincount(index, minlength=bins), bound


class LayerStats:
    """Norms and histograms of one network's layers, kept on the device until `to_record`."""

    def __init__(self, layers: OrderedDict[str, list[torch.Tensor]], bins: int = HISTOGRAM_BINS):
        self.names = list(layers)
        self._tensors: list[torch.Tensor] = []  # per layer: norms, bounds, then both histograms
        for parameters in layers.values():
            weights = torch.cat([p.detach().reshape(-1) for p in parameters])
            grads = [p.grad.detach().reshape(-1) for p in parameters if p.grad is not None]
            grad = torch.cat(grads) if grads else torch.zeros_like(weights)
            weight_counts, weight_bound = _symmetric_histogram(weights.float(), bins)
            grad_counts, grad_bound = _symmetric_histogram(grad.float(), bins)
            scalars = torch.stack(
                [
                    torch.linalg.vector_norm(weights.float()),
                    torch.linalg.vector_norm(grad.float()),
                    weight_bound,
                    grad_bound,
                ]
            )
            self._tensors.append(torch.cat([scalars, weight_counts.float(), grad_counts.float()]))
        self.bins = bins

    def to_record(self) -> list[dict[str, Any]]:
        """One transfer from the device; a list of per-layer dicts (JSON-ready)."""
        if not self._tensors:
            return []
        rows = torch.stack(self._tensors).cpu().tolist()
        b = self.bins
        return [
            {
                "layer": name,
                "weight_norm": _finite(row[0]),
                "grad_norm": _finite(row[1]),
                "weight_range": _finite(row[2]),
                "grad_range": _finite(row[3]),
                "weight_hist": [int(c) for c in row[4 : 4 + b]],
                "grad_hist": [int(c) for c in row[4 + b : 4 + 2 * b]],
            }
            for name, row in zip(self.names, rows, strict=True)
        ]


def verdict_histograms(
    real: torch.Tensor, fake: torch.Tensor, probabilities: bool, bins: int = VERDICT_BINS
) -> dict[str, Any]:
    """D's outputs on real and fake samples as histograms over a shared range, and their
    overlap (the histogram intersection of the two normalised histograms)."""
    real, fake = real.detach().float().reshape(-1).cpu(), fake.detach().float().reshape(-1).cpu()
    if probabilities:
        low, high = 0.0, 1.0
    else:  # a critic's raw score: a range symmetric about 0 that holds both
        both = torch.cat([real, fake])
        both = both[torch.isfinite(both)]
        bound = float(both.abs().max()) if both.numel() else 1.0
        low, high = -(bound or 1.0), bound or 1.0
    real_counts = torch.histc(real.clamp(low, high), bins, low, high)
    fake_counts = torch.histc(fake.clamp(low, high), bins, low, high)
    overlap = torch.minimum(
        real_counts / real_counts.sum().clamp(min=1), fake_counts / fake_counts.sum().clamp(min=1)
    ).sum()
    return {
        "low": low,
        "high": high,
        "real": [int(c) for c in real_counts.tolist()],
        "fake": [int(c) for c in fake_counts.tolist()],
        "overlap": round(float(overlap), 4),
    }


def histogram_edges(bound: float, bins: int) -> list[float]:
    """The edges of a symmetric histogram recorded by `LayerStats` (for plotting)."""
    return [-bound + 2 * bound * i / bins for i in range(bins + 1)]


def weight_histogram(parameters: list[torch.Tensor], bins: int = HISTOGRAM_BINS) -> dict:
    """A layer's weight histogram from weights alone (an opened checkpoint has no gradients)."""
    values = torch.cat([p.detach().float().reshape(-1) for p in parameters])
    counts, bound = _symmetric_histogram(values, bins)
    return {"weight_hist": [int(c) for c in counts.tolist()], "weight_range": float(bound)}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON has no NaN


def describe_networks(
    generator: nn.Module,
    discriminator: nn.Module | None,
    latent_dim: int,
    sample_shape: tuple[int, ...],
) -> dict[str, list[LayerInfo]]:
    """{"generator": [...], "discriminator": [...]} for the network view's table (D left out
    when there is none). Modules whose layers cannot be hooked (TorchScript) give []."""
    found: dict[str, list[LayerInfo]] = {}
    for name, module, example in (
        ("generator", generator, torch.randn(2, latent_dim)),
        ("discriminator", discriminator, torch.randn(2, *sample_shape)),
    ):
        if module is None:
            continue
        device = next(module.parameters()).device
        try:
            found[name] = describe_layers(module, example.to(device))
        except (RuntimeError, AttributeError, TypeError):  # scripted modules refuse hooks
            found[name] = []
    return found
