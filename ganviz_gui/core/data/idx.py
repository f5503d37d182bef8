"""MNIST and Fashion-MNIST from the standard IDX files, and their checked download.

Files are read from a folder the user names (gzipped or not), or fetched on request from the
standard public mirrors into GANViz's cache. A download is written to a temporary file, its
MD5 compared with the published one, and only then renamed into place: a failed or partial
download leaves no half file behind. A file is read only if it is a regular one, and a gzipped
one is inflated no further than its header promises (a gzip bomb costs nothing).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from ganviz_gui.core.app_dirs import cache_dir
from ganviz_gui.core.atomic_files import atomic_write
from ganviz_gui.core.data.dataset import Dataset
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.regular_files import open_regular

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"

# name -> (mirrors, {file: md5}, class names). Checksums are the ones torchvision publishes.
SOURCES: dict[str, tuple[tuple[str, ...], dict[str, str], list[str]]] = {
    "mnist": (
        (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        {
            TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
        },
        [str(d) for d in range(10)],
    ),
    "fashion-mnist": (
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {
            TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
        },
        [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ],
    ),
}

_IDX_DTYPES: dict[int, npt.DTypeLike] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
DOWNLOAD_TIMEOUT_S = 30
MAX_IDX_BYTES = 8 << 30  # an IDX array larger than this is refused before it is read


def default_cache_folder(name: str) -> Path:
    return cache_dir() / name


def load_idx_dataset(name: str, folder: str | Path | None, download: bool) -> Dataset:
    """Load the training split of MNIST or Fashion-MNIST.

    With `folder`, the IDX files must be there. Without it, the cache is used, and filled
    from the mirrors when `download` is set.
    """
    mirrors, checksums, class_names = SOURCES[name]
    if folder:
        root = Path(folder)
        if not root.is_dir():
            what = "not a folder" if os.path.lexists(root) else "no such folder"
            raise DataError(f"{root}: {what} (expected the {name} IDX files in it)")
    else:
        root = default_cache_folder(name)
        if download:
            download_files(root, mirrors, checksums)
    images_path = _find_idx(root, TRAIN_IMAGES)
    labels_path = _find_idx(root, TRAIN_LABELS)
    if images_path is None or labels_path is None:
        hint = (
            f"pass a folder holding {TRAIN_IMAGES} and {TRAIN_LABELS}"
            if folder
            else f"pass --data FOLDER with the IDX files, or --download to fetch them into {root}"
        )
        raise DataError(f"{root}: {name} training files not found; {hint}")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path}: expected uint8 images (N, H, W), got {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}"
        )
    return Dataset(
        name=name,
        data=torch.from_numpy(images.copy()).unsqueeze(1),  # (N, 1, H, W)
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=class_names,
        source=str(root),
    )


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (gzipped or not): magic, dims, then big-endian data. What is read
    (and inflated) is what the header promises, and one byte more to tell that more follows."""
    with open_regular(path) as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
        handle.seek(0)
        stream: Any = gzip.GzipFile(fileobj=handle) if gzipped else handle
        try:
            magic = stream.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
                raise DataError(f"{path}: not an IDX file (bad magic number)")
            ndim = magic[3]
            dims = stream.read(4 * ndim)
            if ndim == 0 or len(dims) < 4 * ndim:
                raise DataError(f"{path}: IDX header is truncated")
            shape = struct.unpack(f">{ndim}I", dims)
            dtype = np.dtype(_IDX_DTYPES[magic[2]])
            expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if expected > MAX_IDX_BYTES:
                raise DataError(
                    f"{path}: IDX header promises {shape} ({expected:,} bytes), more than "
                    f"GANViz reads ({MAX_IDX_BYTES:,})"
                )
            data = stream.read(expected + 1)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise DataError(f"{path}: cannot read ({exc})") from None
    if len(data) != expected:
        follow = "more" if len(data) > expected else f"{len(data)}"
        raise DataError(
            f"{path}: IDX header promises {shape} ({expected} bytes) but {follow} bytes follow"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def download_files(folder: Path, mirrors: Sequence[str], checksums: dict[str, str]) -> None:
    """Fetch each file not already present and valid, trying the mirrors in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    for filename, md5 in checksums.items():
        target = folder / filename
        if target.is_file() and _md5(target) == md5:
            continue
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + filename
            try:
                _download_checked(url, target, md5)
                break
            except DataError as exc:
                failures.append(str(exc))
        else:
            raise DataError(f"download of {filename} failed: " + "; ".join(failures))


def _download_checked(url: str, target: Path, md5: str) -> None:
    """Stream `url` into `target` atomically; a short read or a bad checksum leaves no file."""

    def fetch(out) -> None:
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                expected_size = response.headers.get("Content-Length")
                while chunk := response.read(1 << 16):
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DataError(f"{url}: {reason}") from None
        if expected_size is not None and received != int(expected_size):
            raise DataError(f"{url}: connection closed after {received} of {expected_size} bytes")
        if digest.hexdigest() != md5:
            raise DataError(
                f"{url}: checksum mismatch (got MD5 {digest.hexdigest()}, expected {md5})"
            )

    atomic_write(target, fetch)


def _find_idx(root: Path, gz_name: str) -> Path | None:
    plain = gz_name.removesuffix(".gz")
    dotted = plain.replace("-idx", ".idx")  # some copies are named train-images.idx3-ubyte
    for name in (gz_name, plain, dotted, dotted + ".gz"):
        # Whatever is there under the name (a pipe too: reading it says so, naming it).
        if os.path.lexists(root / name) and not (root / name).is_dir():
            return root / name
    return None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
