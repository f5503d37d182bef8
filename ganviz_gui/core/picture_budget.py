"""The live pictures' time budget: how often each picture the window shows while a run trains
may be made, from what making and drawing it costs, so that together they take at most a
chosen share of the training thread's time (`core/live_loop.py` asks it before each picture).
"""

from __future__ import annotations

from collections import deque

# The budgets the window offers (View > Live pictures), as shares of the training time.
PICTURE_BUDGETS = (0.01, 0.02, 0.05, 0.10)


class PictureBudget:
    """How often each live picture may be made, from what making it costs.

    The rule: a picture whose recent cost is C seconds, with a share S of the training time
    (the budget split evenly among the pictures wanted), is made at most every C / S seconds,
    and never more often than its base interval: cost / interval <= S. The cost is the least
    of the last `window` measurements, so one slow decode (the first call, a GC pause, the GUI
    thread holding the GIL) does not hold a picture back for long.

    C is what making the picture costs the training thread plus what drawing it costs the GUI
    thread (`record_drawn`, sent by the window): both hold the GIL the training step needs.
    """

    def __init__(self, share: float, window: int = 3):
        self.set_share(share)
        self._costs: dict[str, deque[float]] = {}
        # Written by the GUI thread, read by the training thread: each a tuple, replaced whole.
        self._drawn: dict[str, tuple[float, ...]] = {}
        self._window = window

    def set_share(self, share: float) -> None:
        """A new share of the training time; a plain float, replaced whole, so the GUI thread
        may set it while the training thread reads it."""
        if not 0.0 < share <= 1.0:
            raise ValueError(f"picture budget must be in (0, 1], got {share!r}")
        self.share = float(share)

    def record(self, picture: str, seconds: float) -> None:
        """One measured cost of making `picture`."""
        costs = self._costs.setdefault(picture, deque(maxlen=self._window))
        costs.append(max(0.0, float(seconds)))

    def record_drawn(self, picture: str, seconds: float) -> None:
        """One measured cost of drawing `picture` on screen (any thread may call this)."""
        kept = self._drawn.get(picture, ())[-(self._window - 1) :] if self._window > 1 else ()
        self._drawn[picture] = (*kept, max(0.0, float(seconds)))

    def cost(self, picture: str) -> float:
        """What making and drawing `picture` costs now, in seconds (0 before it was measured)."""
        costs, drawn = self._costs.get(picture), self._drawn.get(picture)
        return (min(costs) if costs else 0.0) + (min(drawn) if drawn else 0.0)

    def interval(self, picture: str, base: float, sharing: int = 1) -> float:
        """Seconds between two of `picture`, at least `base`; `sharing`: how many pictures
        split the budget."""
        each = self.share / max(1, sharing)
        return max(base, self.cost(picture) / each)
