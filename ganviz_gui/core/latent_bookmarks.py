"""Latent bookmarks: named latents and planes saved as JSON plus one `.npy` of vectors.

`NAME.json` says what each row of `NAME.npy` is; the vectors live in the `.npy` (read with
pickles disabled), so a bookmark file is data only. Bookmarks fit any generator with the same
latent size: other checkpoints of the run, or other runs.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganviz_gui.core.atomic_files import atomic_write, atomic_write_text
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.latent_plane import LatentPlane
from ganviz_gui.core.regular_files import read_regular

MAX_BOOKMARKS_BYTES = 16 * 1024**2  # a JSON list of names and planes

FORMAT = "ganviz-latent-bookmarks"
FORMAT_VERSION = 1


@dataclass
class LatentBookmarks:
    latent_dim: int
    latents: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> (D,)
    planes: dict[str, LatentPlane] = field(default_factory=dict)

    def check_fits(self, latent_dim: int, source: str = "these bookmarks") -> None:
        if latent_dim != self.latent_dim:
            raise DataError(
                f"{source}: latents of size {self.latent_dim} do not fit a generator whose "
                f"latent size is {latent_dim}"
            )


def save_bookmarks(bookmarks: LatentBookmarks, path: str | Path) -> Path:
    """Write NAME.json and NAME.npy (atomically, vectors first); returns the JSON's path."""
    path = Path(path).with_suffix(".json")
    rows: list[torch.Tensor] = []

    def row(vector: torch.Tensor) -> int:
        rows.append(vector.reshape(-1).float().cpu())
        return len(rows) - 1

    latents = [{"name": name, "row": row(z)} for name, z in bookmarks.latents.items()]
    planes = [
        {
            "name": name,
            "label": plane.name,
            "origin": row(plane.origin),
            "e1": row(plane.e1),
            "e2": row(plane.e2),
        }
        for name, plane in bookmarks.planes.items()
    ]
    vectors = torch.stack(rows).numpy() if rows else np.zeros((0, bookmarks.latent_dim), np.float32)
    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    atomic_write(path.with_suffix(".npy"), lambda handle: handle.write(buffer.getvalue()))
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "latent_dim": bookmarks.latent_dim,
        "vectors": path.with_suffix(".npy").name,
        "latents": latents,
        "planes": planes,
    }
    atomic_write_text(path, json.dumps(document, indent=2))
    return path


def load_bookmarks(path: str | Path) -> LatentBookmarks:
    """Read and check NAME.json and its NAME.npy; every problem is a DataError naming the file."""
    path = Path(path).with_suffix(".json")
    raw = read_regular(path, MAX_BOOKMARKS_BYTES, DataError, "bookmarks file")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise DataError(f"{path}: not a bookmarks file (not valid JSON)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f"{path}: not a GANViz bookmarks file")
    if not isinstance(document.get("format_version"), int) or document["format_version"] > (
        FORMAT_VERSION
    ):
        raise DataError(f"{path}: written by a newer GANViz; please update")
    latent_dim = document.get("latent_dim")
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise DataError(f"{path}: damaged: no valid latent size")
    vectors_path = path.with_suffix(".npy")
    if not vectors_path.exists():
        raise DataError(f"{path}: its vectors file {vectors_path.name} is missing")
    raw_vectors = read_regular(vectors_path, MAX_BOOKMARKS_BYTES * 16, DataError, "vectors file")
    try:
        vectors = np.load(io.BytesIO(raw_vectors), allow_pickle=False)
    except (OSError, ValueError):
        raise DataError(f"{vectors_path}: damaged or not a numpy array file") from None
    if vectors.ndim != 2 or vectors.shape[1] != latent_dim or vectors.dtype.kind != "f":
        raise DataError(
            f"{vectors_path}: expected rows of {latent_dim} numbers, got an array of shape "
            f"{vectors.shape} ({vectors.dtype})"
        )
    if not np.isfinite(vectors).all():
        raise DataError(f"{vectors_path}: holds NaN or infinite values")
    table = torch.from_numpy(vectors.astype(np.float32))

    def vector(entry: dict[str, Any], key: str) -> torch.Tensor:
        index = entry.get(key)
        if not isinstance(index, int) or not 0 <= index < len(table):
            raise DataError(f"{path}: damaged: {entry.get('name')!r} points at a missing row")
        return table[index].clone()

    bookmarks = LatentBookmarks(latent_dim)
    for entry in _entries(document, "latents", path):
        bookmarks.latents[entry["name"]] = vector(entry, "row")
    for entry in _entries(document, "planes", path):
        bookmarks.planes[entry["name"]] = LatentPlane(
            vector(entry, "origin"),
            vector(entry, "e1"),
            vector(entry, "e2"),
            str(entry.get("label", entry["name"])),
        )
    return bookmarks


def _entries(document: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    entries = document.get(key, [])
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
    ):
        raise DataError(f"{path}: damaged: '{key}' is not a list of named entries")
    return entries
