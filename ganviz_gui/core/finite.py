"""Checks that nothing non-finite is kept as a good state or written to disk."""

from __future__ import annotations

import math
from typing import Any

import torch


def all_finite(tree: Any) -> bool:
    """True when every floating tensor in a nested dict/list is finite."""
    if isinstance(tree, torch.Tensor):
        return not tree.is_floating_point() or bool(torch.isfinite(tree).all())
    if isinstance(tree, dict):
        return all(all_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(all_finite(v) for v in tree)
    if isinstance(tree, float):
        return math.isfinite(tree)
    return True
