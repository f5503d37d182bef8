"""Pictures of samples as uint8 arrays: image grids tiled in numpy, 2D scatter plots rasterised.

Both the run folder's PNGs and the GUI use these, so a grid looks the same everywhere.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from ganviz_gui.core.atomic_files import atomic_write

MIN_TILE_PX = 32  # saved grids are upscaled (nearest neighbour) until each sample is this big
REAL_COLOR = np.array([60, 110, 200], dtype=np.uint8)  # blue
FAKE_COLOR = np.array([235, 120, 30], dtype=np.uint8)  # orange


def image_grid(
    images: np.ndarray, columns: int | None = None, padding: int = 1, gray: bool = False
) -> np.ndarray:
    """(N, C, H, W) floats in [-1, 1] -> one (rows*H', cols*W', 3) uint8 picture; with `gray`
    and one channel, (rows*H', cols*W') (a grey PNG: a third of the bytes to compress)."""
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    depth = 1 if gray and c == 1 else 3
    if c == 1 and depth == 3:
        pixels = np.repeat(pixels, 3, axis=1)
    pixels = pixels.transpose(0, 2, 3, 1)  # (N, H, W, depth)
    grid = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, depth), 40, np.uint8
    )
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = pixels[i]
    return grid[..., 0] if depth == 1 else grid


def upscale(picture: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement: pixels stay sharp squares, nothing is invented."""
    if factor <= 1:
        return picture
    return picture.repeat(factor, axis=0).repeat(factor, axis=1)


def tile_scale(tile_px: int) -> int:
    return max(1, math.ceil(MIN_TILE_PX / max(tile_px, 1)))


def saved_grid(images: np.ndarray, gray: bool = False) -> np.ndarray:
    """The grid a sample file holds: `image_grid`, enlarged until each sample is MIN_TILE_PX."""
    return upscale(image_grid(images, gray=gray), tile_scale(images.shape[-1]))


# A scatter plot's colours, by index: its PNG is written with this palette, one byte a pixel
# (a third of what zlib has to compress in RGB: 2.3 ms a 512 px plot against 8.4 ms).
BACKGROUND, GRID, AXIS, REAL, FAKE = range(5)
SCATTER_PALETTE = np.array(
    [[255, 255, 255], [225, 225, 225], [190, 190, 190], REAL_COLOR, FAKE_COLOR], dtype=np.uint8
)


def scatter_plot(
    real: np.ndarray,
    fake: np.ndarray,
    size: int = 512,
    bounds: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Real points in blue, generated in orange, on a white square with unit grid lines."""
    return SCATTER_PALETTE[scatter_indices(real, fake, size, bounds)]


def scatter_indices(
    real: np.ndarray,
    fake: np.ndarray,
    size: int = 512,
    bounds: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """The scatter plot as (size, size) indices into SCATTER_PALETTE."""
    if bounds is None:
        bounds = _scatter_bounds(real, fake)
    x0, x1, y0, y1 = bounds
    picture = np.full((size, size), BACKGROUND, np.uint8)
    for tick in range(math.ceil(x0), math.floor(x1) + 1):
        col = int((tick - x0) / (x1 - x0) * (size - 1))
        picture[:, col] = GRID if tick else AXIS
    for tick in range(math.ceil(y0), math.floor(y1) + 1):
        row = int((y1 - tick) / (y1 - y0) * (size - 1))
        picture[row, :] = GRID if tick else AXIS
    for points, color in ((real, REAL), (fake, FAKE)):
        pts = points[np.isfinite(points).all(axis=1)]
        cols = ((pts[:, 0] - x0) / (x1 - x0) * (size - 1)).astype(np.int64)
        rows = ((y1 - pts[:, 1]) / (y1 - y0) * (size - 1)).astype(np.int64)
        for dr in (0, 1):
            for dc in (0, 1):  # 2x2 px dots
                r, c = rows + dr, cols + dc
                keep = (r >= 0) & (r < size) & (c >= 0) & (c < size)
                picture[r[keep], c[keep]] = color
    return picture


def scatter_png(real: np.ndarray, fake: np.ndarray) -> bytes:
    """The scatter plot as PNG bytes, in the palette's colours (what `scatter_plot` shows)."""
    return png_bytes(scatter_indices(real, fake), palette=SCATTER_PALETTE)


def png_bytes(picture: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """`picture` ((H, W, 3) uint8, or (H, W) indices into `palette`'s RGB rows) as a PNG."""
    # zlib level 1: a run's pictures are written 40 times a run on a core training shares;
    # level 6 (Pillow's default) took 13.6 ms of a 512 px picture's 16 ms, level 1 8.6 ms.
    image = Image.fromarray(picture)
    if palette is not None:
        image.putpalette(palette.tobytes())  # the indices' "L" image becomes a "P" one
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def save_png_bytes(data: bytes, path: str | Path) -> Path:
    """Encoded PNG bytes, written atomically."""
    path = Path(path)
    atomic_write(path, lambda handle: handle.write(data))
    return path


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    return save_png_bytes(png_bytes(picture), path)


def _scatter_bounds(real: np.ndarray, fake: np.ndarray) -> tuple[float, float, float, float]:
    """A square view on the bulk of both sets: outliers (a diverging G) do not shrink the data."""
    parts = []
    for points, tail in ((real, 0.5), (fake, 1.0)):
        finite = points[np.isfinite(points).all(axis=1)] if len(points) else points
        if len(finite):
            parts.append(np.percentile(finite, [tail, 100 - tail], axis=0))
    if not parts:
        return (-1.0, 1.0, -1.0, 1.0)
    lo = np.min([p[0] for p in parts], axis=0)
    hi = np.max([p[1] for p in parts], axis=0)
    center, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.15, 1e-3)
    return (center[0] - half, center[0] + half, center[1] - half, center[1] + half)


MAX_PICTURE_PIXELS = 1 << 25  # a sample picture larger than 32 megapixels is refused


def read_picture(picture: str | Path | bytes) -> np.ndarray:
    """A run's sample picture (a file, or the encoded bytes of one) as (H, W, 3) uint8.

    A file is read only if it is a regular one (a FIFO would block, /dev/zero never end). Its
    size is checked before it is decoded, with the limits image folders have: a picture that
    declares more than MAX_PICTURE_PIXELS, or that Pillow takes for a decompression bomb, is
    refused, as a damaged one is, by a DataError that names it."""
    from ganviz_gui.core.errors import DataError
    from ganviz_gui.core.regular_files import open_regular

    name = "a picture in the log" if isinstance(picture, bytes) else str(picture)
    source = io.BytesIO(picture) if isinstance(picture, bytes) else open_regular(picture)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its pixel limit; refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > MAX_PICTURE_PIXELS:
                    raise DataError(f"{name}: {width}x{height} pixels, too large to show")
                return np.asarray(image.convert("RGB"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(f"{name}: refused as a decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise DataError(f"{name}: unreadable ({exc})") from None
    finally:
        source.close()
