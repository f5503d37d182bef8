"""The live panels and the training worker, each on its own."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")

from ganviz_gui.core.live_views import PlaneField
from ganviz_gui.core.trainer import Trainer
from ganviz_gui.core.workspace import Mode, RunDelta, RunInfo
from ganviz_gui.gui.field_view import FieldView
from ganviz_gui.gui.loss_plots import LossPlots
from ganviz_gui.gui.plot_labels import nice_ceiling, nice_range
from ganviz_gui.gui.training_worker import RefreshRates, TrainingThread, TrainingWorker
from tests.core.helpers import tiny_points_config


def records(n: int, start: int = 0) -> list[dict]:
    rng = np.random.default_rng(start)
    return [
        {
            "step": 10 * (start + i + 1),
            "loss_d": 1.0 + rng.normal(0, 0.1),
            "loss_g": 2.0 + rng.normal(0, 0.1),
            "lr_g": 2e-4,
            "lr_d": 2e-4,
        }
        for i in range(n)
    ]


def feed(plots, records=(), events=()):
    """New records and events of the run shown, as a source hands them to the workspace."""
    plots.workspace.extend(RunDelta(records=list(records), events=list(events)))


@pytest.fixture
def plots(qtbot):
    widget = LossPlots()
    qtbot.addWidget(widget)
    widget.resize(700, 700)
    widget.show()
    return widget


def test_loss_plots_draw_raw_and_smoothed_curves_and_follow(plots):
    feed(plots, records(300))
    plots.redraw()
    x, y = plots.drawn_curve("loss_d")
    assert len(x) == 300 and x[-1] == 3000
    _, raw_y = plots.drawn_curve("loss_d", smoothed=False)
    assert np.std(y) < np.std(raw_y)  # smoothed
    x_range = plots.plots["losses"].getViewBox().viewRange()[0]
    assert x_range == pytest.approx([0, 3000])
    low, high = plots.plots["losses"].getViewBox().viewRange()[1]
    assert low < raw_y.min() and high > raw_y.max()
    # D's points only in the D-output plot: no data, no curve.
    assert plots.series["d_real"].count == 0


def test_smoothing_slider_resmooths_everything(plots):
    feed(plots, records(100))
    plots.redraw()
    plots.smoothing_slider.setValue(0)
    _, y = plots.drawn_curve("loss_g")
    _, raw = plots.drawn_curve("loss_g", smoothed=False)
    np.testing.assert_allclose(y, raw)
    assert plots.smoothing_label.text() == "0.00"


def test_zooming_by_hand_stops_following_and_the_box_brings_it_back(plots):
    feed(plots, records(50))
    plots.redraw()
    view = plots.plots["losses"].getViewBox()
    view.setXRange(100, 200)
    view.sigRangeChangedManually.emit([True, True])
    assert not plots.follow_check.isChecked()
    feed(plots, records(50, start=50))
    plots.redraw()
    assert view.viewRange()[0] == pytest.approx([100, 200], abs=5)  # left where the user put it
    plots.follow_check.setChecked(True)
    assert view.viewRange()[0] == pytest.approx([0, 1000])


def test_log_scale_and_hover_readout(plots):
    feed(plots, records(20))
    plots.redraw()
    plots.log_check.setChecked(True)
    assert plots.plots["losses"].ctrl.logYCheck.isChecked()
    text = plots.show_readout("losses", 104)
    assert text.startswith("step 100:") and "D</span> 1." in text and "smoothed" in text


def test_events_are_marked_on_every_plot(plots):
    feed(
        plots,
        events=[
            {"step": 50, "kind": "settings_changed", "lr_g": 1e-4},
            {"step": 70, "kind": "nonfinite_recovery", "restored_step": 0},
            {"step": 80, "kind": "checkpoint"},  # not an event the plots mark
        ],
    )
    assert len(plots.events) == 2
    assert plots.marker_count() == 2 * len(plots.plots)
    plots.workspace.show_run(RunInfo("folder", "another run"), Mode.INSPECTING)
    assert plots.marker_count() == 0 and plots.point_count() == 0


def test_nice_numbers():
    assert [nice_ceiling(v) for v in (7, 10, 11, 2600, 0.003)] == [8, 10, 12.5, 3000, 0.003]
    assert nice_range(np.array([0.62, 1.43])) == pytest.approx((0.4, 1.6))
    assert nice_range(np.array([np.nan, np.inf])) == (0.0, 1.0)
    low, high = nice_range(np.array([2e-4, 2e-4]), from_zero=True)
    assert low == 0 and high > 2e-4


def test_field_view_draws_a_snapshot_and_reads_d_under_the_mouse(qtbot):
    view = FieldView()
    qtbot.addWidget(view)
    view.show()
    trainer = Trainer(tiny_points_config())
    snapshot = PlaneField(trainer).snapshot()
    view.set_snapshot(snapshot)
    assert view.frame.showing_view()
    x, _ = view.fake.getData()
    assert len(x) == len(snapshot.fake)
    mesh_x, _ = view.mesh.getData()
    assert np.isnan(mesh_x).sum() == 2 * snapshot.mesh.shape[0]  # one break per mesh line
    arrows_x, _ = view.arrows.getData()
    assert len(arrows_x) == 2 * len(snapshot.arrows)
    x0, _, y0, _ = snapshot.bounds
    text = view.describe_point(x0 + 1e-6, y0 + 1e-6)
    assert f"D = {snapshot.heat[0, 0]:.3f}" in text
    view.layer_checks["mesh"].setChecked(False)
    assert not view.mesh.isVisible() and view.fake.isVisible()
    assert "step 0" in view.step_label.text()


def test_worker_coalesces_updates_and_delivers_every_record_once(qtbot):
    config = tiny_points_config(steps=400, log_every=5, checkpoint_every=10_000)
    worker = TrainingWorker(config, rates=RefreshRates(update_hz=10, field_hz=10))
    updates, ended = [], []
    worker.updated.connect(lambda u: (updates.append(u), worker.acknowledge()))
    worker.run_ended.connect(ended.append)
    thread = TrainingThread(worker)
    with qtbot.waitSignal(thread.qthread.finished, timeout=120_000):
        thread.start()
    qtbot.waitUntil(lambda: bool(ended), timeout=10_000)
    assert ended[0].reason == "finished" and ended[0].step == 400
    steps = [r["step"] for u in updates for r in u.records]
    assert steps == list(range(5, 401, 5))
    assert len(updates) < 400 / 5  # coalesced: fewer updates than records
    assert updates[0].field is not None and updates[-1].field.step == 400
    assert ended[0].checkpoint.endswith(".pt")
