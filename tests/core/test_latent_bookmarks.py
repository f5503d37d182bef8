"""Latent bookmarks: a round trip, and every way a bookmark file can be wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganviz_gui.core.errors import DataError
from ganviz_gui.core.latent_bookmarks import LatentBookmarks, load_bookmarks, save_bookmarks
from ganviz_gui.core.latent_plane import plane_through, random_plane


def sample_bookmarks() -> LatentBookmarks:
    a, b, c = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    return LatentBookmarks(
        8,
        latents={"smiling": a, "blond": b},
        planes={"random": random_plane(8, seed=1), "abc": plane_through(a, b, c)},
    )


def test_round_trip_keeps_every_vector_and_name(tmp_path):
    original = sample_bookmarks()
    written = save_bookmarks(original, tmp_path / "marks")
    assert written.name == "marks.json" and (tmp_path / "marks.npy").is_file()
    loaded = load_bookmarks(tmp_path / "marks.json")
    assert loaded.latent_dim == 8 and list(loaded.latents) == ["smiling", "blond"]
    torch.testing.assert_close(loaded.latents["blond"], original.latents["blond"])
    plane = loaded.planes["abc"]
    torch.testing.assert_close(plane.origin, original.planes["abc"].origin)
    torch.testing.assert_close(plane.e2, original.planes["abc"].e2)
    assert plane.name == "through three latents"
    loaded.check_fits(8)
    with pytest.raises(DataError, match=r"size 8 do not fit.*latent size is 16"):
        loaded.check_fits(16)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d, j, n: j.write_text("{"), "not valid JSON"),
        (lambda d, j, n: j.write_text(json.dumps({"format": "x"})), "not a GANViz bookmarks"),
        (lambda d, j, n: j.write_text(json.dumps({**d, "format_version": 99})), "newer GANViz"),
        (lambda d, j, n: n.unlink(), "vectors file marks.npy is missing"),
        (lambda d, j, n: n.write_bytes(b"garbage"), "damaged or not a numpy array"),
        (lambda d, j, n: np.save(n, np.zeros((6, 5), np.float32)), "rows of 8 numbers"),
        (lambda d, j, n: np.save(n, np.full((6, 8), np.nan, np.float32)), "NaN or infinite"),
        (lambda d, j, n: np.save(n, np.array([{"x": 1}]), allow_pickle=True), "damaged or not"),
        (
            lambda d, j, n: j.write_text(json.dumps({**d, "latents": [{"name": "a", "row": 99}]})),
            "missing row",
        ),
    ],
)
def test_broken_bookmark_files_give_a_message_naming_the_file(tmp_path, damage, message):
    path = save_bookmarks(sample_bookmarks(), tmp_path / "marks")
    document = json.loads(path.read_text())
    damage(document, path, tmp_path / "marks.npy")
    with pytest.raises(DataError, match=message) as caught:
        load_bookmarks(path)
    assert "marks." in str(caught.value)
