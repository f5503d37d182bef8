"""Long curves drawn at a cost set by the screen: append-only columns and min/max pyramids.

A live run appends a few points at a time to curves that reach 10^7 points. Re-sending every
point to the plot at each refresh costs O(points); here a refresh costs O(pixels):

- `AppendColumn` stores a curve's values in chunks, so an append copies only the new values
  and a long curve is never copied whole to grow (nor kept at twice its size).
- `MinMaxPyramid` keeps, per bucket of BASE * FACTOR**k points (level k), the minimum and the
  maximum in the order they occurred, built as points arrive: each point is read once, and a
  bucket once complete is never built again. A view reads the level with about one bucket per
  pixel column, so every spike and step is drawn at every zoom, in a few thousand points.
- `CurveSeries` is one curve: its steps (a column shared with the curves recorded at the same
  steps), its values, their pyramid, and the pyramid of its EMA-smoothed copy, smoothed
  incrementally as points arrive. The smoothed points themselves are not kept: the state of
  the EMA is kept every CHECKPOINT points, and the smoothed values of a zoomed-in window (or
  under the mouse) are recomputed from the nearest one.

Values are kept as float32 (what a screen resolves, at half the memory: 8 curves of 10^7 points
fit in 500 MB); steps as given (int32 for a run's records, whose steps are whole numbers below
2**31).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np

from ganviz_gui.core.smoothing import SmoothingState, ema_smooth

CHUNK = 1 << 20  # values per chunk of a column: a long curve grows a chunk at a time
FIRST_SIZE = 256  # the first chunk starts this small and doubles (most curves are short)
BASE = 16  # points per bucket at the pyramid's level 0
FACTOR = 4  # buckets of level k per bucket of level k + 1
CHECKPOINT = 1024  # points between two kept states of the EMA
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _power_of_two_from(n: int) -> int:
    """The smallest power of two at or above `n` (> 0)."""
    return 1 << (n - 1).bit_length()


class AppendColumn:
    """A 1-D array that only grows at its end, stored in chunks of CHUNK values.

    Appends copy the new values only (the chunk being filled doubles up to CHUNK, amortised);
    reads of a range (`column[a:b]`) or of sorted positions (`take`) touch only the chunks
    they need. An `ordered` column (steps) keeps `ascending`: whether its values never decreased."""

    def __init__(self, dtype: type | np.dtype = np.float64, ordered: bool = False) -> None:
        self.dtype = np.dtype(dtype)
        self._ordered = ordered  # whether `ascending` is kept (for steps)
        self._full: list[np.ndarray] = []  # chunks of CHUNK values each
        self._heads: list[Any] = []  # each full chunk's first value (searchsorted's index)
        self._last = np.empty(FIRST_SIZE, self.dtype)  # the chunk being filled
        self._in_last = 0
        self.ascending = ordered  # known to be ascending: kept for an ordered column only

    def __len__(self) -> int:
        return len(self._full) * CHUNK + self._in_last

    @property
    def nbytes(self) -> int:
        """Bytes of the values held. The room ahead of them in the last chunk is not counted:
        np.empty's pages take memory only once written."""
        return len(self) * self.dtype.itemsize

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=self.dtype).reshape(-1)
        if not values.size:
            return
        if self._ordered and self.ascending:
            previous = values[:0] if not len(self) else np.asarray([self[len(self) - 1]])
            self.ascending = bool(np.all(np.diff(np.concatenate([previous, values])) >= 0))
        done = 0
        while done < values.size:
            take = min(CHUNK - self._in_last, values.size - done)
            needed = self._in_last + take
            if needed > self._last.size:  # grow the last chunk to a power of two, up to CHUNK
                # Never to the exact size: a whole run arriving at once, then its live points,
                # would copy the whole chunk again at the first live append.
                grown = np.empty(min(CHUNK, _power_of_two_from(needed)), self.dtype)
                grown[: self._in_last] = self._last[: self._in_last]
                self._last = grown
            self._last[self._in_last : needed] = values[done : done + take]
            self._in_last, done = needed, done + take
            if self._in_last == CHUNK:
                self._full.append(self._last)
                self._heads.append(self._last[0])
                self._last, self._in_last = np.empty(FIRST_SIZE, self.dtype), 0

    def _chunk(self, index: int) -> np.ndarray:
        return self._full[index] if index < len(self._full) else self._last[: self._in_last]

    @overload
    def __getitem__(self, index: int) -> float: ...

    @overload
    def __getitem__(self, index: slice) -> np.ndarray: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | float:
        n = len(self)
        if isinstance(index, slice):
            start, stop, stride = index.indices(n)
            if stride != 1:
                return self[start:stop][::stride]
            if stop <= start:
                return np.empty(0, self.dtype)
            first, last = start // CHUNK, (stop - 1) // CHUNK
            if first == last:  # one chunk: a view, no copy
                return self._chunk(first)[start - first * CHUNK : stop - first * CHUNK]
            pieces = [self._chunk(first)[start - first * CHUNK :]]
            pieces += [self._chunk(c) for c in range(first + 1, last)]
            pieces.append(self._chunk(last)[: stop - last * CHUNK])
            return np.concatenate(pieces)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("column index out of range")
        return self._chunk(index // CHUNK)[index % CHUNK]

    def to_array(self) -> np.ndarray:
        """All the values as one array (a copy: for tests and rare whole reads)."""
        return self[0 : len(self)]

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The values at `positions` (ascending), a chunk at a time."""
        positions = np.asarray(positions, dtype=np.int64)
        out = np.empty(positions.size, self.dtype)
        if not positions.size:
            return out
        # Only the chunks the positions fall in: a live refresh takes a few of the last.
        first, last = int(positions[0]) // CHUNK, int(positions[-1]) // CHUNK
        bounds = np.searchsorted(positions, np.arange(first, last + 2) * CHUNK)
        for i, c in enumerate(range(first, last + 1)):
            lo, hi = bounds[i], bounds[i + 1]
            if hi > lo:
                out[lo:hi] = self._chunk(c)[positions[lo:hi] - c * CHUNK]
        return out

    def searchsorted(self, value: float, side: Literal["left", "right"] = "left") -> int:
        """Where `value` goes in an ascending column (as numpy's searchsorted)."""
        n = len(self)
        if not n:
            return 0
        if self.dtype.kind in "iu":  # a float against integers: numpy would copy them as floats
            info = np.iinfo(self.dtype)
            whole = np.ceil(value) if side == "left" else np.floor(value)
            if not np.isfinite(whole):
                return 0 if whole < 0 else n
            value = self.dtype.type(min(max(whole, info.min), info.max))
        heads = self._heads + ([self._last[0]] if self._in_last else [])
        c = max(0, int(np.searchsorted(heads, value, side=side)) - 1)
        return c * CHUNK + int(np.searchsorted(self._chunk(c), value, side=side))


def min_max_in_order(rows: np.ndarray) -> np.ndarray:
    """(n, 2): each row's minimum and maximum, the one that comes first in the row first."""
    r = np.arange(rows.shape[0])
    low, high = rows.argmin(axis=1), rows.argmax(axis=1)
    low_first = low <= high
    first = np.where(low_first, rows[r, low], rows[r, high])
    second = np.where(low_first, rows[r, high], rows[r, low])
    return np.stack([first, second], axis=1)


class MinMaxPyramid:
    """Per bucket of BASE * FACTOR**k points (level k), the minimum and maximum in order.

    Built as values arrive: level 0 from each complete bucket of values, level k + 1 from
    each FACTOR complete buckets of level k; a bucket is built once (`buckets_built` counts
    them). `window` picks the level that gives a view about two points per pixel column."""

    def __init__(self) -> None:
        self.levels: list[AppendColumn] = []  # level k: (first, second) per complete bucket
        self.count = 0  # values taken
        self.buckets_built = 0  # work done, for tests: never more than the buckets there are
        self._pending = np.empty(0, np.float32)  # values after the last complete bucket
        self._carry: list[np.ndarray] = []  # level k's buckets not yet in a level k+1 bucket
        # The last view's complete buckets, decimated: a live refresh of the same view reuses
        # them (complete buckets never change) and computes only the end.
        self._body_key: tuple[int, int, int, int] | None = None
        self._body: tuple[np.ndarray, np.ndarray] = (np.empty(0, np.int64), np.empty(0))

    @staticmethod
    def bucket_size(level: int) -> int:
        return BASE * FACTOR**level

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels)

    def extend(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float32)
        self.count += values.size
        data = np.concatenate([self._pending, values]) if self._pending.size else values
        complete = data.size // BASE * BASE
        self._pending = data[complete:].copy()
        if complete:
            self._push(0, min_max_in_order(data[:complete].reshape(-1, BASE)))

    def _push(self, level: int, pairs: np.ndarray) -> None:
        if level == len(self.levels):
            self.levels.append(AppendColumn(np.float32))
            self._carry.append(np.empty((0, 2), np.float32))
        self.levels[level].extend(pairs.reshape(-1))
        self.buckets_built += len(pairs)
        carry = np.concatenate([self._carry[level], pairs]) if len(self._carry[level]) else pairs
        grouped = len(carry) // FACTOR * FACTOR
        self._carry[level] = carry[grouped:].copy()
        if grouped:
            self._push(level + 1, min_max_in_order(carry[:grouped].reshape(-1, 2 * FACTOR)))

    def _values(self, start: int, stop: int, fine: Callable[[int, int], np.ndarray]) -> np.ndarray:
        """Values start..stop-1: from those not in a bucket yet where they are (the last ones,
        drawn at every refresh), else from `fine`."""
        held = self.count - self._pending.size
        if start >= held:
            return self._pending[start - held : stop - held].astype(np.float64)
        return np.asarray(fine(start, stop), dtype=np.float64)

    def buckets(self, level: int) -> int:
        return len(self.levels[level]) // 2 if level < len(self.levels) else 0

    def window(
        self, start: int, stop: int, columns: float, fine: Callable[[int, int], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, values) to draw points start..stop-1 on `columns` pixel columns.

        A bucket is drawn as its two extremes, at its first and last position. `fine(a, b)`
        gives the values a..b-1 themselves: drawn where a view shows under two points a
        column, decimated on the fly where under a level-0 bucket, and for the last points,
        not in a complete bucket yet."""
        pieces = self.pieces(start, stop, columns, fine)
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate([p for p, _ in pieces]), np.concatenate([v for _, v in pieces])

    def pieces(
        self, start: int, stop: int, columns: float, fine: Callable[[int, int], np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """`window` in pieces, in order: the first is the same object as at the last call
        where the view's complete buckets are the same (callers may cache what they derive)."""
        start, stop = max(0, start), min(self.count, stop)
        if stop <= start:
            return [(np.empty(0, np.int64), np.empty(0))]
        per_column = (stop - start) / max(columns, 1.0)
        if per_column < 2:
            return [(np.arange(start, stop), self._values(start, stop, fine))]
        level = -1
        while level + 1 < len(self.levels) and self.bucket_size(level + 1) <= per_column:
            level += 1
        if level < 0:  # finer than level 0: the values of the window, in buckets of a column
            return [_decimated(np.arange(start, stop), fine(start, stop), 1, int(per_column))]
        size = self.bucket_size(level)
        first, last = start // size, min(-(-stop // size), self.buckets(level))
        group = int(per_column // size)
        if (level, first, last, group) != self._body_key:
            if last > first:
                pairs = self.levels[level][2 * first : 2 * last]
                self._body = _decimated(np.arange(first, last) * size, pairs, size, group)
            else:
                self._body = (np.empty(0, np.int64), np.empty(0))
            self._body_key = (level, first, last, group)
        pieces = [self._body]
        # The end not in a complete bucket of this level: finer levels, then the values.
        covered = max(last, first) * size
        for finer in range(level - 1, -1, -1):
            if covered >= stop:
                break
            small = self.bucket_size(finer)
            first, last = covered // small, min(-(-stop // small), self.buckets(finer))
            if last > first:
                pairs = self.levels[finer][2 * first : 2 * last]
                pieces.append(_decimated(np.arange(first, last) * small, pairs, small, 1))
                covered = last * small
        if covered < stop:
            pieces.append((np.arange(covered, stop), self._values(covered, stop, fine)))
        return pieces


def _decimated(
    starts: np.ndarray, values: np.ndarray, size: int, group: int
) -> tuple[np.ndarray, np.ndarray]:
    """Items (values one point each when `size` is 1, else (first, second) pairs of buckets of
    `size` points starting at `starts`) merged `group` at a time into (positions, values):
    each merged bucket's two extremes in order, at its first and last position."""
    values = np.asarray(values, dtype=np.float64)
    width = 1 if size == 1 else 2  # values per item
    items = starts.size
    group = max(1, group)
    if group == 1:  # nothing to merge: each item as it is
        if size == 1:
            return starts, values
        return np.stack([starts, starts + size - 1], axis=1).reshape(-1), values
    merged = items // group * group
    positions, drawn = [], []
    if merged:
        rows = values[: merged * width].reshape(-1, group * width)
        drawn.append(min_max_in_order(rows).reshape(-1))
        begins = starts[:merged:group]
        ends = starts[group - 1 : merged : group] + size - 1
        positions.append(np.stack([begins, ends], axis=1).reshape(-1))
    if merged < items:  # a few items left over: drawn as they are
        rest = values[merged * width :]
        if size == 1:
            positions.append(starts[merged:])
        else:
            rest_starts = starts[merged:]
            positions.append(np.stack([rest_starts, rest_starts + size - 1], axis=1).reshape(-1))
        drawn.append(rest)
    return np.concatenate(positions), np.concatenate(drawn)


class Extremes:
    """The smallest and largest finite value seen, and the smallest positive one (log axes)."""

    def __init__(self) -> None:
        self.low, self.high, self.positive_low = np.inf, -np.inf, np.inf

    def take(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        if finite.size:
            self.low = min(self.low, float(finite.min()))
            self.high = max(self.high, float(finite.max()))
            positive = finite[finite > 0]
            if positive.size:
                self.positive_low = min(self.positive_low, float(positive.min()))

    def as_array(self) -> np.ndarray:
        """The extremes as values: their range is the range of everything taken."""
        values = np.array([self.low, self.high, self.positive_low])
        return values[np.isfinite(values)]


class Smoothing:
    """A curve's EMA-smoothed copy: its pyramid and extremes, the EMA's state after the last
    point, and the state kept every CHECKPOINT points (for exact values in a zoomed view)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight
        self.count = 0  # points smoothed
        self.state = SmoothingState()  # the EMA after the last point
        self.checkpoints: list[tuple[float, float]] = [(0.0, 0.0)]
        self.pyramid = MinMaxPyramid()
        self.extremes = Extremes()

    def take(self, start: int, values: np.ndarray) -> None:
        """Smooth the points start.. (the next ones: start is `count`)."""
        before = self.state
        out, self.state = ema_smooth(values, self.weight, before)
        # The state before each CHECKPOINT-th point, from the output: every value is finite,
        # so each point multiplies 1 - mass by the weight.
        first = -(-(start + 1) // CHECKPOINT) * CHECKPOINT
        at = np.arange(first, start + out.size + 1, CHECKPOINT)
        if at.size:
            taken = at - start  # points smoothed before each
            mass = 1.0 - (1.0 - before.mass) * self.weight**taken
            accumulator = out[taken - 1] * mass
            self.checkpoints += list(zip(accumulator.tolist(), mass.tolist(), strict=True))
        self.pyramid.extend(out)
        self.extremes.take(out)
        self.count = start + out.size


class CurveSeries:
    """One curve's points (finite), its pyramids, and its smoothed copy kept up to date as
    points are appended. A setting's series (`smoothed_quantity` False: a learning rate) is
    drawn as recorded: its smoothed curve is its raw one.

    `steps` may be shared with other series recorded at the same steps (see `extend_shared`);
    `count` is this series' own length, which the shared column's matches."""

    def __init__(
        self, smoothed: bool = True, weight: float = 0.0, steps: AppendColumn | None = None
    ) -> None:
        self.smoothed_quantity = smoothed
        self.steps = steps if steps is not None else AppendColumn(np.float64, ordered=True)
        self.values = AppendColumn(np.float32)
        self.raw_pyramid = MinMaxPyramid()
        self.raw_extremes = Extremes()
        # The smoothed copy (a setting's series keeps an empty one: it draws its raw values).
        self._smoothing = Smoothing(weight if smoothed else 0.0)
        self._body_positions: np.ndarray | None = None  # see `drawn`
        self._body_steps = np.empty(0)

    @property
    def weight(self) -> float:
        return self._smoothing.weight

    @property
    def smoothed_pyramid(self) -> MinMaxPyramid:
        return self._smoothing.pyramid if self.smoothed_quantity else self.raw_pyramid

    @property
    def smoothed_extremes(self) -> Extremes:
        return self._smoothing.extremes if self.smoothed_quantity else self.raw_extremes

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def nbytes(self) -> int:
        """Bytes held, its steps included (count a shared step column once yourself)."""
        pyramids = self.raw_pyramid.nbytes
        if self.smoothed_pyramid is not self.raw_pyramid:
            pyramids += self.smoothed_pyramid.nbytes
        return self.values.nbytes + pyramids + len(self._smoothing.checkpoints) * 16

    def extend(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Append points (the series' step column grows with them)."""
        self.steps.extend(steps)
        self.extend_values(values)

    def extend_values(self, values: np.ndarray) -> None:
        """Append values whose steps the (shared) step column already holds."""
        # float32 holds what a screen resolves; beyond its range a value is kept at its edge.
        stored = np.clip(np.asarray(values, dtype=np.float64), -FLOAT32_MAX, FLOAT32_MAX)
        stored = stored.astype(np.float32)
        start = self.count
        self.values.extend(stored)
        self.raw_pyramid.extend(stored)
        self.raw_extremes.take(stored)
        if self.smoothed_quantity:
            self._smoothing.take(start, stored.astype(np.float64))

    def smooth(self, weight: float, restart: bool = False) -> None:
        """Smooth with a new weight: the smoothed pyramid is built anew over every point."""
        if not self.smoothed_quantity or (weight == self.weight and not restart):
            return
        self.use_smoothing(self.smoothing(weight))

    def smoothing(self, weight: float, count: int | None = None) -> Smoothing:
        """The first `count` points (all held now) smoothed with `weight`, built aside. It reads
        only points that never change once appended, so another thread may build it while this
        one appends (pass `count`, read on this one); `use_smoothing` then takes it in, with
        the points appended meanwhile."""
        built = Smoothing(weight)
        count = self.count if count is None else count
        for start in range(0, count, CHUNK):
            piece = np.asarray(self.values[start : min(count, start + CHUNK)], dtype=np.float64)
            built.take(start, piece)
        return built

    def use_smoothing(self, smoothing: Smoothing) -> None:
        """Draw the smoothed curve from `smoothing` (see `smoothing`) from now on."""
        if not self.smoothed_quantity:
            return
        self._smoothing = smoothing
        self._body_positions = None  # the drawn steps were the old pyramid's buckets'
        done = smoothing.count
        if done < self.count:
            smoothing.take(done, np.asarray(self.values[done : self.count], np.float64))

    def smoothed_values(self, start: int, stop: int) -> np.ndarray:
        """The smoothed values start..stop-1, recomputed from the nearest kept EMA state."""
        if not self.smoothed_quantity:
            return np.asarray(self.values[start:stop], dtype=np.float64)
        k = start // CHECKPOINT
        accumulator, mass = self._smoothing.checkpoints[k]
        values = np.asarray(self.values[k * CHECKPOINT : stop], dtype=np.float64)
        out, _ = ema_smooth(values, self.weight, SmoothingState(accumulator, mass))
        return out[start - k * CHECKPOINT :]

    def nearest(self, step: float) -> int:
        """The position of the point whose step is nearest `step` (the series is not empty)."""
        i = min(max(self.steps.searchsorted(step), 0), self.count - 1)
        if i > 0 and abs(self.steps[i - 1] - step) < abs(self.steps[i] - step):
            i -= 1
        return i

    def visible(self, low: float, high: float) -> tuple[int, int]:
        """The positions of the points with steps in [low, high] (all, if steps go back)."""
        if not self.steps.ascending:
            return 0, self.count
        start = self.steps.searchsorted(low, "left")
        return start, min(self.count, self.steps.searchsorted(high, "right"))

    def drawn(
        self, low: float, high: float, pixels: float, raw: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(steps, raw values or None, smoothed values) to draw the steps low..high on a view
        `pixels` wide: about two points per pixel column, each column's extremes kept."""
        n = self.count
        if not n:
            return np.empty(0), (np.empty(0) if raw else None), np.empty(0)
        start, stop = self.visible(low, high)
        # One point either side, so that the lines run on to the view's edges.
        start, stop = max(0, start - 1), min(n, stop + 1)
        if stop - start <= 0:
            return np.empty(0), (np.empty(0) if raw else None), np.empty(0)
        # The columns the points take: a run shorter than the view takes part of it.
        first, last = float(self.steps[start]), float(self.steps[stop - 1])
        span = (min(high, last) - max(low, first)) / (high - low) if high > low else 1.0
        columns = max(1.0, pixels * min(1.0, max(span, 0.0)))
        pieces = self.smoothed_pyramid.pieces(start, stop, columns, self.smoothed_values)
        smoothed = np.concatenate([v for _, v in pieces])
        raw_values = None
        if raw:  # the same buckets, so the same positions
            raw_pieces = self.raw_pyramid.pieces(
                start, stop, columns, lambda a, b: self.values[a:b]
            )
            raw_values = np.concatenate([v for _, v in raw_pieces])
        # The steps of the view's complete buckets are kept while they stay the same.
        body = pieces[0][0]
        if body is not self._body_positions:
            self._body_positions, self._body_steps = body, self.steps.take(body)
        rest = [self.steps.take(p) for p, _ in pieces[1:]]
        steps = np.concatenate([self._body_steps, *rest]).astype(np.float64)
        return steps, raw_values, smoothed


def extend_sharing_steps(
    series: dict[str, CurveSeries], points: dict[str, tuple[np.ndarray, np.ndarray]], dtype=None
) -> None:
    """Append each key's (steps, values) to its series, one step column per set of series
    recorded at the same steps (a run's losses, D's outputs, norms, rates: one column for all).

    Series that share a column and get the same new steps extend it once. A series whose new
    steps differ from the others' (a quantity recorded at some steps only) is given a column of
    its own, copied once."""
    groups: dict[int, list[str]] = {}
    for key, one in series.items():
        group = id(one.steps) if one.count else -1  # the empty series: a group of their own
        groups.setdefault(group, []).append(key)
    for keys in groups.values():
        arriving = [key for key in keys if key in points]
        # Keys of the group getting the same steps, together.
        same: list[list[str]] = []
        for key in arriving:
            for batch in same:
                if np.array_equal(points[batch[0]][0], points[key][0]):
                    batch.append(key)
                    break
            else:
                same.append([key])
        for batch in same:
            column = series[batch[0]].steps
            if not (series[batch[0]].count and batch == keys):  # not the whole group: a copy
                copy = AppendColumn(dtype or column.dtype, ordered=True)
                copy.extend(column[0 : series[batch[0]].count])
                column = copy
            column.extend(points[batch[0]][0])
            for key in batch:
                series[key].steps = column
                series[key].extend_values(points[key][1])
