"""How the loss plots write numbers and round their ranges: nice step and value ranges for
"follow latest", short tick labels of one style, and the labels of events (live setting
changes, recoveries) with their tooltips. Pure formatting but for the two pyqtgraph items."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

MAX_EVENT_TEXT = 200  # characters of an event's label: a long value is cut
EVENT_LABEL_POINTS = 8.0

NICE_MANTISSAS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceiling(value: float) -> float:
    """The smallest round number (1, 1.25, 1.5, 2, ... 8 x 10^k) at or above `value` (> 0).

    Steps are at most 25% apart: a following view wastes little room yet changes rarely.
    """
    exponent = math.floor(math.log10(value))
    for mantissa in NICE_MANTISSAS:
        candidate = mantissa * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)


def nice_range(values: np.ndarray, log: bool = False, from_zero: bool = False) -> tuple:
    """A y range holding the finite values, its ends rounded out to a nice tick spacing.

    In log mode the range is in log10 units, as pyqtgraph's log axes expect.
    """
    finite = values[np.isfinite(values)]
    if log:
        finite = np.log10(finite[finite > 0])
        if finite.size == 0:
            return (-1.0, 1.0)
        return (float(math.floor(finite.min())), float(math.ceil(finite.max() + 1e-9)))
    if finite.size == 0:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    if from_zero:
        low = min(low, 0.0)
    span = high - low
    if span <= 0:  # a constant curve (a learning rate): centre it with room around
        span = abs(high) or 1.0
        low, high = low - span / 2, high + span / 2
        if from_zero:
            low = min(0.0, low)
    high += 0.04 * span  # a margin, so no curve runs along the frame
    low = 0.0 if from_zero and low >= 0 else low - 0.04 * span
    tick = nice_tick((high - low) / 5)
    return (math.floor(low / tick) * tick, math.ceil(high / tick) * tick)


def nice_tick(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above `value`: the spacing axes label with."""
    exponent = math.floor(math.log10(value))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        if mantissa * 10.0**exponent >= value * (1 - 1e-12):
            return mantissa * 10.0**exponent
    return 10.0 ** (exponent + 1)


class EventLabel(pg.TextItem):
    """The label of an event's line on the top plot: `full_text` is all of it; what is shown
    may be cut to fit (`fit`); the tooltip always says all of it."""

    def __init__(self, step: float, text: str, color: tuple[int, int, int]):
        super().__init__(text, color=color, anchor=(0, 0))
        font = self.textItem.font()
        font.setPointSizeF(EVENT_LABEL_POINTS)
        self.setFont(font)
        self.step, self.full_text = step, text
        self.setToolTip(text)

    def fit(self, room: float) -> None:
        """Show as much of the text as `room` px hold (all of it where it fits)."""
        margin = 2 * self.textItem.document().documentMargin()
        metrics = QFontMetrics(self.textItem.font())
        shown = metrics.elidedText(self.full_text, Qt.ElideRight, max(0, int(room - margin)))
        if shown != self.shown_text:
            self.setText(shown)

    @property
    def shown_text(self) -> str:
        return self.textItem.toPlainText()


def compact_number(value: float) -> str:
    """A setting's value as short as it reads: 0.004, 0.5, 3, 2e-4, 1.5e6."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return power_of_ten(value)


def power_of_ten(value: float) -> str:
    """`value` as a mantissa of at most four digits and a short exponent: 2.5e-4, 1e6."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def compact_change(old: float, new: float) -> str:
    """old → new, both written alike: in powers of ten if either needs them."""
    texts = [compact_number(old), compact_number(new)]
    if any("e" in text for text in texts):
        texts = [power_of_ten(old), power_of_ten(new)]
    return " → ".join(texts)


class CompactAxis(pg.AxisItem):
    """A value axis whose tick labels are short and of one style. pyqtgraph writes very
    small ticks as 0.00025 beside 5e-05 (a learning rate's axis), which run into the axis
    title; here they read 2.5e-4 and 5e-5. On a log scale only 1, 2 and 5 times a power of
    ten are labelled (pyqtgraph labels 2 to 9 in a plot a hundred pixels high, on top of
    each other)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        largest = max((abs(value) * scale for value in values), default=0.0)
        if self.logMode or largest == 0 or 1e-3 <= largest < 1e5:
            return super().tickStrings(values, scale, spacing)
        # A tick at zero computed as 1e-20 is still zero.
        return [
            "0" if abs(value) < spacing * 1e-6 else power_of_ten(value * scale) for value in values
        ]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        labels = []
        for exponent in values:
            number = 10.0**exponent * scale
            mantissa = number / 10.0 ** math.floor(math.log10(number) + 1e-9)
            labelled = any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1.0, 2.0, 5.0))
            labels.append(compact_number(number) if labelled else "")
        return labels


def event_text(event: dict[str, Any], before: dict[str, float] | None = None) -> str:
    """An event's label: a live change as `lr_d=0.004`, or `lr_d 2e-4 → 4e-3` where `before`
    gives the value the setting had."""
    kind = event["kind"]
    # What the event itself says it changed from (GANViz's own runs) wins over the records.
    recorded = event.get("previous")
    before = {**(before or {}), **(recorded if isinstance(recorded, dict) else {})}
    if kind == "settings_changed":
        skipped = ("step", "time", "kind", "previous")
        changes = {k: v for k, v in event.items() if k not in skipped}
        parts = []
        for key, value in changes.items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            old = before.get(key)
            if isinstance(value, str) and isinstance(old, str) and old != value:
                parts.append(f"{key} {old} → {value}")
                continue
            if not isinstance(old, (int, float)) or isinstance(old, bool):
                old = None
            if number and old is not None and not math.isclose(old, value, rel_tol=1e-9):
                parts.append(f"{key} {compact_change(old, float(value))}")
            elif number and isinstance(value, float):
                parts.append(f"{key}={compact_number(value)}")
            else:
                parts.append(f"{key}={value}")
        text = ", ".join(parts)
        return text if len(text) <= MAX_EVENT_TEXT else text[: MAX_EVENT_TEXT - 1] + "…"
    if kind == "nonfinite_recovery":
        return f"non-finite: restored step {event.get('restored_step')}, rates halved"
    if kind == "error":
        return "error"
    return kind
