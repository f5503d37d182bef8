"""End-to-end: the engine really learns (the issue's acceptance run, about 50 s on 2 cores)."""

import json

import pytest

from ganviz_gui.cli import main


@pytest.mark.slow
def test_ring8_default_run_covers_most_modes(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            ["train", "--dataset", "ring8", "--steps", "5000", "--seed", "0", "--run-dir", str(run)]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(run / "checkpoints" / "step_00005000.pt"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["modes_covered"] >= 6, result
    assert result["high_quality"] >= 0.5, result
