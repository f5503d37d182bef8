"""What the engine's recorded diagnostics cost training, at the default intervals.

For the 8 Gaussians and Digits presets: the median training step without any metrics, the
extra time of a step that records layer statistics (every `stats_every` = 100 steps), and the
time of a quality evaluation (every `eval_every` = 100 steps: modes and JS divergence for 2D;
diversity, and the classifier's Fréchet distance and classes, for images). Prints their sum as
a share of the 100 steps' training time; the target is under 10%. The one-off training of the
data set's classifier (cached afterwards) is printed on its own.

It also times the Fréchet distance's numpy linear algebra (eigh of 64 x 64 covariances) with
numpy's BLAS at its own thread count (one per core) and at one thread, which is what GANViz
sets it to beside a one-thread torch (`core/devices.apply_num_threads`, via threadpoolctl).

    python benchmarks/bench_metrics.py [--steps 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("GANVIZ_HOME", tempfile.mkdtemp(prefix="ganviz-bench-"))

import torch

from ganviz_gui.core.presets import preset_named
from ganviz_gui.core.trainer import Trainer


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(preset: str, steps: int) -> None:
    config = preset_named(preset).config(
        steps=10**8, eval_every=10**6, stats_every=0, num_threads=1
    )
    trainer = Trainer(config)
    for _ in range(20):  # warm up allocators and caches
        trainer.step()
    step = median_seconds(trainer.step, steps)

    with_stats = Trainer(config.replace(stats_every=1))  # every step records statistics
    for _ in range(20):
        with_stats.step()
    stats_step = median_seconds(with_stats.step, max(steps // 3, 30))
    stats_extra = max(stats_step - step, 0.0)

    if trainer.dataset.is_image:
        started = time.perf_counter()
        trainer.evaluate_images("raw")  # the first call trains (or loads) the classifier
        first = time.perf_counter() - started
        evaluation = median_seconds(lambda: trainer.evaluate_images("raw"), 5)
        once = f"; first evaluation (training the classifier once) {first:.2f} s"
    else:
        evaluation = median_seconds(lambda: trainer.evaluate_2d("raw"), 5)
        once = ""
    interval = 100 * step
    share = (stats_extra + evaluation) / interval
    print(
        f"{preset}: step {step * 1000:.2f} ms; layer statistics +{stats_extra * 1000:.2f} ms "
        f"each 100 steps; quality evaluation {evaluation * 1000:.1f} ms each 100 steps; "
        f"together {share:.1%} of training time (target < 10%){once}"
    )


def measure_blas_threads(repeats: int) -> None:
    """The Fréchet distance between two 64-d Gaussians while torch computes on another thread
    (as during training), numpy's BLAS at its default thread count and at 1 thread."""
    import threading

    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    from ganviz_gui.core.data_classifier import FEATURES, frechet_distance

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 2000, FEATURES))
    stats = [(x.mean(0), np.cov(x, rowvar=False)) for x in (a, b)]
    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    done = threading.Event()

    def busy_torch() -> None:  # a training step's worth of work, over and over
        x = torch.randn(256, 256)
        while not done.is_set():
            x = torch.tanh(x @ x.T / 256)

    worker = threading.Thread(target=busy_torch, daemon=True)
    worker.start()
    try:
        for threads in sorted({max(blas, default=1), 1}, reverse=True):
            with threadpool_limits(limits=threads, user_api="blas"):
                seconds = median_seconds(lambda: frechet_distance(*stats[0], *stats[1]), repeats)
            print(
                f"Fréchet distance ({FEATURES}-d) beside a busy torch thread, numpy's BLAS at "
                f"{threads} thread(s): {seconds * 1e3:.2f} ms"
            )
    finally:
        done.set()
        worker.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    measure_blas_threads(repeats=max(5, args.steps // 10))
    for preset in ("8 Gaussians", "Digits - DCGAN"):
        measure(preset, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
