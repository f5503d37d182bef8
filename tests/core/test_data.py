import functools
import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganviz_gui.core.config import TOY_DATASETS, TrainingConfig
from ganviz_gui.core.data import BatchSampler, load_dataset
from ganviz_gui.core.data.array_file import load_array_file
from ganviz_gui.core.data.idx import download_files, load_idx_dataset, read_idx
from ganviz_gui.core.data.image_folder import load_image_folder
from ganviz_gui.core.data.toy2d import load_points
from ganviz_gui.core.errors import DataError


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_toy_distributions_are_2d_and_reproducible(name):
    a = load_dataset(TrainingConfig(dataset=name, toy_samples=500, seed=3))
    b = load_dataset(TrainingConfig(dataset=name, toy_samples=500, seed=3))
    assert a.data.shape == (500, 2) and a.data.dtype == torch.float32
    assert torch.equal(a.data, b.data)
    assert a.data.abs().max() < 6


def test_mixtures_know_their_modes():
    ring = load_dataset(TrainingConfig(dataset="ring8"))
    assert ring.mode_centers.shape == (8, 2) and ring.mode_std == 0.02
    assert np.allclose(np.linalg.norm(ring.mode_centers, axis=1), 2.0)
    assert load_dataset(TrainingConfig(dataset="grid25")).mode_centers.shape == (25, 2)


def test_digits_are_the_real_1797_labelled_images():
    digits = load_dataset(TrainingConfig(dataset="digits"))
    assert digits.data.shape == (1797, 1, 8, 8) and digits.data.dtype == torch.uint8
    assert digits.data.max() == 255 and digits.data.min() == 0
    assert torch.bincount(digits.labels).tolist() == [
        178,
        182,
        177,
        183,
        181,
        182,
        181,
        179,
        174,
        180,
    ]


def test_digits_resized_for_a_bigger_model():
    digits = load_dataset(TrainingConfig(dataset="digits", model="dcgan", image_size=16))
    assert digits.data.shape == (1797, 1, 16, 16)


# ---------------------------------------------------------------- points
def test_points_from_csv_with_header_and_npy(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("x,y\n1,2\n3.5,-4\n\n5,6\n")
    assert load_points(csv).data.tolist() == [[1, 2], [3.5, -4], [5, 6]]
    npy = tmp_path / "p.npy"
    np.save(npy, np.arange(10.0).reshape(5, 2))
    assert load_points(npy).data.shape == (5, 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,2\n3,4,5\n", "line 2: expected 2 values"),
        ("1,2\n3,abc\n", "line 2: not a number"),
        ("1,2\nnan,4\n", "NaN or infinite"),
        ("1,2\n", "at least 2 points"),
    ],
)
def test_bad_points_files_name_file_and_problem(tmp_path, content, message):
    path = tmp_path / "pts.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        load_points(path)
    assert "pts.csv" in str(info.value)


def test_points_npy_with_objects_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"a": 1}, {"b": 2}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"evil\.npy"):
        load_points(path)


# ---------------------------------------------------------------- IDX / MNIST
def _idx_images(n=12, side=28, seed=0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (n, side, side), dtype=np.uint8)
    return struct.pack(">BBBBIII", 0, 0, 0x08, 3, n, side, side) + pixels.tobytes()


def _idx_labels(n=12) -> bytes:
    return struct.pack(">BBBBI", 0, 0, 0x08, 1, n) + bytes(i % 10 for i in range(n))


def test_idx_files_read_gzipped_or_plain(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_images()))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_labels())
    data = load_idx_dataset("mnist", tmp_path, download=False)
    assert data.data.shape == (12, 1, 28, 28) and data.labels.tolist()[:3] == [0, 1, 2]


def test_idx_damage_is_reported(tmp_path):
    bad_magic = tmp_path / "a"
    bad_magic.write_bytes(b"\x01\x02\x03\x04" + b"\0" * 20)
    with pytest.raises(DataError, match="bad magic"):
        read_idx(bad_magic)
    short = tmp_path / "b"
    short.write_bytes(_idx_images()[:-100])
    with pytest.raises(DataError, match="promises"):
        read_idx(short)


def test_missing_mnist_says_how_to_get_it():
    with pytest.raises(DataError, match="--download"):
        load_idx_dataset("mnist", None, download=False)


class _FakeMirror:
    """A local HTTP server for the download tests; `truncate` cuts responses short."""

    def __init__(self, files: dict[str, bytes], truncate: bool = False):
        outer = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                body = files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if truncate else body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mnist/"
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default, per test).
        serve = functools.partial(self.server.serve_forever, poll_interval=0.01)
        self.thread = threading.Thread(target=serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _fake_mnist_files():
    files = {
        "train-images-idx3-ubyte.gz": gzip.compress(_idx_images()),
        "train-labels-idx1-ubyte.gz": gzip.compress(_idx_labels()),
    }
    checksums = {name: hashlib.md5(body).hexdigest() for name, body in files.items()}
    return files, checksums


def test_download_verifies_checksums_and_then_loads(tmp_path):
    files, checksums = _fake_mnist_files()
    with _FakeMirror(files) as mirror:
        download_files(tmp_path, [mirror.url], checksums)
        download_files(tmp_path, [mirror.url], checksums)  # present and valid: not fetched again
        assert mirror.requests == 2
    assert load_idx_dataset("mnist", tmp_path, download=False).data.shape == (12, 1, 28, 28)


def test_download_into_cache_through_load_dataset(monkeypatch):
    from ganviz_gui.core.data import idx

    files, checksums = _fake_mnist_files()
    with _FakeMirror(files) as mirror:
        class_names = idx.SOURCES["mnist"][2]
        monkeypatch.setitem(idx.SOURCES, "mnist", ((mirror.url,), checksums, class_names))
        data = load_dataset(TrainingConfig(dataset="mnist", download=True))
    assert len(data) == 12 and data.source.endswith("mnist")


def test_checksum_mismatch_leaves_no_file(tmp_path):
    files, checksums = _fake_mnist_files()
    checksums["train-images-idx3-ubyte.gz"] = "0" * 32
    with _FakeMirror(files) as mirror, pytest.raises(DataError, match="checksum mismatch"):
        download_files(tmp_path, [mirror.url], checksums)
    assert not (tmp_path / "train-images-idx3-ubyte.gz").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_partial_download_leaves_no_half_file(tmp_path):
    files, checksums = _fake_mnist_files()
    with _FakeMirror(files, truncate=True) as mirror, pytest.raises(DataError, match="download of"):
        download_files(tmp_path, [mirror.url], checksums)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_mirror_falls_back_to_the_next(tmp_path):
    files, checksums = _fake_mnist_files()
    with _FakeMirror(files) as mirror:
        download_files(tmp_path, ["http://127.0.0.1:9/nothing/", mirror.url], checksums)
    assert (tmp_path / "train-labels-idx1-ubyte.gz").exists()


# ---------------------------------------------------------------- image folders
def _save(path: Path, image: Image.Image, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def test_folder_classes_conversions_and_broken_files(tmp_path):
    root = tmp_path / "images"
    _save(root / "cats" / "rgb.png", Image.new("RGB", (40, 30), (200, 10, 10)))
    _save(root / "cats" / "palette.png", Image.new("RGB", (20, 20), (0, 0, 255)).convert("P"))
    _save(root / "dogs" / "cmyk.jpg", Image.new("CMYK", (32, 32), (0, 255, 255, 0)))
    transparent = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    _save(root / "dogs" / "alpha.png", transparent)
    deep = Image.fromarray(np.full((16, 16), 65535, dtype=np.uint16))
    _save(root / "dogs" / "gray16.png", deep)
    good_jpeg = _save(root / "dogs" / "whole.jpg", Image.new("RGB", (64, 64), (0, 200, 0)))
    raw = good_jpeg.read_bytes()
    (root / "dogs" / "truncated.jpg").write_bytes(raw[: len(raw) // 2])
    (root / "dogs" / "notes.png").write_text("not an image")

    data = load_image_folder(root, size=8, color="auto")
    assert data.data.shape == (6, 3, 8, 8)
    assert data.class_names == ["cats", "dogs"]
    assert sorted(Path(p).name for p, _ in data.skipped) == ["notes.png", "truncated.jpg"]
    by_name = {p.name: i for i, p in enumerate(sorted(root.rglob("*.*")))}
    del by_name
    pixels = {tuple(img[:, 4, 4].tolist()) for img in data.data}
    assert (255, 255, 255) in pixels  # 16-bit white stays white (not clipped) and alpha -> white
    assert (0, 0, 255) in pixels  # palette
    assert (200, 10, 10) in pixels


def test_folder_refuses_decompression_bombs(tmp_path, monkeypatch):
    _save(tmp_path / "big.png", Image.new("L", (100, 100)))
    _save(tmp_path / "small.png", Image.new("L", (10, 10), 128))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4000)
    data = load_image_folder(tmp_path, size=8, color="gray")
    assert len(data) == 1
    assert "decompression bomb" in data.skipped[0][1]


def test_folder_with_no_readable_image_is_an_error(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(DataError, match="none of the 1 image files could be read"):
        load_image_folder(tmp_path, size=8, color="auto")
    with pytest.raises(DataError, match="no such folder"):
        load_image_folder(tmp_path / "missing", size=8, color="auto")


def test_gray_folder_stays_gray(tmp_path):
    _save(tmp_path / "a.png", Image.new("L", (12, 12), 50))
    assert load_image_folder(tmp_path, size=8, color="auto").data.shape == (1, 1, 8, 8)


# ---------------------------------------------------------------- arrays
@pytest.mark.parametrize(
    ("shape", "channels"), [((5, 8, 8), 1), ((5, 8, 8, 3), 3), ((5, 3, 8, 8), 3), ((5, 8, 8, 1), 1)]
)
def test_array_layouts(tmp_path, shape, channels):
    path = tmp_path / "a.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))
    assert load_array_file(path, 0).data.shape == (5, channels, 8, 8)


def test_array_float_ranges_and_npz_labels(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, images=np.linspace(-1, 1, 5 * 16 * 16).reshape(5, 16, 16), labels=np.arange(5))
    data = load_array_file(path, 8)
    assert data.data.shape == (5, 1, 8, 8) and data.labels.tolist() == [0, 1, 2, 3, 4]
    bad = tmp_path / "b.npy"
    np.save(bad, np.full((2, 4, 4), 1000.0))
    with pytest.raises(DataError, match=r"b\.npy: pixel values run from 1000"):
        load_array_file(bad, 0)


def test_array_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([object(), object()], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"evil\.npy"):
        load_array_file(path, 0)


def test_batch_sampler_visits_every_sample_once_per_epoch():
    data = torch.arange(10.0).view(10, 1)
    sampler = BatchSampler(data, 5, torch.Generator().manual_seed(0))
    seen = torch.cat([sampler.next(), sampler.next()]).view(-1).sort().values
    assert seen.tolist() == list(range(10))
