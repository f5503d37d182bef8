"""The Export menu and latent bookmarks: ask where, write with the engine, say what was written.

What is exported is what the window shows: the sample grid of the workspace's step, the
explorer's mosaic, strip or 2D mesh as drawn, the run shown's metrics and sample pictures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.latent_explorer import LatentExplorer


class ExportController:
    def __init__(
        self,
        workspace: Workspace,
        explorer: LatentExplorer,
        window: QWidget,
        raise_explorer: Callable[[], None],
    ):
        self.workspace = workspace
        self.explorer = explorer  # its pictures are what the mosaic and strip exports save
        self.window = window  # the file dialogs' parent
        self.raise_explorer = raise_explorer

    def _export(self, title: str, suggested: str, file_filter: str, write) -> None:
        """Ask where, write, and report; `write(path)` returns a short description of it.
        A failure is a dialog naming the file (never an exception out of the menu)."""
        path, _ = QFileDialog.getSaveFileName(self.window, title, suggested, file_filter)
        if not path:
            return
        try:
            what = write(Path(path))
        except export_errors() as exc:
            self.workspace.warn(f"Export to {path} failed:\n{failure_text(exc)}")
            return
        self.workspace.say(f"Exported {what} to {path}", 8000)

    def export_grid(self) -> None:
        from ganviz_gui.core.sample_images import save_png

        sheet = self.workspace.sheet
        if sheet is None:
            self.workspace.warn("There is no sample grid to export yet.")
            return

        def write(path: Path) -> str:
            save_png(sheet.fake_grid, path)  # one pixel per sample pixel
            return f"{len(sheet.fake_scores)} samples of step {sheet.step:,}"

        self._export(
            "Export the sample grid", f"samples_step_{sheet.step:08d}.png", "PNG (*.png)", write
        )

    def export_mosaic(self) -> None:
        from ganviz_gui.core.sample_images import save_png

        explorer = self.explorer
        if explorer.mesh_points is not None:  # a 2D generator: the plane and its mesh as drawn
            self.raise_explorer()  # what is saved is what the user sees, at its size
            QApplication.processEvents()
            self._export(
                "Export the plane and its mesh",
                "mesh.png",
                "PNG (*.png)",
                lambda path: self._save_widget(explorer.graphics, path, "the plane and G's mesh"),
            )
            return
        picture = explorer.mosaic_picture
        if picture is None:
            self.workspace.warn("Open a generator first: there is no mosaic to export.")
            return
        size = explorer.mosaic_size()

        def write(path: Path) -> str:
            save_png(picture, path)
            return f"a {size} x {size} mosaic"

        self._export("Export the mosaic", "mosaic.png", "PNG (*.png)", write)

    @staticmethod
    def _save_widget(widget: QWidget, path: Path, what: str) -> str:
        if not widget.grab().save(str(path), "PNG"):
            raise OSError(f"{path}: could not be written")
        return what

    def _strip_missing(self) -> bool:
        """Says why there is no strip to export, if there is none."""
        if self.explorer.shows_points:
            self.workspace.warn(
                "A 2D generator's interpolation is the green path in the explorer's data view: "
                "export it with the mesh (File > Export > Mosaic)."
            )
            return True
        if self.explorer.strip_picture is None:
            self.workspace.warn(
                "Set both ends of an interpolation (A and B) in the explorer first."
            )
            return True
        return False

    def export_strip(self) -> None:
        from ganviz_gui.core.sample_images import save_png

        picture = self.explorer.strip_picture
        if self._strip_missing() or picture is None:
            return

        def write(path: Path) -> str:
            save_png(picture, path)
            return f"a strip of {len(self.explorer.strip_frames())} samples"

        self._export("Export the interpolation strip", "interpolation.png", "PNG (*.png)", write)

    def export_strip_gif(self) -> None:
        from ganviz_gui.core.exports import write_frames_gif
        from ganviz_gui.core.sample_images import tile_scale

        frames = self.explorer.strip_frames()
        if self._strip_missing():
            return
        scale = tile_scale(frames[0].shape[0])
        # There and back again, so the loop has no jump.
        loop = frames + frames[-2:0:-1]

        def write(path: Path) -> str:
            return f"{write_frames_gif(loop, path, scale=scale)} frames"

        self._export("Export the interpolation", "interpolation.gif", "GIF (*.gif)", write)

    def save_bookmarks(self) -> None:
        from ganviz_gui.core.latent_bookmarks import save_bookmarks

        bookmarks = self.explorer.bookmarks
        if bookmarks is None:
            self.workspace.warn("Bookmark a latent in the explorer first (the Bookmark button).")
            return

        def write(path: Path) -> str:
            save_bookmarks(bookmarks, path)
            return f"{len(bookmarks.latents)} latents and {len(bookmarks.planes)} planes"

        self._export("Save latent bookmarks", "bookmarks.json", "Bookmarks (*.json)", write)

    def load_bookmarks(self) -> None:
        from ganviz_gui.core.latent_bookmarks import load_bookmarks

        path, _ = QFileDialog.getOpenFileName(self.window, "Load latent bookmarks", "", "(*.json)")
        if not path:
            return
        try:
            self.explorer.set_bookmarks(load_bookmarks(path))
        except export_errors() as exc:
            self.workspace.warn(f"Cannot use the bookmarks of {path}:\n{failure_text(exc)}")
            return
        self.workspace.say(f"Loaded bookmarks from {path}", 8000)

    def export_metrics(self) -> None:
        from ganviz_gui.core.exports import write_metrics_csv

        run_dir = self.workspace.run_dir
        if run_dir is None:
            self.workspace.warn("There is no run to export metrics from yet.")
            return
        from ganviz_gui.core.run_folder import read_jsonl

        def write(path: Path) -> str:
            # The whole run as recorded (a continued run's plots begin where it was resumed);
            # read here, so an unreadable file is a failure of this export like any other.
            records = read_jsonl(run_dir / "metrics.jsonl")
            write_metrics_csv(records, path)
            return f"{len(records)} records"

        self._export("Export the metrics", f"{run_dir.name}-metrics.csv", "CSV (*.csv)", write)

    def export_gif(self) -> None:
        from ganviz_gui.core.exports import write_run_gif

        run_dir = self.workspace.run_dir
        if run_dir is None:
            self.workspace.warn("There is no run to animate yet.")
            return
        self._export(
            "Export the training as a GIF",
            f"{run_dir.name}.gif",
            "GIF (*.gif)",
            lambda path: f"{write_run_gif(run_dir, path)} frames",
        )


def export_errors() -> tuple[type[BaseException], ...]:
    """What reading a run's files and writing an export may raise on bad files or too little
    memory: GANViz's own errors, OSError, MemoryError, and what Pillow raises on damaged or
    oversized pictures (the same list image folders are read with)."""
    import struct

    from PIL import Image

    from ganviz_gui.core.errors import GanvizError

    return (
        GanvizError,
        OSError,
        MemoryError,
        ValueError,
        SyntaxError,
        EOFError,
        struct.error,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    )


def failure_text(error: BaseException) -> str:
    """The error as the dialog says it: its message (GANViz's errors name their file), or
    what kind of error it is where it has none (a MemoryError)."""
    if isinstance(error, MemoryError):
        return "out of memory (the pictures are too large to export)"
    from ganviz_gui.core.errors import GanvizError

    text = str(error)
    return text if isinstance(error, GanvizError) and text else f"{type(error).__name__}: {text}"
