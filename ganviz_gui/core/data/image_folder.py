"""A folder of PNG/JPEG/BMP/WebP images, read recursively; sub-folder names become class labels.

Folders from the wild hold broken files: each image is fully decoded (a half-truncated JPEG
passes `verify()` and fails only at `load()`), anything unreadable is skipped and listed
(a sub-folder that cannot be listed, an image name on a pipe or device, which is never
opened), and images over Pillow's decompression-bomb limit are refused before they are
decoded.
"""

from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from ganviz_gui.core.data.dataset import Dataset
from ganviz_gui.core.errors import DataError
from ganviz_gui.core.regular_files import is_regular_file, open_regular, regular_file_problem

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
DEFAULT_FOLDER_SIZE = 32
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


def load_image_folder(folder: str | Path, size: int, color: str) -> Dataset:
    """`size` 0 means 32 px; `color` is auto (gray when every image is gray), gray or rgb."""
    root = Path(folder)
    if not root.is_dir():
        if os.path.lexists(root):
            raise DataError(f"{root}: not a folder (a folder of images is expected here)")
        raise DataError(f"{root}: no such folder")
    size = size or DEFAULT_FOLDER_SIZE
    files, skipped = find_images(root)
    if not files:
        passed_over = f"; passed over {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise DataError(
            f"{root}: no PNG, JPEG, BMP or WebP images found (searched sub-folders too)"
            f"{passed_over}"
        )

    decoded: list[tuple[Path, Image.Image]] = []
    for path in files:
        try:
            decoded.append((path, _decode(path)))
        except _Unreadable as exc:
            skipped.append((str(path), str(exc)))
    if not decoded:
        examples = "; ".join(f"{Path(p).name}: {why}" for p, why in skipped[:3])
        raise DataError(f"{root}: none of the {len(files)} image files could be read ({examples})")

    rgb = color == "rgb" or (
        color == "auto" and any(im.mode not in _GRAY_MODES for _, im in decoded)
    )
    arrays = [_to_array(im, size, rgb) for _, im in decoded]
    data = torch.from_numpy(np.stack(arrays))  # (N, C, S, S) uint8

    class_of = [_class_name(root, path) for path, _ in decoded]
    labels = class_names = None
    if any(class_of):
        class_names = sorted({c or "(top folder)" for c in class_of})
        index = {name: i for i, name in enumerate(class_names)}
        labels = torch.tensor([index[c or "(top folder)"] for c in class_of], dtype=torch.int64)
    return Dataset(
        name="folder",
        data=data,
        labels=labels,
        class_names=class_names,
        source=str(root),
        skipped=skipped,
    )


def find_images(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """(the image files under `root`, sorted; (path, why) of what was passed over: sub-folders
    that cannot be listed, image names that are not regular files). Symlinked folders are
    not followed (a link loop would never end), as `Path.rglob` does not."""
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []

    def unlisted(error: OSError) -> None:
        where = error.filename or root
        skipped.append((str(where), f"cannot list its files ({error.strerror or error})"))

    for folder, _, names in os.walk(root, onerror=unlisted):
        for name in names:
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            path = Path(folder, name)
            if is_regular_file(path):
                files.append(path)
            elif not path.is_dir():
                skipped.append((str(path), regular_file_problem(path) or "a broken link"))
    if skipped and skipped[0][0] == str(root):
        raise DataError(f"{root}: {skipped[0][1]}")
    return sorted(files), skipped


class _Unreadable(Exception):
    pass


def _decode(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit; refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_regular(path) as handle, Image.open(handle) as image:
                image.load()  # full decode: truncated files fail here, not at open()
                image = ImageOps.exif_transpose(image) or image
                return image.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Unreadable(f"refused as a decompression bomb ({exc})") from None
    except DataError as exc:  # swapped for a pipe since it was listed, or unreadable
        raise _Unreadable(str(exc).removeprefix(f"{path}: ")) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise _Unreadable(f"cannot decode ({exc})") from None


def _to_array(image: Image.Image, size: int, rgb: bool) -> np.ndarray:
    """Convert any Pillow mode to 8-bit gray or RGB, then center-crop and resize to size x size."""
    image = _to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        # Transparent pixels become white, not whatever colour hides under alpha 0.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba).convert("RGB")
    target_mode = "RGB" if rgb else "L"
    if image.mode != target_mode:
        image = image.convert(target_mode)  # CMYK, YCbCr, 1, ... handled by Pillow
    image = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _to_8bit(image: Image.Image) -> Image.Image:
    """Pillow's convert('L') clips 16-bit and float images at 255; scale them instead."""
    if image.mode.startswith("I;16") or image.mode == "I":
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
        return Image.fromarray(np.clip(np.rint(array * 255.0 / top), 0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        top = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        return Image.fromarray(np.clip(np.rint(array * 255.0 / top), 0, 255).astype(np.uint8), "L")
    return image


def _class_name(root: Path, path: Path) -> str:
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else ""
