"""GANViz: a desktop lab for watching generative adversarial networks learn.

`from ganviz_gui import Run` logs one's own training loop to a run folder the window opens
(docs/logging-api.md). It is imported on first use: importing the package stays cheap (no torch,
no Qt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Run", "__version__"]

if TYPE_CHECKING:
    from ganviz_gui.core.run_logger import Run


def __getattr__(name: str) -> Any:
    if name == "Run":
        from ganviz_gui.core.run_logger import Run

        return Run
    raise AttributeError(f"module 'ganviz_gui' has no attribute {name!r}")
