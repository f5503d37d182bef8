"""Images from a `.npy` or `.npz` file: (N, H, W), (N, H, W, C) or (N, C, H, W)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ganviz_gui.core.data.dataset import Dataset, resize_square
from ganviz_gui.core.errors import DataError

_IMAGE_KEYS = ("images", "x", "data", "arr_0")
_LABEL_KEYS = ("labels", "y", "targets")
_CHANNELS = (1, 3, 4)


def load_array_file(path: str | Path, size: int) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    labels = None
    try:
        # allow_pickle=False: an object array in a stranger's file would run code when loaded.
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a plain numeric array file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read as .npy/.npz ({exc})") from None
    try:
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                images = _pick(loaded, _IMAGE_KEYS, path, required=True)
                labels = _pick(loaded, _LABEL_KEYS, path, required=False)
        else:
            images = loaded
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: damaged array data ({exc})") from None

    images = _to_uint8_nchw(images, path)
    if (size and size != images.shape[-1]) or images.shape[-1] != images.shape[-2]:
        images = resize_square(images, size or min(images.shape[-2:]))
    label_tensor = None
    if labels is not None:
        if labels.ndim != 1 or len(labels) != len(images) or labels.dtype.kind not in "iu":
            raise DataError(
                f"{path}: labels must be N whole numbers for N={len(images)} images, "
                f"got {labels.dtype} {labels.shape}"
            )
        label_tensor = torch.from_numpy(labels.astype(np.int64))
    return Dataset(name="array", data=images, labels=label_tensor, source=str(path))


def _pick(archive: np.lib.npyio.NpzFile, keys: tuple[str, ...], path: Path, required: bool):
    for key in keys:
        if key in archive.files:
            return archive[key]
    if required:
        if len(archive.files) == 1:
            return archive[archive.files[0]]
        raise DataError(
            f"{path}: cannot tell which array holds the images; name it one of "
            f"{', '.join(keys)} (found {', '.join(archive.files) or 'none'})"
        )
    return None


def _to_uint8_nchw(array: np.ndarray, path: Path) -> torch.Tensor:
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: expected numeric images, found {array.dtype}")
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        if array.shape[-1] in _CHANNELS:
            array = array.transpose(0, 3, 1, 2)  # NHWC -> NCHW
        elif array.shape[1] not in _CHANNELS:
            raise DataError(
                f"{path}: shape {array.shape} has no channel axis of 1, 3 or 4 "
                "(expected (N,H,W), (N,H,W,C) or (N,C,H,W))"
            )
    else:
        raise DataError(f"{path}: expected (N,H,W), (N,H,W,C) or (N,C,H,W), got {array.shape}")
    if array.shape[0] == 0 or min(array.shape[2:]) < 2:
        raise DataError(f"{path}: no usable images in an array of shape {array.shape}")
    array = _scale_to_uint8(array, path)
    if array.shape[1] == 4:
        # Composite RGBA over white so transparent pixels do not become arbitrary colours.
        alpha = array[:, 3:4].astype(np.float32) / 255.0
        array = np.rint(array[:, :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(array))


def _scale_to_uint8(array: np.ndarray, path: Path) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind == "b":
        return array.astype(np.uint8) * 255
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"{path}: the images hold NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if array.dtype == np.uint16 and high > 255:
        scaled = values / 257.0
    elif low >= 0 and high <= 1:
        scaled = values * 255.0
    elif low >= -1 and high <= 1:
        scaled = (values + 1.0) * 127.5
    elif low >= 0 and high <= 255:
        scaled = values
    else:
        raise DataError(
            f"{path}: pixel values run from {low:g} to {high:g}; expected 0..1, -1..1 or 0..255"
        )
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
