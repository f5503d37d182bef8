"""The 1,797 real 8x8 handwritten digits (the UCI set scikit-learn ships), bundled in resources/.

The file is scikit-learn's `digits.csv.gz`, copied byte for byte so GANViz trains on real
images offline without depending on scikit-learn and SciPy (about 100 MB) for 57 KB of data.
"""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import torch

from ganviz_gui.core.data.dataset import Dataset
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.resources import resource_path

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
DIGITS_COUNT = 1797


def load_digits() -> Dataset:
    path = resource_path("data", "digits.csv.gz")
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != DIGITS_SHA256:
        raise DataError(f"{path}: the bundled digits file is damaged (checksum mismatch)")
    table = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",")
    if table.shape != (DIGITS_COUNT, 65):
        raise DataError(f"{path}: expected {DIGITS_COUNT} rows of 65 values, got {table.shape}")
    # Pixels are counts 0..16 of set pixels in 4x4 blocks; stretch them to 0..255.
    pixels = np.rint(table[:, :64] * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 1, 8, 8)
    labels = table[:, 64].astype(np.int64)
    return Dataset(
        name="digits",
        data=torch.from_numpy(pixels),
        labels=torch.from_numpy(labels),
        class_names=[str(d) for d in range(10)],
        source="UCI optical handwritten digits (bundled, as shipped by scikit-learn)",
    )
