"""Record the runs the diagnostics are tested on, with the engine itself (8 Gaussians, ring8).

    python scripts/make_diagnostic_runs.py [--out tests/data/diagnostic_runs]

- healthy:  the 8 Gaussians preset's settings (Adam 1e-3, R1 0.1), 4,000 steps;
- collapse: the same without R1, seed 2: a vanilla GAN that settles on 2 of the 8 modes;
- strong_d: D's learning rate 10x G's (1e-3 and 1e-4): D wins and G collapses to one mode;
- unstable: SGD with momentum 0.9 at 0.05: non-finite losses (recovered), then D and G
  taking turns.
Each keeps config.json, metrics.jsonl and events.jsonl (about 60 KB); checkpoints and
pictures are dropped. About 100 s on a 2-core CPU; the recordings are deterministic per
machine, not bit-identical across machines (the tests check patterns, not exact numbers).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from ganviz_gui.core.config import TrainingConfig, recommended_settings
from ganviz_gui.core.training_session import TrainingSession

COMMON = dict(
    dataset="ring8",
    log_every=20,
    eval_every=100,
    stats_every=0,
    sample_every=10**8,
    checkpoint_every=10**8,
    num_threads=1,
)
RECOMMENDED = recommended_settings("ring8", "mlp")
RUNS = {
    "healthy": dict(RECOMMENDED, steps=4000),
    "collapse": dict(RECOMMENDED, r1_weight=0.0, seed=2, steps=5000),
    "strong_d": dict(lr_g=1e-4, lr_d=1e-3, steps=4000),
    "unstable": dict(
        optimizer_g="sgd",
        optimizer_d="sgd",
        lr_g=0.05,
        lr_d=0.05,
        beta1_g=0.9,
        beta1_d=0.9,
        steps=4000,
    ),
}
KEPT_FILES = ("config.json", "metrics.jsonl", "events.jsonl")


def record(name: str, out: Path) -> Path:
    config = TrainingConfig(**{**COMMON, **RUNS[name]})
    with tempfile.TemporaryDirectory() as scratch:
        session = TrainingSession.start(config, run_dir=Path(scratch) / name)
        session.run(config.steps)
        session.close()
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        for file in KEPT_FILES:
            shutil.copy(Path(scratch) / name / file, target / file)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tests/data/diagnostic_runs"))
    parser.add_argument("names", nargs="*", default=list(RUNS))
    args = parser.parse_args()
    for name in args.names:
        print(f"recorded {record(name, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
