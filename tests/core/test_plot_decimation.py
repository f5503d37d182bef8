"""The plots' decimation (no Qt): what a view draws keeps every spike and step, stays as long
as the view is wide, and appends build on the pyramid already built."""

from __future__ import annotations

import numpy as np
import pytest

from ganviz_gui.core import plot_decimation
from ganviz_gui.core.plot_decimation import (
    AppendColumn,
    CurveSeries,
    MinMaxPyramid,
    extend_sharing_steps,
)
from ganviz_gui.core.smoothing import ema_smooth

PIXELS = 800
N = 10**7
OUTLIER_AT, OUTLIER = 6_543_210, 25.0
STEP_AT = 3_000_001  # one record whose value steps down to -7 and back


@pytest.fixture(scope="module")
def long_curve() -> CurveSeries:
    """10^7 noisy points with one outlier and a one-record step, appended in pieces."""
    rng = np.random.default_rng(0)
    series = CurveSeries(smoothed=True, weight=0.6)
    for start in range(0, N, 1_000_000):
        values = 1.0 + rng.normal(0, 0.1, 1_000_000)
        steps = np.arange(start, start + 1_000_000)
        for at, value in ((OUTLIER_AT, OUTLIER), (STEP_AT, -7.0)):
            if start <= at < start + 1_000_000:
                values[at - start] = value
        series.extend(steps, values)
    # What smoothing it whole gives, to compare the drawn smoothed curve with.
    series.exact_smoothed = ema_smooth(np.asarray(series.values[0:N], np.float64), 0.6)[0]
    return series


ZOOMS = [
    (0, N * 1.25),  # "follow latest": the whole run, in a range rounded out past its end
    (0, N),
    (OUTLIER_AT - 2_000_000, OUTLIER_AT + 1_000_000),
    (OUTLIER_AT - 40_000, OUTLIER_AT + 60_000),
    (OUTLIER_AT - 3_000, OUTLIER_AT + 7_000),
    (OUTLIER_AT - 500, OUTLIER_AT + 500),  # a 1,000-step window around it
    (OUTLIER_AT - 10, OUTLIER_AT + 30),
]


@pytest.mark.parametrize("low, high", ZOOMS)
def test_a_single_outlier_and_a_one_record_step_are_drawn_at_every_zoom(long_curve, low, high):
    steps, raw, smoothed = long_curve.drawn(low, high, PIXELS)
    assert OUTLIER in raw  # the one record, exactly as recorded
    assert steps[raw == OUTLIER].min() == pytest.approx(OUTLIER_AT, abs=(high - low) / PIXELS)
    if low <= STEP_AT <= high:
        assert -7.0 in raw
    # Drawn in order of steps, within the view (and a point either side of it).
    assert np.all(np.diff(steps) >= 0)
    # The smoothed curve's bump is there too: its highest value is the EMA just after it.
    assert smoothed.max() == pytest.approx(long_curve.exact_smoothed[OUTLIER_AT], rel=1e-5)


@pytest.mark.parametrize("low, high", ZOOMS)
def test_what_is_drawn_is_bounded_by_the_views_width(long_curve, low, high):
    steps, raw, smoothed = long_curve.drawn(low, high, PIXELS)
    assert len(steps) == len(raw) == len(smoothed)
    assert len(steps) <= 4 * PIXELS + 64, len(steps)
    # ... and, where the view holds more points than pixels, at least one a pixel column.
    if high - low >= 2 * PIXELS:
        assert len(steps) >= PIXELS


def test_drawn_points_are_the_records_themselves_when_they_fit(long_curve):
    steps, raw, smoothed = long_curve.drawn(OUTLIER_AT - 100, OUTLIER_AT + 100, PIXELS)
    assert steps.tolist() == list(range(OUTLIER_AT - 101, OUTLIER_AT + 102))
    np.testing.assert_array_equal(raw, long_curve.values[OUTLIER_AT - 101 : OUTLIER_AT + 102])
    exact = long_curve.exact_smoothed[OUTLIER_AT - 101 : OUTLIER_AT + 102]
    np.testing.assert_allclose(smoothed, exact, rtol=1e-9)


def test_the_memory_of_a_long_curve_is_about_five_bytes_a_point(long_curve):
    values_and_pyramids = long_curve.nbytes
    steps = long_curve.steps.nbytes
    assert values_and_pyramids < 5.6 * N and steps <= 8 * N + 8 * plot_decimation.CHUNK


def test_appends_after_a_draw_build_only_the_new_buckets():
    rng = np.random.default_rng(1)
    series = CurveSeries(smoothed=True, weight=0.9)
    pyramid = series.raw_pyramid
    series.extend(np.arange(100_000), rng.normal(size=100_000))
    built = pyramid.buckets_built
    levels = [level.to_array() for level in pyramid.levels]
    series.drawn(0, 100_000, PIXELS)
    assert pyramid.buckets_built == built  # a draw builds nothing
    for start in range(100_000, 110_000, 7):  # a live run: a few records at a time
        series.extend(np.arange(start, start + 7), rng.normal(size=7))
    # Every bucket built once: about n / 16 * (1 + 1/4 + 1/16 ...) in all, nothing rebuilt.
    total = sum(pyramid.buckets(k) for k in range(len(pyramid.levels)))
    assert pyramid.buckets_built == total
    for old, level in zip(levels, pyramid.levels, strict=False):
        np.testing.assert_array_equal(level[0 : len(old)], old)  # kept as they were


def test_a_pyramid_built_in_pieces_is_the_one_built_at_once():
    values = np.random.default_rng(2).normal(size=50_000).astype(np.float32)
    whole, pieces = MinMaxPyramid(), MinMaxPyramid()
    whole.extend(values)
    for piece in np.array_split(values, 997):
        pieces.extend(piece)
    assert len(whole.levels) == len(pieces.levels) > 3
    for a, b in zip(whole.levels, pieces.levels, strict=True):
        np.testing.assert_array_equal(a.to_array(), b.to_array())
    # Level k holds each bucket's minimum and maximum, in the order they came.
    size = MinMaxPyramid.bucket_size(2)
    buckets = values[: len(whole.levels[2]) // 2 * size].reshape(-1, size)
    pairs = whole.levels[2].to_array().reshape(-1, 2)
    np.testing.assert_array_equal(np.sort(pairs, axis=1), np.c_[buckets.min(1), buckets.max(1)])
    min_first = buckets.argmin(1) <= buckets.argmax(1)
    np.testing.assert_array_equal(
        pairs[:, 0] == buckets.min(1), min_first | (pairs[:, 0] == pairs[:, 1])
    )


def test_smoothing_appended_in_pieces_matches_smoothing_at_once():
    rng = np.random.default_rng(3)
    values = rng.normal(size=20_000)
    series = CurveSeries(smoothed=True, weight=0.95)
    # Pieces of a few points (a live run's) and of thousands (a file's) alike.
    for piece in np.array_split(np.arange(20_000), np.cumsum([7, 13, 5000, 31, 33, 2, 4000] * 2)):
        series.extend(piece, values[piece])
    exact = ema_smooth(np.asarray(values, np.float32).astype(np.float64), 0.95)[0]
    for start, stop in ((0, 10), (1023, 1025), (5000, 5100), (19_990, 20_000)):
        np.testing.assert_allclose(
            series.smoothed_values(start, stop), exact[start:stop], rtol=1e-9
        )
    # A new weight smooths everything anew.
    series.smooth(0.5)
    exact = ema_smooth(np.asarray(values, np.float32).astype(np.float64), 0.5)[0]
    np.testing.assert_allclose(series.smoothed_values(7000, 7010), exact[7000:7010], rtol=1e-9)
    assert series.smoothed_extremes.high == pytest.approx(exact.max())


def test_a_setting_is_drawn_as_recorded():
    lr = CurveSeries(smoothed=False, weight=0.9)
    lr.extend(np.arange(1000), np.where(np.arange(1000) < 500, 2e-4, 4e-3))
    _, raw, smoothed = lr.drawn(0, 1000, 100)
    assert set(smoothed.tolist()) == set(raw.tolist()) == {np.float32(2e-4), np.float32(4e-3)}


def test_curves_recorded_at_the_same_steps_share_one_step_column():
    series = {key: CurveSeries() for key in ("loss_d", "loss_g", "coverage")}
    every = np.arange(0, 100)
    extend_sharing_steps(
        series, {"loss_d": (every, every * 1.0), "loss_g": (every, every * 2.0)}, np.int32
    )
    assert series["loss_d"].steps is series["loss_g"].steps
    assert series["loss_d"].steps.dtype == np.int32
    more = np.arange(100, 200)
    extend_sharing_steps(
        series,
        {
            "loss_d": (more, more * 1.0),
            "loss_g": (more, more * 2.0),
            "coverage": (more[::10], more[::10]),
        },
    )
    assert series["loss_d"].steps is series["loss_g"].steps and len(series["loss_d"].steps) == 200
    assert series["coverage"].steps is not series["loss_d"].steps
    # One of them recorded at other steps: it gets its own column, the other keeps the shared.
    extend_sharing_steps(series, {"loss_d": (np.array([200]), np.array([1.0]))})
    assert series["loss_d"].steps is not series["loss_g"].steps
    assert len(series["loss_d"].steps) == 201 and len(series["loss_g"].steps) == 200
    assert series["loss_d"].steps.to_array().tolist() == list(range(201))
    for one in series.values():
        assert len(one.steps) == one.count


def test_an_append_column_reads_across_chunks(monkeypatch):
    monkeypatch.setattr(plot_decimation, "CHUNK", 1000)
    column = AppendColumn(np.int64, ordered=True)
    for start in range(0, 5500, 333):
        column.extend(np.arange(start, min(start + 333, 5500)))
    assert len(column) == 5500 and column.ascending
    assert column[990:2010].tolist() == list(range(990, 2010))
    assert column[-1] == 5499 and column[4321] == 4321
    positions = np.array([0, 5, 999, 1000, 3500, 5499])
    assert column.take(positions).tolist() == positions.tolist()
    for value in (-3, 0, 999.5, 1000, 4000, 6000):
        expected = int(np.searchsorted(np.arange(5500), value))
        assert column.searchsorted(value) == expected
    column.extend([3])
    assert not column.ascending


def test_a_whole_run_then_its_live_points_copy_no_chunk_again():
    """A run's history arrives in one append, then its live points a few at a time: the chunk
    being filled was given room to spare, so the first live append copies only itself (a
    chunk sized exactly would be copied whole: tens of milliseconds for 8 curves at 10^6)."""
    series = CurveSeries(smoothed=True, weight=0.6)
    history = 1_000_003
    series.extend(np.arange(history), np.random.default_rng(0).normal(size=history))
    held = [series.values._last, series.steps._last]
    held += [level._last for level in series.raw_pyramid.levels]
    for step in range(history, history + 50):
        series.extend(np.array([step]), np.array([0.5]))
    now = [series.values._last, series.steps._last]
    now += [level._last for level in series.raw_pyramid.levels]
    assert len(now) == len(held) and all(a is b for a, b in zip(held, now, strict=True))
    assert series.values[history + 49] == np.float32(0.5) and len(series.values) == history + 50
