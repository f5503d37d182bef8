"""Exports: metrics CSV and the run's samples as a GIF."""

from __future__ import annotations

import csv

import pytest
from PIL import Image

from ganviz_gui.core.errors import DataError
from ganviz_gui.core.exports import write_metrics_csv, write_run_gif
from ganviz_gui.core.run_folder import read_jsonl
from ganviz_gui.core.training_session import TrainingSession
from tests.core.helpers import tiny_points_config


def test_metrics_csv_has_every_record_and_every_column(tmp_path):
    records = [{"step": 20, "loss_d": 0.5}, {"step": 10, "loss_d": 0.7, "js_divergence": 0.3}]
    path = write_metrics_csv(records, tmp_path / "m.csv")
    rows = list(csv.DictReader(path.open()))
    assert [r["step"] for r in rows] == ["10", "20"]
    assert rows[0]["js_divergence"] == "0.3" and rows[1]["js_divergence"] == ""
    assert next(iter(rows[0])) == "step"
    with pytest.raises(DataError, match="no metrics"):
        write_metrics_csv([], tmp_path / "empty.csv")


def test_a_runs_samples_become_an_animated_gif(tmp_path):
    config = tiny_points_config(steps=40, sample_every=10)
    session = TrainingSession.start(config, run_dir=tmp_path / "run")
    session.run(40)
    session.close()
    frames = write_run_gif(tmp_path / "run", tmp_path / "run.gif", frame_ms=100)
    assert frames == 5  # steps 0, 10, 20, 30, 40
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.n_frames == 5 and gif.is_animated
    rows = write_metrics_csv(read_jsonl(tmp_path / "run" / "metrics.jsonl"), tmp_path / "m.csv")
    assert len(rows.read_text().splitlines()) == 1 + 40 // 5


def test_a_run_without_pictures_is_a_message(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(DataError, match="no sample pictures"):
        write_run_gif(tmp_path / "run", tmp_path / "x.gif")
