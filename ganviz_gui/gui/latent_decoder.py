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
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal, Slot

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.style_controls import StyleControls

KINDS = ("cursor", "mosaic", "strip")  # decoded in this order of priority
# A big generator's mosaic is decoded in pieces of about this many output pixels (16 tiles of
# 64 x 64, one tile of 256 x 256), so a cursor move waits for one piece at most.
MOSAIC_PIECE_PIXELS = 64 * 64 * 16
PARTIAL_MOSAIC_SECONDS = 0.5  # a filling mosaic is redrawn at most this often
MAX_MOSAIC_TILE = 128  # mosaic tiles of bigger generators are shrunk to this (px)
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
    # The samples' values before drawing (min, max): StyleGAN's go past [-1, 1] and are clamped.
    value_range: tuple[float, float] | None = None
    # A coarse picture ahead of the full one (StyleGAN2's skip output after a block): its
    # resolution; None for the final picture.
    preview_resolution: int | None = None
    # A mosaic still filling in: how many of its samples are decoded (None: all of them).
    filled: int | None = None


class LatentDecoder(QObject):
    decoded = Signal(object)  # DecodedPicture
    failed = Signal(str)

    def __init__(self, generator_file: GeneratorFile):
        super().__init__()
        self.generator: nn.Module | None = None  # built on the decoder thread from `_to_build`
        self.critic: tuple[nn.Module, str] | None = None  # (D, loss name) to score mosaic samples
        self._to_build: GeneratorFile | None = generator_file  # not built yet
        # A style-based G decodes through these (plane in z or W, truncation, mixing, ...).
        self._controls: StyleControls | None = None
        self._w_spread = 1.0  # W's unit of length for planes in W, measured once per G
        self.previews = True  # show StyleGAN2's coarse images ahead of a cursor's full one
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

    def set_controls(self, controls: StyleControls | None) -> None:
        """StyleGAN controls for the next requests (ignored for other generators)."""
        with self._lock:
            self._controls = controls

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
                        picture = self._decode(request)
                        if picture is not None:
                            self.decoded.emit(picture)
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
        spread = 1.0
        if generator_file.style_based:
            from ganviz_gui.core.devices import resolve_device
            from ganviz_gui.core.style_controls import w_spread

            # A StyleGAN is worth a GPU where there is one (a DCGAN decodes faster on the CPU
            # than its copies to and from a device take).
            device = resolve_device("auto")
            generator = generator.to(device)
            if critic is not None:
                critic = (_own_copy(critic[0]).to(device), critic[1])
            spread = w_spread(generator)
        with self._lock:
            self.generator, self.critic, self._w_spread = generator, critic, spread

    def _take(self) -> DecodeRequest | None:
        with self._lock:
            for kind in KINDS:
                if kind in self._pending:
                    return self._pending.pop(kind)
        return None

    def _decode(self, request: DecodeRequest) -> DecodedPicture | None:
        from ganviz_gui.core.evaluation import decode
        from ganviz_gui.core.sample_images import image_grid

        with self._lock:
            generator, critic, controls = self.generator, self.critic, self._controls
        if generator is None:
            raise RuntimeError("the generator could not be built")
        value_range = None
        style_based = _is_style_based(generator)
        samples = None
        if style_based:
            generator = self._styled(generator, controls)
            if request.kind == "cursor" and self.previews and len(request.latents) == 1:
                samples = self._decode_with_previews(generator, request)
                if samples is None:
                    return None  # a newer request came: this one is not worth finishing
        if samples is None and style_based and request.kind == "mosaic":
            samples = self._decode_in_pieces(generator, request)
            if samples is None:
                return None  # a newer mosaic was asked for meanwhile
        if samples is None:
            samples = decode(generator, request.latents)  # (N, C, H, W), or (N, 2)
        points = samples if samples.ndim == 2 else None
        if points is None and style_based:
            value_range = (float(samples.min()), float(samples.max()))
        picture = None
        if points is None:
            picture = image_grid(_small_tiles(samples, request), request.columns, padding=0)
        scores = None
        if critic is not None and request.kind == "mosaic":
            import numpy as np
            import torch

            from ganviz_gui.core.live_views import d_scores

            if controls is not None and hasattr(critic[0], "class_index"):
                critic[0].class_index = controls.class_index  # D judges the class shown
            if style_based:  # D in pieces too, a cursor move served between them
                # Whole minibatch-std groups per piece, so no verdict depends on the piecing.
                sizes = [getattr(m, "group_size", None) for m in critic[0].modules()]
                group = max([g for g in sizes if isinstance(g, int)] or [1])
                piece = group * max(1, MOSAIC_PIECE_PIXELS // (group * samples[0, 0].size))
                parts = []
                for start in range(0, len(samples), piece):
                    self._serve_cursor()
                    if self._tickets[request.kind] != request.ticket:
                        return None  # replaced: its verdicts are not worth finishing
                    chunk = torch.from_numpy(samples[start : start + piece])
                    parts.append(d_scores(critic[0], critic[1], chunk))
                scores = np.concatenate(parts)
            else:
                scores = d_scores(critic[0], critic[1], torch.from_numpy(samples))
        seconds = time.perf_counter() - request.asked_at
        loss = critic[1] if critic is not None else None
        return DecodedPicture(
            request.kind,
            request.ticket,
            picture,
            seconds,
            scores,
            points,
            loss,
            self.serial,
            value_range=value_range,
        )

    def _decode_in_pieces(self, generator: nn.Module, request: DecodeRequest) -> np.ndarray | None:
        """A big generator's mosaic a few samples at a time: between pieces a cursor move is
        served first (the hand waits for no mosaic), and the mosaic is shown as it fills in.
        None: a newer mosaic request replaced this one."""
        import numpy as np

        from ganviz_gui.core.evaluation import decode
        from ganviz_gui.core.sample_images import image_grid

        size = int(request.latents.shape[0])
        pixels = int(generator.generator.img_resolution) ** 2
        piece = max(1, MOSAIC_PIECE_PIXELS // pixels)
        done: list[np.ndarray] = []
        last_shown = time.perf_counter()
        for start in range(0, size, piece):
            self._serve_cursor()
            if self._tickets[request.kind] != request.ticket or self._stopping:
                return None
            done.append(decode(generator, request.latents[start : start + piece]))
            if time.perf_counter() - last_shown > PARTIAL_MOSAIC_SECONDS and start + piece < size:
                last_shown = time.perf_counter()
                partial = np.concatenate(done)
                blank = np.full((size - len(partial), *partial.shape[1:]), -0.7, partial.dtype)
                tiles = _small_tiles(np.concatenate([partial, blank]), request)
                self.decoded.emit(
                    DecodedPicture(
                        request.kind,
                        request.ticket,
                        image_grid(tiles, request.columns, padding=0),
                        last_shown - request.asked_at,
                        decoder=self.serial,
                        filled=len(partial),
                    )
                )
        return np.concatenate(done)

    def _serve_cursor(self) -> None:
        """Decode a waiting cursor request now (called between the pieces of a mosaic)."""
        with self._lock:
            request = self._pending.pop("cursor", None)
        if request is None:
            return
        try:
            picture = self._decode(request)
        except Exception as exc:  # the cursor's failure is said; the mosaic goes on
            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        if picture is not None:
            self.decoded.emit(picture)

    def _styled(self, generator: nn.Module, controls: StyleControls | None) -> nn.Module:
        from ganviz_gui.core.style_controls import StyleControls, StyledDecoding

        return StyledDecoding(generator, controls or StyleControls(), self._w_spread)

    def _decode_with_previews(self, styled: nn.Module, request: DecodeRequest) -> np.ndarray | None:
        """StyleGAN2's coarse images, each sent as soon as it is ready, then the full one
        returned; None if a newer request arrives first (the rest is not worth finishing)."""
        import torch

        from ganviz_gui.core.sample_images import image_grid, upscale

        size = int(styled.generator.img_resolution)
        with torch.no_grad():
            latents = request.latents.float().to(styled.generator.w_avg.device)
            for image in styled.previews(latents):
                if image.shape[-1] >= size:
                    return image.float().cpu().numpy()
                if self._tickets[request.kind] != request.ticket:
                    return None
                picture = image_grid(image.float().cpu().numpy(), 1, padding=0)
                picture = upscale(picture, size // image.shape[-1])
                seconds = time.perf_counter() - request.asked_at
                self.decoded.emit(
                    DecodedPicture(
                        request.kind,
                        request.ticket,
                        picture,
                        seconds,
                        decoder=self.serial,
                        preview_resolution=int(image.shape[-1]),
                    )
                )
        return None


def _small_tiles(samples: np.ndarray, request: DecodeRequest) -> np.ndarray:
    """A mosaic of a big generator's images with each tile shrunk (by area averaging) to at
    most MAX_MOSAIC_TILE px: 81 tiles of 1024 px would make an 85-megapixel picture."""
    if request.kind != "mosaic" or samples.shape[-1] <= MAX_MOSAIC_TILE:
        return samples
    factor = -(-samples.shape[-1] // MAX_MOSAIC_TILE)
    n, c, h, w = samples.shape
    h, w = h - h % factor, w - w % factor
    cut = samples[:, :, :h, :w].reshape(n, c, h // factor, factor, w // factor, factor)
    return cut.mean(axis=(3, 5))


def _is_style_based(generator: nn.Module) -> bool:
    from ganviz_gui.core.stylegan import StyleGenerator

    return isinstance(generator, StyleGenerator)


def _own_copy(generator: nn.Module) -> nn.Module:
    """A copy to decode with: never the weights another thread may be changing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.export graphs, on copying
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
