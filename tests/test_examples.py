"""The example in docs/examples runs as the README says, and what it writes opens."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_own_loop_example_writes_a_run_that_opens(tmp_path):
    from ganviz_gui.core.inspection import open_path

    run = tmp_path / "own-dcgan"
    subprocess.run(
        [sys.executable, str(ROOT / "docs/examples/own_loop_dcgan.py"), str(run), "--steps", "20"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )
    opened = open_path(run, trust=True)
    assert opened.generator is not None and opened.generator.sample_shape == (1, 16, 16)
    assert [step for step, _ in opened.checkpoints] == [0, 19]
