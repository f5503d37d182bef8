"""Metric records as columns: what a record held comes back, damaged lines are skipped and
counted, and a long file is read in pieces."""

import json

import numpy as np

from ganviz_gui.core import record_columns
from ganviz_gui.core.record_columns import (
    RecordColumns,
    as_columns,
    parse_jsonl,
)
from ganviz_gui.core.run_sources import RunFolderSource


def test_columns_give_back_every_value_a_record_held():
    records = [
        {"step": 0, "loss_d": 1.5, "d_steps": 1},
        {"step": 10, "loss_g": 0.5, "class_counts": [3, 4], "note": "text"},
        {"step": 20, "loss_d": None, "loss_g": 0.25},
    ]
    columns = RecordColumns.from_records(records)
    assert len(columns) == 3
    assert columns[0] == {"step": 0, "loss_d": 1.5, "d_steps": 1}
    assert columns[1] == {"step": 10, "loss_g": 0.5, "class_counts": [3, 4], "note": "text"}
    assert columns[-1] == {"step": 20, "loss_g": 0.25}  # null (a NaN written) reads as absent
    steps, values = columns.series("loss_g")
    np.testing.assert_array_equal(steps, [10, 20])
    np.testing.assert_array_equal(values, [0.5, 0.25])
    assert np.isnan(columns.column("loss_d")[1])
    assert columns.newest_with({"class_counts"}) == columns[1]
    assert columns.quantities() == ["loss_d", "d_steps", "loss_g"]


def test_records_without_a_numeric_step_are_left_out():
    columns = RecordColumns.from_records([{"step": "x"}, {"loss_d": 1.0}, {"step": 3}, 7])
    assert list(columns) == [{"step": 3}]


def test_appending_grows_in_place_and_keys_that_appear_later_read_nan_before():
    columns = RecordColumns()
    for start in range(0, 5000, 1000):
        columns.append([{"step": s, "loss_d": float(s)} for s in range(start, start + 1000)])
    columns.append([{"step": 5000, "extra": 2.0}])
    assert len(columns) == 5001
    assert np.isnan(columns.column("extra")[:5000]).all() and columns.column("extra")[-1] == 2.0
    assert columns.column("loss_d")[4999] == 4999.0


def test_a_snapshot_stays_as_it_was_while_the_columns_grow():
    columns = as_columns([{"step": s, "loss_d": 1.0} for s in range(10)])
    snapshot = columns.snapshot()
    columns.append([{"step": s, "loss_d": 2.0, "new": 1.0} for s in range(10, 5000)])
    assert len(snapshot) == 10 and snapshot.quantities() == ["loss_d"]
    assert (snapshot.column("loss_d") == 1.0).all()


def rows_copied_at_once(monkeypatch) -> list[int]:
    """The row counts of every growth that copies all held rows at once, from now on."""
    at_once: list[int] = []
    real_grown = record_columns._grown

    def grown(values, capacity, count):
        at_once.append(count)
        return real_grown(values, capacity, count)

    monkeypatch.setattr(record_columns, "_grown", grown)
    return at_once


def test_long_columns_grow_ahead_a_piece_per_append_and_hold_the_same_rows(monkeypatch):
    """Past GROW_AHEAD_FROM rows no append copies every row at once (a stall of the GUI
    thread); what the columns hold is what growing at once gives, keys that appear during a
    growth and snapshots taken before it included."""
    monkeypatch.setattr(record_columns, "GROW_AHEAD_FROM", 2048)
    monkeypatch.setattr(record_columns, "GROW_AHEAD_PIECE", 16)
    at_once = rows_copied_at_once(monkeypatch)
    columns, expected, snapshots = RecordColumns(), [], []
    for step in range(20_000):
        record = {"step": step, "loss_d": step * 0.5}
        if step % 7 == 0:
            record["loss_g"] = -step
        if step >= 3_000:  # a key new while the columns grow ahead to 4,096 rows
            record["late"] = step + 0.25
        columns.append([record])
        expected.append(record)
        if step in (2_047, 3_500, 8_191, 12_000):
            snapshots.append((step, columns.snapshot()))
    assert columns._capacity == 32_768 and max(at_once) < 2048  # only small columns at once
    for key in ("step", "loss_d", "loss_g", "late"):
        want = [r.get(key, np.nan) for r in expected]
        np.testing.assert_array_equal(columns.column(key), want)
    for step, snapshot in snapshots:  # views of the arrays of their moment, never changed
        assert len(snapshot) == step + 1
        np.testing.assert_array_equal(snapshot.column("loss_d"), np.arange(step + 1) * 0.5)
    bulk = RecordColumns()
    bulk.append(expected)  # rows in bulk grow at once, to what they need
    np.testing.assert_array_equal(bulk.column("late"), columns.column("late"))


def test_a_history_read_in_bulk_then_followed_live_is_not_copied_whole(monkeypatch):
    """A run's records read in one go (a continued or followed run), then its live records
    one by one: the bulk left room to grow ahead in, so no live append copies every row at
    once (14 columns of 10^6 rows: 26 ms of the GUI thread at the first live record)."""
    at_once = rows_copied_at_once(monkeypatch)
    history = 40_000
    columns = RecordColumns()
    columns.append([{"step": s, "loss_d": 1.0, "loss_g": 2.0} for s in range(history)])
    at_once.clear()
    for step in range(history, history + 12_000):  # past the bulk's capacity: grown ahead
        columns.append([{"step": step, "loss_d": 0.5, "loss_g": 2.5}])
    assert columns._capacity >= history + 12_000 and not at_once
    assert len(columns) == history + 12_000 and columns.column("loss_g")[-1] == 2.5
    np.testing.assert_array_equal(columns.steps, np.arange(history + 12_000))


def test_a_file_read_in_bulk_pieces_is_not_copied_ahead(monkeypatch):
    """Growing ahead is for live records: pieces of a file read in bulk grow at once, so the
    columns are not held twice (a 10^6-record read kept both them and their larger copy)."""
    monkeypatch.setattr(record_columns, "GROW_AHEAD_FROM", 2048)
    monkeypatch.setattr(record_columns, "GROW_AHEAD_PIECE", 16)
    columns, piece = RecordColumns(), 1_000
    for start in range(0, 50_000, piece):
        columns.append([{"step": s, "loss_d": s * 0.5} for s in range(start, start + piece)])
        assert columns._growth is None
    np.testing.assert_array_equal(columns.column("loss_d"), np.arange(50_000) * 0.5)
    at_once = rows_copied_at_once(monkeypatch)
    for step in range(50_000, 50_000 + 40_000):  # then followed live: grown ahead again
        columns.append([{"step": step, "loss_d": step * 0.5}])
    assert columns._capacity >= 90_000 and not at_once
    np.testing.assert_array_equal(columns.column("loss_d"), np.arange(90_000) * 0.5)


def test_after_step_picks_the_later_records():
    columns = as_columns([{"step": s, "x": s, "counts": [s]} for s in range(5)])
    later = columns.after_step(2)
    assert list(later) == [
        {"step": 3, "x": 3.0, "counts": [3]},
        {"step": 4, "x": 4.0, "counts": [4]},
    ]


def test_damaged_lines_are_skipped_and_counted_and_nan_of_old_files_is_read():
    data = b'{"step": 1}\n{"step": 2, "loss_d": NaN}\nnot json\n[1, 2]\n{"step": 3}'
    records, damaged = parse_jsonl(data)
    assert [r["step"] for r in records] == [1, 2, 3]
    assert damaged == 2


def test_a_long_file_is_read_in_pieces_and_an_unfinished_last_line_is_left(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"step": s, "loss_d": s / 10}) for s in range(20_000)]
    path.write_text("\n".join(lines) + '\n{"step": 20000, "loss', encoding="utf-8")
    source = RunFolderSource(tmp_path)
    for tail in source._tails.values():
        tail.max_bytes = 4096  # hundreds of pieces
    columns = as_columns(source.poll_all().records)
    assert len(columns) == 20_000
    np.testing.assert_allclose(columns.column("loss_d"), np.arange(20_000) / 10)
    assert len(RunFolderSource(tmp_path / "missing").poll_all().records) == 0


def test_split_gives_slices_in_order_that_join_back():
    columns = as_columns([{"step": s, "x": float(s), "n": [s]} for s in range(10)])
    parts = columns.split(4)
    assert [len(p) for p in parts] == [4, 4, 2]
    joined = RecordColumns()
    for part in parts:
        joined.append(part)
    assert joined == columns
