"""The live pictures' time budget: a picture that costs more comes less often, never more
often than its base rate, and the loop keeps to it. Qt-free; no timing is asserted (costs
come from fake clocks)."""

from __future__ import annotations

from itertools import pairwise

import pytest

from ganviz_gui.core.live_loop import LiveLoop, RefreshRates
from ganviz_gui.core.picture_budget import PictureBudget
from tests.core.helpers import tiny_image_config, tiny_points_config
from tests.core.test_live_loop import Recorder, TickingClock, ended, run


def test_a_costly_picture_waits_cost_over_budget_and_a_cheap_one_keeps_its_rate():
    budget = PictureBudget(0.03)
    assert budget.interval("samples", 0.5) == 0.5  # not measured yet: the base rate
    budget.record("samples", 0.12)
    assert budget.interval("samples", 0.5) >= 0.12 / 0.03
    budget.record("field", 0.001)
    assert budget.interval("field", 0.1) == 0.1  # 0.001 / 0.03 is well under the base


def test_pictures_wanted_together_share_the_budget():
    budget = PictureBudget(0.04)
    budget.record("samples", 0.01)
    budget.record("weights", 0.01)
    alone = budget.interval("samples", 0.0)
    shared = budget.interval("samples", 0.0, sharing=2)
    assert alone == pytest.approx(0.01 / 0.04) and shared == pytest.approx(0.01 / 0.02)
    # Together they stay within the budget: the sum of cost / interval.
    assert 0.01 / shared + 0.01 / budget.interval("weights", 0.0, sharing=2) <= 0.04 + 1e-12


def test_one_slow_picture_does_not_hold_the_next_ones_back():
    budget = PictureBudget(0.03, window=3)
    budget.record("samples", 2.0)  # e.g. the first call, building the kernels
    budget.record("samples", 0.015)
    assert budget.interval("samples", 0.5) == pytest.approx(0.5)
    for _ in range(3):  # a model that has become slow for good
        budget.record("samples", 0.3)
    assert budget.interval("samples", 0.5) == pytest.approx(10.0)


def test_drawing_a_picture_on_screen_counts_with_making_it():
    budget = PictureBudget(0.03, window=3)
    budget.record("field", 0.002)
    assert budget.interval("field", 0.1) == pytest.approx(0.1)  # 0.002 / 0.03 < 0.1
    # The GUI thread reports what drawing each one cost it (from another thread: tuples).
    for seconds in (0.5, 0.004, 0.006, 0.005):  # the first paint is dear; then steady
        budget.record_drawn("field", seconds)
    assert budget.cost("field") == pytest.approx(0.002 + 0.004)
    assert budget.interval("field", 0.1) == pytest.approx(0.006 / 0.03)
    budget.record_drawn("field", 0.007)  # only the last three are kept
    assert budget.cost("field") == pytest.approx(0.002 + 0.005)


def test_a_budget_outside_zero_to_one_is_refused():
    for wrong in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="picture budget"):
            PictureBudget(wrong)


def _sheets_sent_at(tmp_path, cost_clock, steps: int = 200, shown: bool = True):
    """Run a tiny image run on a fake clock; when each update with a sample sheet was sent,
    and every update."""
    clock = TickingClock(0.05)
    config = tiny_image_config(steps=steps, log_every=10, checkpoint_every=0, sample_every=0)
    recorder = Recorder()
    loop = LiveLoop(
        recorder,
        config,
        rates=RefreshRates(samples_hz=2.0, picture_budget=0.03),
        run_dir=str(tmp_path / "run"),
        clock=clock,
        cost_clock=cost_clock,
    )
    loop.set_wanted("samples", shown)
    recorder.loop = loop
    sent_at: list[float] = []
    recorder.on_update = lambda u: sent_at.append(clock.now) if u.samples is not None else None
    run(loop)
    assert ended(recorder).reason == "finished"
    return sent_at[1:-1], recorder.updates[1:-1]  # between the forced first and final ones


def test_the_loop_stretches_a_costly_grid_to_its_budget(tmp_path):
    # Each sheet costs 0.3 s (a cost clock moving 0.3 s between the two reads around it):
    # at 3% of the time, one sheet every 10 s at most, where the base rate is one per 0.5 s.
    # The first sheet (at the start) warms up and is not counted; from the second on, the
    # grid waits for its budget.
    sent_at, paced = _sheets_sent_at(tmp_path, TickingClock(0.3), steps=300)
    second = next(i for i, u in enumerate(paced) if u.samples is not None)
    assert all(u.picture_intervals == {"samples": 0.5} for u in paced[:second])
    after = paced[second:]
    assert all(u.picture_intervals == {"samples": pytest.approx(10.0)} for u in after)
    assert len(sent_at) >= 3  # the run is long enough for some, so the spacing is tested
    assert all(later - earlier >= 10.0 for earlier, later in pairwise(sent_at))


def test_a_cheap_grid_keeps_its_base_rate(tmp_path):
    sent_at, paced = _sheets_sent_at(tmp_path, lambda: 0.0)  # costs nothing
    assert all(u.picture_intervals == {"samples": 0.5} for u in paced)
    assert len(sent_at) >= 10  # many more than the costly grid's
    assert all(later - earlier >= 0.5 for earlier, later in pairwise(sent_at))


def test_a_hidden_grid_is_neither_made_nor_given_a_share(tmp_path):
    sent_at, paced = _sheets_sent_at(tmp_path, TickingClock(0.3), steps=40, shown=False)
    assert sent_at == [] and paced and all(u.picture_intervals == {} for u in paced)


def test_the_field_and_the_explorers_follow_split_the_budget(tmp_path):
    # 2D data: the field and the weight copies, each costing 0.01 s, share 3%: 1.5% each.
    config = tiny_points_config(steps=200, log_every=10)
    recorder = Recorder()
    loop = LiveLoop(
        recorder,
        config,
        rates=RefreshRates(field_hz=10.0, picture_budget=0.03),
        run_dir=str(tmp_path / "run"),
        clock=TickingClock(0.05),
        cost_clock=TickingClock(0.01),
    )
    loop.set_wanted("weights", True)
    loop.set_weights_interval(0.2)
    recorder.loop = loop
    run(loop)
    paced = recorder.updates[4:-1]  # after the first field and weights, made at the start
    expected = {"field": pytest.approx(0.01 / 0.015), "weights": pytest.approx(0.01 / 0.015)}
    assert paced and all(u.picture_intervals == expected for u in paced)
    fields = [u for u in paced if u.field is not None]
    weights = [u for u in paced if u.weights is not None]
    assert 0 < len(fields) < len(paced) and 0 < len(weights) < len(paced)


def test_a_new_budget_applies_from_the_next_picture_and_a_wrong_one_is_refused():
    budget = PictureBudget(0.02)
    budget.record("samples", 0.3)
    assert budget.interval("samples", 0.5) == pytest.approx(15.0)
    budget.set_share(0.10)  # View > Live pictures, while a run trains
    assert budget.interval("samples", 0.5) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="picture budget"):
        budget.set_share(0.0)
    assert budget.share == 0.10  # the refused one changed nothing


def test_the_loop_takes_a_budget_changed_while_it_runs(tmp_path):
    # The same costly grid as above (0.3 s a sheet): at the default 2% one sheet every 15 s;
    # raised to 10% after the second sheet, every 3 s from then on.
    clock = TickingClock(0.05)
    config = tiny_image_config(steps=400, log_every=10, checkpoint_every=0, sample_every=0)
    recorder = Recorder()
    loop = LiveLoop(
        recorder,
        config,
        rates=RefreshRates(samples_hz=2.0),
        run_dir=str(tmp_path / "run"),
        clock=clock,
        cost_clock=TickingClock(0.3),
    )
    loop.set_wanted("samples", True)
    recorder.loop = loop
    sheets: list[float] = []

    def on_update(update) -> None:
        if update.samples is not None:
            sheets.append(clock.now)
            if len(sheets) == 2:
                loop.set_picture_budget(0.10)

    recorder.on_update = on_update
    run(loop)
    assert ended(recorder).reason == "finished"
    intervals = {round(u.picture_intervals.get("samples", 0.0), 6) for u in recorder.updates}
    assert 15.0 in intervals and 3.0 in intervals
    later = sheets[2:-1]  # after the change, before the final sheet
    assert len(later) >= 3 and all(b - a < 15.0 for a, b in pairwise(later))
    assert all(b - a >= 3.0 for a, b in pairwise(later))
