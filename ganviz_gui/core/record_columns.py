"""A run's metric records as columns: one float array per key, grown in place.

A long run has 10^6 records. As Python dicts they take about 2 GB and every view loops over
them; as columns they take 8 bytes a value and a view reads a whole curve in one slice. The
rare values that are not numbers (a `class_counts` list, text such as "nan" in old files) are
kept beside, by row, so nothing a record held is lost.

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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class RecordColumns:
    def __init__(self) -> None:
        self._count = 0
        self._capacity = 0
        self._steps = np.empty(0)
        self._columns: dict[str, np.ndarray] = {}
        self._other: dict[str, dict[int, Any]] = {}  # key: {row: a value that is not a number}
        self.skipped = 0  # records without a numeric step (damaged): left out

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
            if "step" not in keys:
                continue  # a record without a step cannot be placed: damaged
            group = [rows[i] for i in indices] if len(groups) > 1 else rows
            table, others = _as_table(group, keys)
            at = np.asarray(indices)
            kept = np.isfinite(table[:, keys.index("step")])
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
                target = self._steps if key == "step" else self._column(key)
                target[where] = table[kept, j]
            for key, values in others.items():
                other = self._other.setdefault(key, {})
                other.update({int(position[at[i]]): v for i, v in values if kept[i]})

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
            self._column(key)[start : self._count] = values[: len(more)]
        for key, others in more._other.items():
            self._other.setdefault(key, {}).update({start + i: v for i, v in others.items()})
        self.skipped += more.skipped

    def _reserve(self, extra: int) -> int:
        """Room for `extra` more rows; returns the first new row."""
        start, needed = self._count, self._count + extra
        if needed > self._capacity:
            capacity = max(needed, 2 * self._capacity, FIRST_CAPACITY)
            self._steps = _grown(self._steps, capacity, start)
            for key, values in self._columns.items():
                self._columns[key] = _grown(values, capacity, start)
            self._capacity = capacity
        self._count = needed
        for values in self._columns.values():
            values[start:needed] = np.nan  # rows that lack a key read NaN
        return start

    def _column(self, key: str) -> np.ndarray:
        if key not in self._columns:
            values = np.empty(self._capacity)
            values[: self._count] = np.nan
            self._columns[key] = values
        return self._columns[key]

    def snapshot(self) -> RecordColumns:
        """The records held now, for another thread to read while this grows: rows are only
        ever added, so views of the held rows never change (appending to the snapshot copies)."""
        copy = RecordColumns()
        copy._count = copy._capacity = self._count
        copy._steps = self._steps[: self._count]
        copy._columns = {key: values[: self._count] for key, values in self._columns.items()}
        copy._other = {key: dict(values) for key, values in self._other.items()}
        copy.skipped = self.skipped
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
    values that are not numbers, kept beside). `rows` all have `keys`, in that order."""
    try:  # numpy reads None as NaN: the fast path for well-formed records
        return np.array([tuple(r.values()) for r in rows], dtype=float), {}
    except (TypeError, ValueError):  # lists, text, ...: key by key
        pass
    table = np.full((len(rows), len(keys)), np.nan)
    others: dict[str, list[tuple[int, Any]]] = {}
    for j, key in enumerate(keys):
        values = [r[key] for r in rows]
        try:
            table[:, j] = np.array(values, dtype=float)
            continue
        except (TypeError, ValueError):
            pass
        for i, value in enumerate(values):
            if _is_number(value):
                table[i, j] = value
            elif value is not None:
                others.setdefault(key, []).append((i, value))
    return table, others


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
    except json.JSONDecodeError:
        return None  # damaged: skipped
