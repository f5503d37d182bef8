"""Images from a `.npy` or `.npz` file: (N, H, W), (N, H, W, C) or (N, C, H, W).

A stranger's array file is checked before numpy reads it (`check_array_file`): a regular
file, an array header that promises no more bytes than the file (or its zip member) holds,
since numpy allocates what the header says first; no Python objects (numpy would unpickle
them, which can run code; its own message advises loading them "unsafely", ours does not);
and no compressed member that would inflate far beyond its size (a zip bomb).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
import torch

from ganviz_gui.core.data.dataset import Dataset, resize_square
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.regular_files import open_regular

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
# A compressed member may inflate to this much at least, and to this many times its size.
INFLATED_BYTES = 256 << 20
INFLATION_RATIO = 100
PICKLE_REFUSAL = (
    "it holds Python objects (pickled data), which GANViz never loads: loading them could "
    "run code; save plain numeric arrays (numpy.save of a number array) instead"
)
_IMAGE_KEYS = ("images", "x", "data", "arr_0")
_LABEL_KEYS = ("labels", "y", "targets")
_CHANNELS = (1, 3, 4)


def load_array_file(path: str | Path, size: int) -> Dataset:
    path = Path(path)
    if not os.path.lexists(path):
        raise DataError(f"{path}: no such file")
    labels = None
    with open_regular(path) as handle:
        loaded = load_numeric(handle, path)
        try:
            if isinstance(loaded, np.lib.npyio.NpzFile):
                with loaded:
                    images = _pick(loaded, _IMAGE_KEYS, path, required=True)
                    labels = _pick(loaded, _LABEL_KEYS, path, required=False)
            else:
                images = loaded
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise DataError(f"{path}: damaged array data ({_our_words(exc)})") from None

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


def load_numeric(handle: BinaryIO, path: Path) -> Any:
    """np.load of an open .npy/.npz file after `check_array_file`: an array, or an NpzFile
    read from `handle` while it stays open. Every failure is a DataError naming `path`."""
    check_array_file(handle, path)
    try:
        # allow_pickle=False: an object array in a stranger's file would run code.
        return np.load(handle, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a plain numeric array file ({_our_words(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read as .npy/.npz ({exc})") from None


def check_array_file(handle: BinaryIO, path: Path) -> None:
    """Refuse, before numpy reads it, an array file whose arrays promise more bytes than it
    holds, that holds Python objects, or whose compressed members would inflate too far.
    `handle`: the file, open; it is left at its start."""
    size = os.fstat(handle.fileno()).st_size
    magic = handle.read(len(NPY_MAGIC))
    handle.seek(0)
    if magic.startswith(ZIP_MAGIC):
        _check_npz(handle, size, path)
    elif magic == NPY_MAGIC:
        _check_npy_header(handle, size, path, path.name)
        handle.seek(0)
    elif magic[:1] == b"\x80":  # a pickle, which numpy would unpickle were it allowed to
        raise DataError(f"{path}: not a .npy/.npz array file: {PICKLE_REFUSAL}")
    else:
        raise DataError(f"{path}: not a .npy/.npz array file (it does not start as one)")


def _check_npz(handle: BinaryIO, size: int, path: Path) -> None:
    try:
        with zipfile.ZipFile(handle) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = f"{info.filename[:100]} in it"
                if info.compress_type != zipfile.ZIP_STORED and info.file_size > max(
                    INFLATED_BYTES, INFLATION_RATIO * info.compress_size
                ):
                    raise DataError(
                        f"{path}: refused: {name} would inflate from {info.compress_size:,} to "
                        f"{info.file_size:,} bytes (a zip bomb?)"
                    )
                if info.compress_type == zipfile.ZIP_STORED and info.file_size > size:
                    raise DataError(f"{path}: damaged: {name} claims more bytes than the file")
                with archive.open(info) as member:
                    _check_npy_header(member, info.file_size, path, name)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise DataError(f"{path}: cannot read as .npz ({exc})") from None
    finally:
        handle.seek(0)


def _check_npy_header(stream: IO[bytes], size: int, path: Path, name: str) -> None:
    """The array a .npy stream's header describes fits in its `size` bytes, and holds no
    Python objects."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, EOFError, OSError, SyntaxError) as exc:
        raise DataError(f"{path}: {name}: not a readable .npy array ({exc})") from None
    if dtype.hasobject:
        raise DataError(f"{path}: {name}: {PICKLE_REFUSAL}")
    promised = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if promised > size:
        raise DataError(
            f"{path}: {name}: damaged: its header promises an array of shape {shape} "
            f"({promised:,} bytes), more than the {size:,} bytes there"
        )


def _our_words(error: Exception) -> str:
    """numpy's message, but never its advice to load a file "unsafely"."""
    message = str(error)
    return PICKLE_REFUSAL if "allow_pickle" in message or "pickle" in message else message


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
