"""Decoding latents of a generator (images or 2D points) off the GUI thread, newest request first, stale
ones dropped.

The explorer asks for two kinds of pictures: the sample under the cursor (asked for on every
mouse move) and the mosaic over the plane. Each kind keeps only its newest request, as
stylegan3's renderer does: while one decode runs, further moves just replace the waiting
request, so the picture follows the cursor without a queue building up. The decoder builds its
own copy of the generator (and D) from the generator file on its own thread, so neither a new
checkpoint nor the live run's weights each second cost the GUI thread a model build; it runs
torch on one thread (measured on 2 cores: more threads
pushed a DCGAN decode's p90 from 16 ms to 98 ms while training ran).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal, Slot

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from ganviz_gui.core.generator_files import GeneratorFile

KINDS = ("cursor", "mosaic", "strip")  # decoded in this order of priority
_SERIALS = itertools.count(1)  # each decoder's number: its pictures are told from a previous one's


@dataclass
class DecodeRequest:
    kind: str
    ticket: int
    latents: torch.Tensor  # (N, D)
    columns: int
    asked_at: float


@dataclass
class DecodedPicture:
    kind: str
    ticket: int
    picture: (
        np.ndarray | None
    )  # (H, W, 3) uint8, the samples tiled `columns` wide; None for 2D points
    seconds: float  # from the request to the picture being ready
    scores: np.ndarray | None = (
        None  # (N,) D's output on each sample, when a discriminator is at hand
    )
    points: np.ndarray | None = None  # (N, 2) float32, what a 2D generator made of the latents
    loss: str | None = None  # the loss that gives D's scores their meaning
    decoder: int = 0  # the serial of the decoder that made it


class LatentDecoder(QObject):
    decoded = Signal(object)  # DecodedPicture
    failed = Signal(str)

    def __init__(self, generator_file: GeneratorFile):
        super().__init__()
        self.generator: nn.Module | None = None  # built on the decoder thread from `_to_build`
        self.critic: tuple[nn.Module, str] | None = None  # (D, loss name) to score mosaic samples
        self._to_build: GeneratorFile | None = generator_file  # not built yet
        self.serial = next(_SERIALS)
        self._pending: dict[str, DecodeRequest] = {}
        self._tickets = dict.fromkeys(KINDS, 0)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False

    # ------------------------------------------------------------------ GUI thread
    def request(self, kind: str, latents: torch.Tensor, columns: int = 1) -> int:
        """Ask for a picture; returns its ticket. A waiting request of the same kind is replaced."""
        with self._lock:
            self._tickets[kind] += 1
            ticket = self._tickets[kind]
            self._pending[kind] = DecodeRequest(kind, ticket, latents, columns, time.perf_counter())
        self._wake.set()
        return ticket

    def set_generator(self, generator_file: GeneratorFile) -> None:
        """Decode with another generator file's G (and score with its D) from the next request
        on; the networks are built on the decoder thread."""
        with self._lock:
            self._to_build = generator_file
        self._wake.set()

    def latest_ticket(self, kind: str) -> int:
        return self._tickets[kind]

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    # ------------------------------------------------------------------ decoder thread
    @Slot()
    def run(self) -> None:
        import torch

        torch.set_num_threads(1)
        try:
            while not self._stopping:
                self._wake.wait()
                self._wake.clear()
                while not self._stopping:
                    try:
                        self._build_pending()
                    except Exception as exc:  # a file whose networks cannot be built
                        traceback.print_exc()
                        self.failed.emit(f"{type(exc).__name__}: {exc}")
                        break
                    request = self._take()
                    if request is None:
                        break
                    try:
                        self.decoded.emit(self._decode(request))
                    except Exception as exc:  # a generator that fails on some input
                        traceback.print_exc()
                        self.failed.emit(f"{type(exc).__name__}: {exc}")
        finally:
            QThread.currentThread().quit()

    def _build_pending(self) -> None:
        with self._lock:
            generator_file, self._to_build = self._to_build, None
        if generator_file is None:
            return
        with self._lock:  # nothing decodes with the previous file's networks from now on
            self.generator, self.critic = None, None
        generator = _own_copy(generator_file.build_generator("ema"))
        critic = generator_file.build_critic()
        with self._lock:
            self.generator, self.critic = generator, critic

    def _take(self) -> DecodeRequest | None:
        with self._lock:
            for kind in KINDS:
                if kind in self._pending:
                    return self._pending.pop(kind)
        return None

    def _decode(self, request: DecodeRequest) -> DecodedPicture:
        from ganviz_gui.core.evaluation import decode
        from ganviz_gui.core.sample_images import image_grid

        with self._lock:
            generator, critic = self.generator, self.critic
        if generator is None:
            raise RuntimeError("the generator could not be built")
        samples = decode(generator, request.latents)  # (N, C, H, W) in [-1, 1], or (N, 2)
        points = samples if samples.ndim == 2 else None
        picture = None if points is not None else image_grid(samples, request.columns, padding=0)
        scores = None
        if critic is not None and request.kind == "mosaic":
            import torch

            from ganviz_gui.core.live_views import d_scores

            scores = d_scores(critic[0], critic[1], torch.from_numpy(samples))
        seconds = time.perf_counter() - request.asked_at
        loss = critic[1] if critic is not None else None
        return DecodedPicture(
            request.kind, request.ticket, picture, seconds, scores, points, loss, self.serial
        )


def _own_copy(generator: nn.Module) -> nn.Module:
    """A copy to decode with: never the weights another thread may be changing."""
    try:
        return copy.deepcopy(generator).eval()
    except (TypeError, RuntimeError, copy.Error):  # some TorchScript modules do not copy
        return generator.eval()


class DecoderThread:
    """A decoder on its own QThread, wired before start; `stop()` asks it to end after the
    decode under way, `close()` also joins it."""

    def __init__(self, generator_file: GeneratorFile):
        self.decoder = LatentDecoder(generator_file)
        self.thread = QThread()
        self.thread.setObjectName("latentDecoderThread")
        self.decoder.moveToThread(self.thread)
        self.thread.started.connect(self.decoder.run)
        self.thread.start()

    def stop(self) -> None:
        self.decoder.stop()

    def running(self) -> bool:
        return self.thread.isRunning()

    def close(self, milliseconds: int = 5000) -> bool:
        self.decoder.stop()
        return self.thread.wait(milliseconds)
