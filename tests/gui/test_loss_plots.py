"""The loss plots as a user reads them: the smoothing bar, raw settings, event labels and the
quality row of each kind of run."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

pytest.importorskip("pyqtgraph")

from ganviz_gui.core.workspace import Mode, RunDelta, RunInfo
from ganviz_gui.gui.loss_plots import SLIDER_MIN_WIDTH, LossPlots
from ganviz_gui.gui.plot_labels import event_text

WIDTH_AT_DEFAULT_WINDOW = 488  # px the plots get in the 1400x860 window (measured)


@pytest.fixture
def plots(qtbot):
    widget = LossPlots()
    qtbot.addWidget(widget)
    widget.resize(WIDTH_AT_DEFAULT_WINDOW, 760)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def training_records(steps, lr_d=lambda step: 2e-4, seed=0):
    rng = np.random.default_rng(seed)
    return [
        {
            "step": int(step),
            "loss_d": 1.0 + rng.normal(0, 0.1),
            "loss_g": 2.0 + rng.normal(0, 0.1),
            "lr_d": lr_d(step),
            "lr_g": 2e-4,
        }
        for step in steps
    ]


def show(plots, run, records=(), events=(), qtbot=None):
    """Show a run with what it recorded; with `qtbot`, also let the plots lay out and paint
    (pyqtgraph maps a view's items to the scene at its next paint)."""
    plots.workspace.show_run(
        run, Mode.INSPECTING, RunDelta(records=list(records), events=list(events))
    )
    if qtbot is not None:
        qtbot.wait(50)


def test_the_smoothing_slider_keeps_room_to_drag_and_its_value_beside_it(plots, qtbot):
    plots.resize(200, 760)  # narrower than the bar: the layout gives the plots their minimum
    qtbot.wait(10)
    assert plots.smoothing_slider.width() >= SLIDER_MIN_WIDTH
    assert plots.smoothing_label.text() == "0.60"
    # ... and the bar still fits the plots' width in the default window.
    assert plots.minimumSizeHint().width() <= WIDTH_AT_DEFAULT_WINDOW


def test_a_step_in_the_learning_rate_is_drawn_as_a_step(plots):
    records = training_records(range(10, 1010, 10), lr_d=lambda s: 2e-4 if s <= 500 else 4e-3)
    show(plots, RunInfo("folder", "run"), records)
    plots.redraw()
    _, lr = plots.drawn_curve("lr_d")
    # No value between: not a ramp (the plots keep values as float32, what a screen resolves).
    assert set(lr.tolist()) == {float(np.float32(2e-4)), float(np.float32(4e-3))}
    _, loss = plots.drawn_curve("loss_d")
    _, raw_loss = plots.drawn_curve("loss_d", smoothed=False)
    assert np.std(loss) < np.std(raw_loss)  # the losses are still smoothed
    assert "smoothed" not in plots.show_readout("learning_rates", 500)


def test_a_live_change_is_labelled_whole_inside_the_plot(plots, qtbot):
    records = training_records(range(10, 1010, 10), lr_d=lambda s: 2e-4 if s <= 500 else 4e-3)
    events = [
        {"step": 500, "time": 0.0, "kind": "settings_changed", "lr_d": 0.004},
        {"step": 505, "time": 0.0, "kind": "settings_changed", "d_steps": 2},
        {"step": 1000, "time": 0.0, "kind": "settings_changed", "lr_g": 0.001},
    ]
    show(plots, RunInfo("folder", "run"), records, events, qtbot)
    labels = plots.event_labels()
    assert [label.shown_text for label in labels] == [
        "lr_d 2e-4 → 4e-3",  # the value before is known from the records
        "d_steps=2",
        "lr_g 2e-4 → 1e-3",
    ]
    view = plots.plots["losses"].getViewBox().sceneBoundingRect()
    rects = [label.sceneBoundingRect() for label in labels]
    for rect in rects:  # the one at the last step too: it is put to the left of its line
        assert view.contains(rect), (rect, view)
    assert not rects[0].intersects(rects[1])  # two changes five steps apart: one lower


def test_a_label_too_long_for_the_plot_is_cut_and_whole_in_its_tooltip(plots, qtbot):
    long = {"step": 500, "kind": "settings_changed", "loss": "a-very-long-loss-name " * 8}
    show(plots, RunInfo("folder", "run"), training_records(range(10, 1010, 10)), [long], qtbot)
    label = plots.event_labels()[0]
    assert label.shown_text.endswith("…") and label.toolTip() == event_text(long)
    view = plots.plots["losses"].getViewBox().sceneBoundingRect()
    assert view.contains(label.sceneBoundingRect())


def test_event_values_are_written_compactly():
    change = {"step": 5, "kind": "settings_changed", "lr_d": 0.004}
    assert event_text(change) == "lr_d=0.004"
    assert event_text(change, {"lr_d": 2e-4}) == "lr_d 2e-4 → 4e-3"
    assert event_text(change, {"lr_d": 0.004}) == "lr_d=0.004"  # no change to tell
    assert event_text({"step": 5, "kind": "settings_changed", "lr_g": 2.5e-5}) == "lr_g=2.5e-5"
    assert event_text({"step": 5, "kind": "settings_changed", "loss": "hinge"}) == "loss=hinge"
    # GANViz's own events say what they changed from; that wins over the records' guess.
    recorded = {**change, "previous": {"lr_d": 1e-3}}
    assert event_text(recorded, {"lr_d": 2e-4}) == "lr_d 0.001 → 0.004"
    loss = {"step": 5, "kind": "settings_changed", "loss": "hinge", "previous": {"loss": "bce"}}
    assert event_text(loss) == "loss bce → hinge"
    assert event_text({**change, "previous": "junk"}) == "lr_d=0.004"  # someone else's field


def quality_records(kind: str):
    if kind == "points":
        return [
            {"step": s, "modes_covered": s // 100, "modes_total": 8, "high_quality": 0.1 * s / 100}
            | {"js_divergence": 1 - s / 1000}
            for s in range(100, 900, 100)
        ]
    return [
        {"step": s, "frechet_distance": 500.0 - s / 2, "diversity_ratio": s / 1000}
        | {"classes_covered": s // 100, "classes_total": 10}
        for s in range(100, 1100, 100)
    ]


def test_the_quality_row_names_what_each_kind_of_run_records(plots, qtbot):
    show(plots, RunInfo("folder", "ring", is_image=False), quality_records("points"))
    assert plots.quality_legend() == ("Quality: cover HQ JS", "")
    assert not plots.plots["quality"].getAxis("right").isVisible()

    show(plots, RunInfo("folder", "digits", is_image=True), quality_records("images"), (), qtbot)
    assert plots.quality_legend() == ("Quality: classes div", "Fréchet distance")
    steps, fd = plots.drawn_curve("frechet_distance")
    assert steps.tolist() == list(range(100, 1100, 100)) and fd[0] == pytest.approx(450)
    # The distance (hundreds) has the right axis; the shares keep theirs, within [0, 1.5].
    assert plots.plots["quality"].getViewBox().viewRange()[1][1] <= 1.5
    low, high = plots._right_view.viewRange()[1]
    assert low == 0 and high >= 450
    assert "FD</span> 450" in plots.show_readout("quality", 100)

    show(plots, RunInfo("folder", "ring again", is_image=False), quality_records("points"))
    assert plots.quality_legend() == ("Quality: cover HQ JS", "")
    assert not plots._right_view.isVisible()


def test_a_step_is_at_the_same_x_in_every_row_with_the_right_axis_shown(plots, qtbot):
    records = training_records(range(10, 1010, 10))
    show(plots, RunInfo("trainer", "digits", is_image=True), records + quality_records("images"))
    qtbot.wait(50)
    edges = {
        name: (round(rect.left()), round(rect.right()))
        for name, plot in plots.plots.items()
        if plot.isVisible()
        for rect in [plot.getViewBox().sceneBoundingRect()]
    }
    assert len(edges) == 5 and len(set(edges.values())) == 1, edges
    right = plots._right_view.sceneBoundingRect()
    own = plots.plots["quality"].getViewBox().sceneBoundingRect()
    assert (right.left(), right.top()) == (own.left(), own.top())
    assert (right.width(), right.height()) == pytest.approx((own.width(), own.height()), abs=1)


def long_run(count: int, spike_at: int, seed: int = 0):
    """`count` records of every step, loss_d with one spike; as columns (a source's delta)."""
    from ganviz_gui.core.record_columns import RecordColumns

    rng = np.random.default_rng(seed)
    loss_d = 1.0 + rng.normal(0, 0.05, count)
    loss_d[spike_at] = 9.0
    return RecordColumns.from_records(
        [
            {"step": s, "loss_d": d, "loss_g": 2.0, "lr_d": 2e-4}
            for s, d in zip(range(count), loss_d.tolist(), strict=True)
        ]
    )


def test_a_long_run_is_drawn_in_what_the_view_holds_and_keeps_its_spike(plots, qtbot):
    count, spike = 200_000, 123_457
    show(plots, RunInfo("folder", "long"), long_run(count, spike), (), qtbot)
    view = plots.plots["losses"].getViewBox()
    pixels = view.width()
    for low, high in ((0, count), (spike - 20_000, spike + 20_000), (spike - 500, spike + 500)):
        view.setXRange(low, high, padding=0)
        view.sigRangeChangedManually.emit([True, False])
        qtbot.wait(80)  # the zoom settles, and is drawn for
        steps, raw = plots.drawn_curve("loss_d", smoothed=False)
        smoothed_steps, _ = plots.drawn_curve("loss_d")
        assert 9.0 in raw, (low, high)
        assert len(steps) == len(smoothed_steps) <= 4 * pixels + 64
        assert steps[0] <= max(low, 0) and steps[-1] >= min(high, count - 1)
    assert not plots.follow_check.isChecked()
    # Zoomed in to fewer records than pixels, every record is drawn as recorded.
    assert steps.tolist() == list(range(spike - 501, spike + 502))
    # The read-out gives the record under the mouse, not a bucket's extremes.
    assert "D</span> 9 " in plots.show_readout("losses", spike)
    assert "D</span> 9 " not in plots.show_readout("losses", spike + 1)
    # Curves recorded at the same steps keep them once.
    assert (
        plots.series["loss_d"].steps is plots.series["loss_g"].steps is plots.series["lr_d"].steps
    )


def test_live_appends_build_on_the_pyramid_drawn(plots, qtbot):
    show(plots, RunInfo("trainer", "live"), long_run(50_000, 7), (), qtbot)
    pyramid = plots.series["loss_d"].raw_pyramid
    level_0 = pyramid.levels[0].to_array()
    for start in range(50_000, 50_800, 8):  # a live run: eight records at a time
        plots.workspace.extend(
            RunDelta(
                records=[{"step": s, "loss_d": 1.0, "loss_g": 2.0} for s in range(start, start + 8)]
            )
        )
    plots.redraw()
    # 800 new points: 50 new buckets at level 0 (and the few above); each bucket built once,
    # and those built before kept as they were.
    assert pyramid.buckets(0) - len(level_0) // 2 == 50
    assert pyramid.buckets_built == sum(pyramid.buckets(k) for k in range(len(pyramid.levels)))
    np.testing.assert_array_equal(pyramid.levels[0][0 : len(level_0)], level_0)
    steps, _ = plots.drawn_curve("loss_d")
    assert steps[-1] == 50_799 and len(steps) <= 4 * plots.plots["losses"].getViewBox().width() + 64


def test_a_long_live_run_is_drawn_once_its_new_points_reach_a_column_or_a_second_passed(
    plots, qtbot, monkeypatch
):
    """Followed at 50,000 steps on ~400 px (about 150 steps a pixel column), a few new records
    change nothing drawn but the last column: they wait, at most SLOW_REDRAW_S; records that
    reach past the next column are drawn at the next tick, as are a short run's."""
    from ganviz_gui.gui import loss_plots

    show(plots, RunInfo("trainer", "live"), long_run(50_000, 7), (), qtbot)
    low, high, pixels = plots._shown_steps()
    per_column = (high - low) / pixels
    assert per_column > 20
    monkeypatch.setattr(loss_plots, "SLOW_REDRAW_S", 60.0)  # no second passes in this test
    qtbot.wait(round(1000 / loss_plots.REDRAW_HZ) + 50)  # the first draw's timer, the layout
    draws = []
    real_redraw = plots.redraw
    monkeypatch.setattr(plots, "redraw", lambda: (draws.append(1), real_redraw()))

    def live(steps):
        plots.workspace.extend(RunDelta(records=[{"step": s, "loss_d": 1.5} for s in steps]))

    live(range(50_000, 50_005))
    qtbot.wait(round(2000 / loss_plots.REDRAW_HZ))
    assert not draws and plots.drawn_curve("loss_d")[0][-1] < 50_000
    live(range(50_005, 50_005 + int(per_column) + 1))  # now past the next column
    qtbot.waitUntil(lambda: bool(draws), timeout=2000)
    assert plots.drawn_curve("loss_d")[0][-1] == 50_005 + int(per_column)
    monkeypatch.setattr(loss_plots, "SLOW_REDRAW_S", 0.2)
    draws.clear()
    live([50_100 + int(per_column)])  # one record, within the column: drawn once 0.2 s passed
    qtbot.waitUntil(lambda: bool(draws), timeout=2000)
    assert plots.drawn_curve("loss_d")[0][-1] == 50_100 + int(per_column)


def test_a_refresh_that_moves_the_ranges_is_painted_once(plots, qtbot):
    """New extremes move every plot's value range: the views take their new transforms in the
    refresh, so the plots are painted once, not again because the paint changed them."""
    from PySide6.QtCore import QEvent, QObject

    class PaintCounter(QObject):
        count = 0

        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    show(plots, RunInfo("trainer", "live"), long_run(20_000, 7), (), qtbot)
    qtbot.wait(400)
    counter = PaintCounter()
    plots.graphics.viewport().installEventFilter(counter)
    before = plots.plots["losses"].getViewBox().viewRange()[1]
    record = {"step": 25_000, "loss_d": 40.0, "loss_g": 55.0, "lr_d": 0.5}
    plots.workspace.extend(RunDelta(records=[record]))
    qtbot.waitUntil(lambda: counter.count > 0, timeout=2000)
    qtbot.wait(200)
    plots.graphics.viewport().removeEventFilter(counter)
    assert plots.plots["losses"].getViewBox().viewRange()[1] != before
    assert counter.count == 1


def _finding(kind, first, last, title="D overpowering"):
    from ganviz_gui.core.diagnostics import Finding

    return Finding(kind, title, first, last, evidence=f"evidence {first}", advice="try")


def test_findings_are_shaded_once_each_with_their_text_under_the_mouse(plots, qtbot):
    plots.add_records(training_records(range(0, 5000, 10)))
    plots.redraw()
    findings = [_finding("nonfinite", 100 * i, 100 * i + 50) for i in range(40)]
    findings.append(_finding("nonfinite", 120, 400))  # overlaps several of them
    plots.set_findings(findings)
    assert len(plots.shaded_ranges()) == 41
    bands = plots._finding_bands["losses"]
    # Overlapping ranges are drawn as one band: shaded once, not darker where two meet.
    assert len(bands._merged) == 40 - 3  # 100-150 to 400-450 are one band
    assert "evidence 200" in bands.tip_at(225) and "evidence 120" in bands.tip_at(225)
    assert bands.tip_at(475) == ""
    picture = plots.graphics.grab().toImage()
    view = plots.plots["losses"].getViewBox()
    middle = view.viewRect().center().y()

    def red_at(step):
        at = plots.graphics.mapFromScene(view.mapViewToScene(QPointF(step, middle)))
        colour = picture.pixelColor(at.x(), at.y())
        return colour.red() - colour.blue()

    assert red_at(3025) > red_at(3075) + 5  # inside a band, beside it
    plots.set_findings([])
    assert plots.shaded_ranges() == []


def test_the_same_findings_again_do_not_repaint(plots):
    findings = [_finding("nonfinite", 10, 20)]
    plots.set_findings(findings)
    bands = plots._finding_bands["losses"]
    merged = bands._merged
    plots.set_findings(list(findings))
    assert bands._merged is merged  # unchanged: neither rebuilt nor repainted


def test_a_long_runs_curves_are_re_smoothed_off_the_gui_thread(plots, qtbot, monkeypatch):
    import ganviz_gui.gui.loss_plots as loss_plots

    monkeypatch.setattr(loss_plots, "SYNC_SMOOTHING_POINTS", 1000)  # "long": over 1,000 points
    plots.add_records(training_records(range(0, 20_000, 10)))
    plots.redraw()
    _, before = plots.drawn_curve("loss_d")
    series = plots.series["loss_d"]
    for value in (10, 20, 30):  # a drag: each notch shows its value, nothing is re-smoothed yet
        plots.smoothing_slider.setValue(value)
        assert plots.smoothing_label.text() == f"{value / 100:.2f}"
        assert series.weight == loss_plots.DEFAULT_SMOOTHING
    # Records arriving while the pass runs are smoothed with the new weight too.
    plots.add_records(training_records(range(20_000, 20_100, 10), seed=1))
    qtbot.waitUntil(lambda: series.weight == 0.3, timeout=5000)
    exact = plots.series["loss_d"]
    from ganviz_gui.core.smoothing import ema_smooth

    values = np.asarray(exact.values.to_array(), np.float64)
    np.testing.assert_allclose(
        exact.smoothed_values(0, exact.count), ema_smooth(values, 0.3)[0], rtol=1e-9
    )
    plots.redraw()
    _, after = plots.drawn_curve("loss_d")
    assert not np.array_equal(before, after)
