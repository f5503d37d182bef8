"""The layer statistics of a run folder (network_stats.jsonl, see docs/run-folder.md) read
back, whoever wrote the file, as the network view expects them: `clean_stats_record`.

Apart from `network_stats`, which writes them, because reading needs no torch: a run folder
opened by the command line (`ganviz diagnose`) or before the window has loaded torch reads
its statistics without importing it (1.2 s of a 10^4-record read, before).
"""

from __future__ import annotations

import math
from typing import Any

from ganviz_gui.core.record_columns import record_step

LAYER_NUMBERS = ("weight_norm", "grad_norm", "weight_range", "grad_range")
LAYER_HISTOGRAMS = ("weight_hist", "grad_hist")
MAX_LAYERS = 10_000
MAX_HISTOGRAM = 10_000  # bins
MAX_MAGNITUDE = 1e300  # beyond this a histogram's edges (2 x range) overflow to infinity


def clean_stats_record(record: Any) -> tuple[dict[str, Any] | None, int]:
    """A network_stats.jsonl record as the network view reads it, whoever wrote the file:
    (the record, or None when it has no step from 0 to MAX_STEP; how many values of the wrong
    type were dropped). Every layer kept has a "layer" name, the four norms and ranges as
    finite floats or None, and both histograms as lists of at most MAX_HISTOGRAM numbers ([] when
    absent); `verdicts` is kept only whole and well-formed; other keys are not read."""
    if not isinstance(record, dict):
        return None, 0
    step = record_step(record.get("step"))
    if step is None:
        return None, 0
    cleaned: dict[str, Any] = {"step": step}
    dropped = 0
    for network in ("generator", "discriminator"):
        if network not in record:
            continue
        layers = record[network]
        if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
            dropped += 1
            continue
        rows = []
        for layer in layers:
            row, bad = _clean_layer(layer)
            dropped += bad
            if row is not None:
                rows.append(row)
        cleaned[network] = rows
    if "verdicts" in record:
        verdicts = _clean_verdicts(record["verdicts"])
        if verdicts is None:
            dropped += 1
        else:
            cleaned["verdicts"] = verdicts
    return cleaned, dropped


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value) if abs(value) < MAX_MAGNITUDE else math.inf
        return number if math.isfinite(number) else None
    return None


def _numbers(value: Any) -> list[float] | None:
    """A list of at most MAX_HISTOGRAM finite numbers, as it is (a histogram's counts are
    ints), else None. Checked in C (`math.fsum` refuses what is not a number and is not
    finite where a value is not): a long run has 10^4 records of 10^3 counts each."""
    if not isinstance(value, list) or len(value) > MAX_HISTOGRAM:
        return None
    if not value:
        return value
    try:
        if not math.isfinite(math.fsum(value)):
            return None
    except (TypeError, OverflowError):  # text, null, lists; an int beyond any float
        return None
    if max(value) >= MAX_MAGNITUDE or min(value) <= -MAX_MAGNITUDE:
        return None
    return value


_LAYER_KEYS = frozenset({"layer", *LAYER_NUMBERS, *LAYER_HISTOGRAMS})


def _is_norm(value: Any) -> bool:
    return value is None or (type(value) is float and -MAX_MAGNITUDE < value < MAX_MAGNITUDE)


def _clean_layer(layer: Any) -> tuple[dict[str, Any] | None, int]:
    if (  # the writer's own layout, kept as it is: the common case, checked quickly
        type(layer) is dict
        and layer.keys() == _LAYER_KEYS
        and type(layer["layer"]) is str
        and 0 < len(layer["layer"]) <= 200
        and _is_norm(layer["weight_norm"])
        and _is_norm(layer["grad_norm"])
        and _is_norm(layer["weight_range"])
        and _is_norm(layer["grad_range"])
        and _numbers(layer["weight_hist"]) is not None
        and _numbers(layer["grad_hist"]) is not None
    ):
        return layer, 0
    if not isinstance(layer, dict):
        return None, 1
    name = layer.get("layer")
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        return None, 1
    row: dict[str, Any] = {"layer": name}
    dropped = 0
    for key in LAYER_NUMBERS:
        value = layer.get(key)
        row[key] = _number(value)
        if value is not None and row[key] is None:  # null: how the writer records a NaN
            dropped += 1
    for key in LAYER_HISTOGRAMS:
        counts = _numbers(layer.get(key, []))
        row[key] = counts if counts is not None else []
        dropped += counts is None
    return row, dropped


def _clean_verdicts(verdicts: Any) -> dict[str, Any] | None:
    if not isinstance(verdicts, dict):
        return None
    low, high, overlap = (_number(verdicts.get(k)) for k in ("low", "high", "overlap"))
    real, fake = _numbers(verdicts.get("real")), _numbers(verdicts.get("fake"))
    if low is None or high is None or overlap is None or real is None or fake is None:
        return None
    if not (low < high and 0 < len(real) == len(fake)):
        return None
    return {"low": low, "high": high, "real": real, "fake": fake, "overlap": overlap}
