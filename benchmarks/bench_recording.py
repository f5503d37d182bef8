"""What recording a run costs: whole runs of a preset with their run folder written, against
the same runs with nothing written.

Recorded: `TrainingSession.start` in a fresh folder, `run`, `close`, at the preset's default
intervals (for 1,000 steps: a picture every 25 steps, a checkpoint every 100 with its fsyncs,
metrics every log_every, layer statistics every stats_every, events), everything the CLI and
the window write. Not recorded: a `Trainer` stepped to the same step, which measures the same
quality metrics and takes the same recovery snapshots (those are training, not recording),
and writes nothing. Both are timed from construction to the end of the run (close included:
the last picture and checkpoint are part of a recorded run), on one data set loaded once.

Each pair runs the two one after another, in an order that alternates from pair to pair so
drift in machine load favours neither. Printed per preset: each side's median seconds, the
speed ratio (not recorded / recorded: 1.0 means recording is free) of every pair and their
median, and the share of a recorded run the training thread spent on recording itself
(outside the trainer's steps), which a loaded machine disturbs less. Target: a median ratio
of at least 0.97 on both presets.

    python benchmarks/bench_recording.py [--pairs 5] [--steps 1000] [--threads 1]
                                         [--device cpu] [--preset "8 Gaussians" ...]
    python benchmarks/bench_recording.py --smoke   # a few steps, one pair: it runs
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ganviz_gui.core.config import TrainingConfig
from ganviz_gui.core.data import Dataset, load_dataset
from ganviz_gui.core.devices import apply_num_threads
from ganviz_gui.core.presets import preset_named
from ganviz_gui.core.trainer import Trainer
from ganviz_gui.core.training_session import TrainingSession

PRESETS = ("8 Gaussians", "Digits - DCGAN")
TARGET = 0.97  # at most 3% of training speed


def recorded(config: TrainingConfig, dataset: Dataset, folder: Path) -> tuple[float, float]:
    """Seconds for a whole run with its run folder written, and the part of them the training
    thread spent outside the trainer's steps: what recording costs it directly (the samples'
    decode, copies, handing over; the writer thread's own work is not in it)."""
    started = time.perf_counter()
    session = TrainingSession.start(config, run_dir=folder, dataset=dataset)
    training = session.trainer.step
    in_steps = 0.0

    def timed_step(kind: str = "both"):
        nonlocal in_steps
        begun = time.perf_counter()
        try:
            return training(kind)
        finally:
            in_steps += time.perf_counter() - begun

    session.trainer.step = timed_step  # type: ignore[method-assign]
    run_started = time.perf_counter()
    session.run(config.steps)
    session.close()
    ended = time.perf_counter()
    return ended - started, (ended - run_started) - in_steps


def not_recorded(config: TrainingConfig, dataset: Dataset) -> float:
    """Seconds for the same run, trained by the Trainer alone: nothing written."""
    started = time.perf_counter()
    trainer = Trainer(config, dataset=dataset)
    while trainer.step_count < config.steps:
        trainer.step()
    return time.perf_counter() - started


def measure(name: str, args: argparse.Namespace, scratch: Path) -> float:
    config = preset_named(name).config(
        steps=args.steps, num_threads=args.threads, device=args.device
    )
    dataset = load_dataset(config)
    # One untimed short run of each: imports, the quality classifier's cache, first kernels.
    warm = config.replace(steps=min(config.steps, 20))
    recorded(warm, dataset, scratch / "warm-up")
    not_recorded(warm, dataset)
    pairs: list[tuple[float, float]] = []  # (recorded, not recorded) seconds
    on_thread: list[float] = []  # the recorded runs' seconds of recording on the training thread
    for pair in range(args.pairs):
        folder = scratch / f"run-{pair}"
        if pair % 2 == 0:
            with_files, direct = recorded(config, dataset, folder)
            without = not_recorded(config, dataset)
        else:
            without = not_recorded(config, dataset)
            with_files, direct = recorded(config, dataset, folder)
        shutil.rmtree(folder, ignore_errors=True)
        pairs.append((with_files, without))
        on_thread.append(direct / with_files)
    ratios = [without / with_files for with_files, without in pairs]
    median = statistics.median(ratios)
    with_files = statistics.median(p[0] for p in pairs)
    without = statistics.median(p[1] for p in pairs)
    print(
        f"{name}: {config.steps} steps, a picture every {config.sample_interval()}, a "
        f"checkpoint every {config.checkpoint_interval()}: recorded {with_files:.2f} s, "
        f"not recorded {without:.2f} s (medians)"
    )
    print(
        f"  speed ratio {median:.3f} (target >= {TARGET}); pairs "
        + ", ".join(f"{ratio:.3f}" for ratio in ratios)
    )
    print(
        f"  recording on the training thread: {100 * statistics.median(on_thread):.1f}% of "
        "a recorded run (median; steadier than the ratio on a loaded machine)"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", action="append", choices=PRESETS)
    parser.add_argument("--smoke", action="store_true", help="a few steps, one pair (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.pairs, args.steps = 1, 30
    # Both sides alike: torch's threads and numpy's BLAS (a session applies them at start,
    # the Trainer alone does not).
    apply_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="ganviz-bench-recording-") as scratch:
        for name in args.preset or PRESETS:
            measure(name, args, Path(scratch))


if __name__ == "__main__":
    main()
