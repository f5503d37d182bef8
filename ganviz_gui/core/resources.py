"""Finds files under the top-level `resources/` folder: from a source checkout (or an editable
install), from a frozen build (`sys._MEIPASS`), and from a wheel install, which puts them
under `<prefix>/share/ganviz/resources` (pyproject.toml's data-files)."""

from __future__ import annotations

import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[2] / "resources"  # beside the package


def resource_roots() -> list[Path]:
    """Where `resources/` may be, in the order they are tried."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return [Path(frozen_root) / "resources"]
    return [SOURCE_ROOT, Path(sys.prefix) / "share" / "ganviz" / "resources"]


def resources_dir() -> Path:
    """The first of `resource_roots()` that exists (the first one if none does)."""
    roots = resource_roots()
    return next((root for root in roots if root.is_dir()), roots[0])


def resource_path(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"GANViz resource missing: {path} (is the installation complete?)")
    return path
