"""Files made for people and papers: metrics as CSV, animated GIFs of a run or of a path
through latent space.

Everything is written atomically (a temporary file renamed into place), like the run folder.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ganviz_gui.core.atomic_files import atomic_write, atomic_write_text
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.run_folder import list_sample_pictures
from ganviz_gui.core.sample_images import read_picture, upscale

GIF_MAX_FRAMES = 300  # a longer run is subsampled evenly; the last picture is always kept
GIF_MAX_PIXELS = 1 << 28  # of all frames together (768 MB as RGB): big grids keep fewer frames
GIF_MAX_SIDE = 65_535  # the format's 16-bit width and height


def write_metrics_csv(records: list[dict[str, Any]], path: str | Path) -> Path:
    """One row per record, one column per metric (the union of all keys, `step` first)."""
    path = Path(path)
    if not records:
        raise DataError(f"{path}: there are no metrics to export yet")
    records = [_flat(record) for record in records]
    columns = ["step", *sorted({key for record in records for key in record} - {"step"})]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(records, key=lambda r: r.get("step", 0)))
    atomic_write_text(path, buffer.getvalue())
    return path


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """A list (the class histogram) becomes one column per entry: class_counts_0, ..."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, list):
            flat.update({f"{key}_{i}": item for i, item in enumerate(value)})
        else:
            flat[key] = value
    return flat


def write_run_gif(run_dir: str | Path, path: str | Path, frame_ms: int = 200) -> int:
    """The run's sample pictures (samples/step_*.png) as an animated GIF; returns the frames.

    Each picture is read as the sample grid reads it (`read_picture`: the decompression-bomb
    limits image folders have), so a bomb or a damaged picture is a DataError naming it. The
    newest picture sets the GIF's size, and with it how many frames fit in GIF_MAX_PIXELS."""
    path = Path(path)
    pictures = list_sample_pictures(run_dir)
    if not pictures:
        raise DataError(f"{run_dir}: the run has no sample pictures to animate")
    newest = _read_frame(pictures[-1][1])
    if max(newest.size) > GIF_MAX_SIDE:
        width, height = newest.size
        raise DataError(
            f"{pictures[-1][1]}: {width}x{height} pixels, more than a GIF holds "
            f"({GIF_MAX_SIDE:,} a side)"
        )
    fit = max(1, GIF_MAX_PIXELS // (newest.width * newest.height))
    kept = _evenly(pictures, min(GIF_MAX_FRAMES, fit))
    frames = [_read_frame(picture, newest.size) for _, picture in kept[:-1]]
    return _write_gif([*frames, newest], path, frame_ms)


def _evenly(pictures: list[tuple[int, Path]], count: int) -> list[tuple[int, Path]]:
    """At most `count` of `pictures`, spread evenly over the run; the newest is always kept."""
    if len(pictures) <= count:
        return pictures
    if count <= 1:
        return pictures[-1:]
    stride = len(pictures) / (count - 1)
    keep = {round(i * stride) for i in range(count - 1)} | {len(pictures) - 1}
    return [p for i, p in enumerate(pictures) if i in keep]


def _read_frame(picture: Path, size: tuple[int, int] | None = None) -> Image.Image:
    """One sample picture as an RGB image, resized to `size` (a run that changed n_samples on
    resume has grids of another size)."""
    try:
        image = Image.fromarray(read_picture(picture))
        if size is not None and image.size != size:
            image = image.resize(size, Image.Resampling.NEAREST)
        return image
    except MemoryError:
        raise DataError(f"{picture}: too large to animate (out of memory)") from None


def write_frames_gif(
    frames: list[np.ndarray], path: str | Path, frame_ms: int = 150, scale: int = 1
) -> int:
    """(H, W, 3) uint8 pictures as an animated GIF, each enlarged `scale` times (nearest)."""
    if not frames:
        raise DataError(f"{path}: there is nothing to animate yet")
    images = [Image.fromarray(upscale(np.ascontiguousarray(f), scale)) for f in frames]
    return _write_gif(images, Path(path), frame_ms)


def _write_gif(frames: list[Image.Image], path: Path, frame_ms: int) -> int:
    size = frames[-1].size
    # A grid's size only changes if the run changed n_samples on resume; keep to the last one.
    frames = [f if f.size == size else f.resize(size, Image.Resampling.NEAREST) for f in frames]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=frame_ms,
        loop=0,
        optimize=False,
    )
    atomic_write(path, lambda handle: handle.write(buffer.getvalue()))
    return len(frames)
