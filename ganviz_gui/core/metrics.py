"""Sample-quality metrics computed from generated and real samples (numpy in, floats out).

2D mixtures use the measures of the Unrolled GAN and PacGAN papers: a sample is *high quality*
when it lies within 3 standard deviations of a mode's centre, and a mode is *covered* when it
receives at least a quarter of its fair share (N / 4K) of all samples, counting only high-quality
ones. Any 2D data also gets the Jensen-Shannon divergence between histograms on a grid, the
divergence GAN Lab shows.
"""

from __future__ import annotations

import numpy as np

JS_GRID = 40  # histogram bins per axis
JS_MARGIN = 0.1  # grid extends this fraction of the data's range beyond it


def mixture_quality(samples: np.ndarray, centers: np.ndarray, std: float) -> dict[str, float]:
    """`modes_covered` (a count), `high_quality` (a fraction) and `modes_total`."""
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) == 0:
        return {"modes_covered": 0, "high_quality": 0.0, "modes_total": len(centers)}
    # (N, K) squared distances; N and K are small (thousands x 25).
    d2 = ((samples[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    nearest = d2.argmin(axis=1)
    good = np.sqrt(d2[np.arange(len(samples)), nearest]) <= 3.0 * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    threshold = max(1.0, len(samples) / (4.0 * len(centers)))
    return {
        "modes_covered": int((counts >= threshold).sum()),
        "high_quality": float(good.mean()),
        "modes_total": len(centers),
    }


class PointHistogram:
    """The real points' grid histogram, computed once and compared with many generated sets."""

    def __init__(self, real: np.ndarray, bins: int = JS_GRID):
        real = np.asarray(real, dtype=np.float64)
        low, high = real.min(axis=0), real.max(axis=0)
        pad = (high - low) * JS_MARGIN + 1e-6
        self.edges = [np.linspace(low[i] - pad[i], high[i] + pad[i], bins + 1) for i in range(2)]
        self.real = _histogram_with_outside(real, self.edges)

    def js_divergence(self, generated: np.ndarray) -> float:
        """Jensen-Shannon divergence in bits (0 = same, 1 = disjoint).

        The grid spans the real data plus a margin; generated points outside it fall in one extra
        "outside" bin, so samples that escape the data still count against the generator.
        """
        q = _histogram_with_outside(np.asarray(generated, dtype=np.float64), self.edges)
        m = 0.5 * (self.real + q)
        return float(0.5 * _kl_bits(self.real, m) + 0.5 * _kl_bits(q, m))


def js_divergence_2d(generated: np.ndarray, real: np.ndarray, bins: int = JS_GRID) -> float:
    """Jensen-Shannon divergence in bits between 2D grid histograms (see PointHistogram)."""
    return PointHistogram(real, bins).js_divergence(generated)


def mean_pairwise_distance(samples: np.ndarray, limit: int = 512) -> float:
    """Mean L2 distance between distinct samples (flattened): a collapse makes it shrink."""
    flat = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)[:limit]
    if len(flat) < 2:
        return 0.0
    sq = (flat**2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T, 0.0)
    n = len(flat)
    return float(np.sqrt(d2).sum() / (n * (n - 1)))


def _histogram_with_outside(points: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    hist, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=edges)
    inside = hist.sum()
    counts = np.append(hist.ravel(), len(points) - inside)
    return counts / max(len(points), 1)


def _kl_bits(p: np.ndarray, q: np.ndarray) -> float:
    mask = p > 0
    return float((p[mask] * np.log2(p[mask] / q[mask])).sum())
