"""A run's metric records as columns: one float array per key, grown in place.

A long run has 10^6 records. As Python dicts they take about 2 GB and every view loops over
them; as columns they take 8 bytes a value and a view reads a whole curve in one slice. The
rare values that are not numbers (a `class_counts` list, a note a user's loop logged) are
kept beside, by row.

Records are checked as they are added, whoever wrote them, so a view only ever sees
well-typed ones: a step is a whole number from 0 to MAX_STEP (a record without one is
skipped), a value a number (read as a float), a short text or a list of at most MAX_LIST
numbers; any other value (a dict, a long list, text where a documented metric's number is, a
value under yet another key past MAX_KEYS) is dropped. Both are counted (`skipped`,
`dropped`), for the window and `ganviz diagnose` to say.

`RecordColumns` still reads like the list of dicts it replaces (`len`, indexing, iteration
give dicts), so code that wants one record at a time keeps working; what reads whole curves
uses `column`, `series` and `steps`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np
import orjson

FIRST_CAPACITY = 1024
# Columns of this many rows or more grow ahead of need: from half full on, each append also
# copies a piece of the held rows into the next, twice larger arrays, so that no append copies
# them all at once (at 2^20 rows of 13 keys that took 108 ms of a live window's GUI thread).
GROW_AHEAD_FROM = 1 << 15
GROW_AHEAD_PIECE = 4096  # rows copied ahead per append, beyond twice the rows appended
MAX_STEP = 2**31 - 1  # steps beyond this are damage (and beyond what a 32-bit slider holds)
MAX_LIST = 10_000  # a list value longer than this is dropped
MAX_TEXT = 1_000  # characters of a text value
MAX_KEYS = 1_000  # columns: a record with more new keys is a memory bomb (a column per key)
MAX_KEY_LENGTH = 200
# Documented metrics (docs/run-folder.md) are numbers: text or a list there is damage.
NUMBER_KEYS = frozenset(
    {"loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "lr_d", "lr_g"}
    | {"d_steps", "elapsed", "time", "steps_per_sec", "js_divergence", "modes_covered"}
    | {"modes_total", "high_quality", "diversity_ratio", "frechet_distance"}
    | {"classes_covered", "classes_total", "refused_updates", "world_size"}
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value: Any) -> float | None:
    """A number (or a flag, or text of one such as "nan" in old files) as a float, else None."""
    if isinstance(value, (int, float, str)) and (not isinstance(value, str) or len(value) < 40):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return None
    return None


def kept_value(key: str, value: Any) -> bool:
    """Whether a value that is not a number is kept beside the columns: short text, or a
    short list of numbers, under a key that is not a documented metric's."""
    if key in NUMBER_KEYS and key != "class_counts":
        return False
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    return (
        isinstance(value, list)
        and len(value) <= MAX_LIST
        and all(_is_number(v) and abs(v) < 1e300 for v in value)
    )


def record_step(value: Any) -> int | None:
    """A record's step as an int, if it is a whole number from 0 to MAX_STEP (JSON may write
    it as 40.0), else None: the record cannot be placed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None  # NaN and infinities too
    return int(value) if 0 <= value <= MAX_STEP else None


def is_small_json(value: Any, items: int = MAX_LIST, depth: int = 8) -> bool:
    """Plain JSON (numbers, texts of at most MAX_TEXT, lists and string-keyed dicts) of at
    most `items` values in all, nested at most `depth` deep: what a view can show of a value
    without looping for long or recursing deep."""
    stack, count = [(value, 0)], 0
    while stack:
        item, level = stack.pop()
        count += 1
        if count > items or level > depth:
            return False
        if isinstance(item, dict):
            if not all(isinstance(k, str) and len(k) <= MAX_KEY_LENGTH for k in item):
                return False
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
        elif isinstance(item, str):
            if len(item) > MAX_TEXT:
                return False
        elif isinstance(item, int) and not isinstance(item, bool):
            if abs(item) > 2**63:
                return False  # beyond what a float or a C integer holds well
        elif not (item is None or isinstance(item, (bool, float))):
            return False
    return True


def placeable_steps(steps: np.ndarray) -> np.ndarray:
    """Which of `steps` (floats) are whole numbers from 0 to MAX_STEP."""
    with np.errstate(invalid="ignore"):
        return (steps >= 0) & (steps <= MAX_STEP) & (np.floor(steps) == steps)


class RecordColumns:
    def __init__(self) -> None:
        self._count = 0
        self._capacity = 0
        self._steps = np.empty(0)
        self._columns: dict[str, np.ndarray] = {}
        self._other: dict[str, dict[int, Any]] = {}  # key: {row: a value that is not a number}
        self._growth: _Growth | None = None  # the next, larger columns, filled ahead
        self.skipped = 0  # records without a step from 0 to MAX_STEP (damaged): left out
        self.dropped = 0  # values of a wrong type in records kept, left out

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> RecordColumns:
        columns = cls()
        columns.append(records)
        return columns

    # ------------------------------------------------------------------ growing
    def append(self, records: Iterable[dict[str, Any]] | RecordColumns) -> None:
        """Add records (dicts, or other columns) after the ones held."""
        if isinstance(records, RecordColumns):
            self._append_columns(records)
            return
        rows = records if isinstance(records, list) else list(records)
        # Rows with the same keys in the same order (nearly all: one writer wrote them) become
        # one 2D array at once, several times faster than reading them key by key.
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, record in enumerate(rows):
            if isinstance(record, dict):
                groups.setdefault(tuple(record), []).append(i)
        valid = np.zeros(len(rows), dtype=bool)
        tables = []
        for keys, indices in groups.items():
            if "step" not in keys or not all(isinstance(key, str) for key in keys):
                continue  # a record without a step (or with non-text keys) is damaged
            whole = len(groups) == 1 and len(indices) == len(rows)  # no other rows among them
            group = rows if whole else [rows[i] for i in indices]
            table, others = _as_table(group, keys)
            at = np.asarray(indices)
            kept = placeable_steps(table[:, keys.index("step")])
            valid[at[kept]] = True
            tables.append((keys, at, kept, table, others))
        self.skipped += len(rows) - int(valid.sum())
        if not valid.any():
            return
        start = self._reserve(int(valid.sum()))
        position = start + np.cumsum(valid) - 1  # the file's order is kept
        for keys, at, kept, table, others in tables:
            where = position[at[kept]]
            for j, key in enumerate(keys):
                if key == "step":
                    self._steps[where] = table[kept, j]
                elif self._may_hold(key):
                    self._column(key)[where] = table[kept, j]
                else:
                    self.dropped += int(np.count_nonzero(~np.isnan(table[kept, j])))
            for key, values in others.items():
                kept_values = {int(position[at[i]]): v for i, v in values if kept[i]}
                if key == "step":
                    continue  # a record whose step is not a number was skipped
                if not self._may_hold(key):
                    self.dropped += len(kept_values)
                    continue
                good = {row: v for row, v in kept_values.items() if kept_value(key, v)}
                self.dropped += len(kept_values) - len(good)
                if good:
                    self._other.setdefault(key, {}).update(good)

    def _may_hold(self, key: str) -> bool:
        """A column for `key` is there, or may be made (MAX_KEYS at most, names not too long)."""
        if key in self._columns:
            return True
        return len(self._columns) < MAX_KEYS and 0 < len(key) <= MAX_KEY_LENGTH

    def reserve(self, rows: int) -> None:
        """Room for `rows` records in all, made at once (a file's size tells how many are
        coming): no copy as the columns grow to it."""
        if rows > self._capacity:
            count = self._count
            self._reserve(rows - count)
            self._count = count

    def _append_columns(self, more: RecordColumns) -> None:
        if not len(more):
            return
        start = self._reserve(len(more))
        self._steps[start : self._count] = more.steps
        for key, values in more._columns.items():
            if self._may_hold(key):
                self._column(key)[start : self._count] = values[: len(more)]
            else:  # each piece has MAX_KEYS at most; together they may not have more
                self.dropped += int(np.count_nonzero(~np.isnan(values[: len(more)])))
        for key, others in more._other.items():
            if key in self._columns:
                self._other.setdefault(key, {}).update({start + i: v for i, v in others.items()})
            else:
                self.dropped += len(others)
        self.skipped += more.skipped
        self.dropped += more.dropped

    def _reserve(self, extra: int) -> int:
        """Room for `extra` more rows; returns the first new row."""
        start, needed = self._count, self._count + extra
        growth = self._growth
        if needed > self._capacity:
            if growth is not None and growth.capacity >= needed:
                growth.copy(self, start)  # the rows added since its last piece: a few
                self._steps, self._columns = growth.steps, growth.columns
                self._capacity = growth.capacity
            else:  # all at once: a small run, or rows coming in bulk (a file read)
                # A quarter more than the bulk needs: a run's history read in one go is then
                # followed live by growing ahead, not by copying every row at its first record
                # (np.empty's unwritten rows cost no memory).
                capacity = max(needed + needed // 4, 2 * self._capacity, FIRST_CAPACITY)
                self._steps = _grown(self._steps, capacity, start)
                for key, values in self._columns.items():
                    self._columns[key] = _grown(values, capacity, start)
                self._capacity = capacity
            self._growth = None
        elif (
            self._capacity >= GROW_AHEAD_FROM
            and 2 * start >= self._capacity
            and (growth is not None or extra <= GROW_AHEAD_PIECE)
        ):
            # Started by a live append only: a file read in bulk pieces would fill both the
            # columns and their larger copy (a 10^6-record read peaked at 344 MB of RSS, 232 MB
            # without).
            if growth is None:
                growth = self._growth = _Growth(self)
            # Twice as many rows as come: the copy is done before the columns are full.
            growth.copy(self, min(start, growth.copied + 2 * extra + GROW_AHEAD_PIECE))
        self._count = needed
        for values in self._columns.values():
            values[start:needed] = np.nan  # rows that lack a key read NaN
        return start

    def _column(self, key: str) -> np.ndarray:
        if key not in self._columns:
            values = np.empty(self._capacity)
            values[: self._count] = np.nan
            self._columns[key] = values
            if self._growth is not None:
                self._growth.add_column(key)
        return self._columns[key]

    def snapshot(self) -> RecordColumns:
        """The records held now, for another thread to read while this grows: rows are only
        ever added, so views of the held rows never change (appending to the snapshot copies)."""
        copy = RecordColumns()
        copy._count = copy._capacity = self._count
        copy._steps = self._steps[: self._count]
        copy._columns = {key: values[: self._count] for key, values in self._columns.items()}
        copy._other = {key: dict(values) for key, values in self._other.items()}
        copy.skipped, copy.dropped = self.skipped, self.dropped
        return copy

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    # ------------------------------------------------------------------ whole curves
    @property
    def steps(self) -> np.ndarray:
        return self._steps[: self._count]

    def names(self) -> list[str]:
        """Every key any record held (`step` first)."""
        return ["step", *self._columns]

    def quantities(self) -> list[str]:
        """The keys with at least one number: what can be drawn."""
        return [k for k, v in self._columns.items() if np.isfinite(v[: self._count]).any()]

    def column(self, key: str) -> np.ndarray:
        """`key` of every record, NaN where a record lacks a number there (a view: copy it
        to keep it)."""
        if key == "step":
            return self.steps
        if key not in self._columns:
            return np.full(self._count, np.nan)
        return self._columns[key][: self._count]

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of the records with a finite number under `key`."""
        values = self.column(key)
        keep = np.isfinite(values)
        return self.steps[keep], values[keep]

    def others(self, key: str) -> dict[int, Any]:
        """{row: value} of the values under `key` that are not numbers (lists, text)."""
        return dict(self._other.get(key, {}))

    def newest_with(self, keys: Iterable[str]) -> dict[str, Any]:
        """The newest record holding any of `keys` (a number or another value), else {}."""
        newest = -1
        for key in keys:
            if key in self._columns:
                rows = np.flatnonzero(np.isfinite(self.column(key)))
                if len(rows):
                    newest = max(newest, int(rows[-1]))
            if self._other.get(key):
                newest = max(newest, max(self._other[key]))
        return self[newest] if newest >= 0 else {}

    def split(self, size: int) -> list[RecordColumns]:
        """The records in slices of `size` rows, in order (views of these columns)."""
        slices = []
        for start in range(0, max(self._count, 1), size):
            stop = min(start + size, self._count)
            part = RecordColumns()
            part._count = part._capacity = stop - start
            part._steps = self._steps[start:stop]
            part._columns = {key: values[start:stop] for key, values in self._columns.items()}
            part._other = {
                key: {row - start: v for row, v in others.items() if start <= row < stop}
                for key, others in self._other.items()
            }
            slices.append(part)
        return slices

    def after_step(self, step: float) -> RecordColumns:
        """The records past `step`, as new columns."""
        rows = np.flatnonzero(self.steps > step)
        picked = RecordColumns()
        if len(rows):
            picked._reserve(len(rows))
            picked._steps[: len(rows)] = self.steps[rows]
            for key, values in self._columns.items():
                picked._column(key)[: len(rows)] = values[rows]
            new_row = {int(row): i for i, row in enumerate(rows)}
            for key, others in self._other.items():
                picked._other[key] = {new_row[r]: v for r, v in others.items() if r in new_row}
        return picked

    # ------------------------------------------------------------------ as a list of dicts
    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._record(i) for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("record index out of range")
        return self._record(index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (RecordColumns, list)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._record(i) for i in range(self._count))

    def _record(self, row: int) -> dict[str, Any]:
        step = self._steps[row]
        record: dict[str, Any] = {"step": int(step) if step.is_integer() else float(step)}
        for key, values in self._columns.items():
            value = values[row]
            if np.isfinite(value):
                record[key] = int(value) if key in _COUNT_KEYS else float(value)
            elif row in self._other.get(key, ()):
                record[key] = self._other[key][row]
        return record


# Keys whose values are whole numbers: read back as ints.
_COUNT_KEYS = frozenset(
    {"d_steps", "modes_covered", "modes_total", "classes_covered", "classes_total"}
    | {"refused_updates", "world_size"}
)


def _as_table(
    rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> tuple[np.ndarray, dict[str, list[tuple[int, Any]]]]:
    """(rows x keys floats, NaN where a value is no number; {key: [(row, value)]} of the
    values that are not numbers, to keep beside or drop). `rows` all have `keys`, in order."""
    try:  # numpy reads None as NaN: the fast path for well-formed records
        return np.array([tuple(r.values()) for r in rows], dtype=float), {}
    except (TypeError, ValueError, OverflowError):  # lists, text, huge ints: key by key
        pass
    table = np.full((len(rows), len(keys)), np.nan)
    others: dict[str, list[tuple[int, Any]]] = {}
    for j, key in enumerate(keys):
        values = [r[key] for r in rows]
        try:
            column = np.array(values, dtype=float)
            if column.shape == (len(rows),):  # lists of one length make a 2D array
                table[:, j] = column
                continue
        except (TypeError, ValueError, OverflowError):
            pass
        for i, value in enumerate(values):
            number = _as_number(value) if value is not None else None
            if number is not None:
                table[i, j] = number
            elif value is not None:
                others.setdefault(key, []).append((i, value))
    return table, others


class _Growth:
    """The next, twice larger arrays of a RecordColumns, with its first `copied` rows in them
    (rows are only ever added, so rows copied stay right). Unwritten pages of np.empty cost no
    memory until the copy reaches them."""

    def __init__(self, columns: RecordColumns):
        self.capacity = 2 * columns._capacity
        self.steps = np.empty(self.capacity)
        self.columns = {key: np.empty(self.capacity) for key in columns._columns}
        self.copied = 0

    def copy(self, columns: RecordColumns, until: int) -> None:
        """Copy the rows from `copied` to `until` (all added already)."""
        start = self.copied
        if until <= start:
            return
        self.steps[start:until] = columns._steps[start:until]
        for key, values in self.columns.items():
            values[start:until] = columns._columns[key][start:until]
        self.copied = until

    def add_column(self, key: str) -> None:
        """A key new to the columns: NaN in the rows copied already (as it is there)."""
        values = np.empty(self.capacity)
        values[: self.copied] = np.nan
        self.columns[key] = values


def _grown(values: np.ndarray, capacity: int, count: int) -> np.ndarray:
    grown = np.empty(capacity)
    grown[:count] = values[:count]
    return grown


def as_columns(records: Sequence[dict[str, Any]] | RecordColumns) -> RecordColumns:
    return records if isinstance(records, RecordColumns) else RecordColumns.from_records(records)


def parse_jsonl(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """(the objects of complete JSON lines in `data`, how many lines were damaged).

    One orjson call parses all the lines at once; should any line be damaged, they are parsed
    one by one and the damaged ones skipped.
    """
    data = data.strip()
    if not data:
        return [], 0
    try:  # one call for all the lines: the common case of a file no one damaged
        parsed = orjson.loads(b"[" + data.replace(b"\n", b",") + b"]")
        if all(type(item) is dict for item in parsed):
            return parsed, 0
    except orjson.JSONDecodeError:
        lines = [line for line in data.split(b"\n") if line.strip()]
        parsed = [_parse_line(line) for line in lines]
    objects = [item for item in parsed if isinstance(item, dict)]
    return objects, len(parsed) - len(objects)


def _parse_line(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:  # Python's json also reads NaN and Infinity, which files of old versions hold
        return json.loads(line.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):  # not JSON, an int of 10^4 digits, nested too deep
        return None  # damaged: skipped
