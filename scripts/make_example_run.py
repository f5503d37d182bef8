"""Train the small example run that ships in resources/ (File > Open example): the Digits -
DCGAN preset for 3,000 steps, a checkpoint every 1,000 (3 kept, about 1.1 MB each), sample
pictures every 250, layer statistics every 100. About 40 s on a 2-core CPU.

    python scripts/make_example_run.py [--out resources/examples/digits-dcgan]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ganviz_gui.core.presets import preset_named
from ganviz_gui.core.training_session import TrainingSession

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "resources" / "examples" / "digits-dcgan"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    config = preset_named("Digits - DCGAN").config(
        steps=3000,
        checkpoint_every=1000,
        keep_checkpoints=0,
        sample_every=250,
        stats_every=100,
        seed=0,
    )
    if args.out.exists():
        shutil.rmtree(args.out)
    session = TrainingSession.start(config, run_dir=args.out)
    session.run(config.steps)
    session.close()
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {args.out}: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
