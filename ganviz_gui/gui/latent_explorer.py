"""The latent-plane explorer: a mosaic of decoded samples over a plane in latent space, and a
cursor whose sample follows it as it is dragged. For a 2D generator the plane's image is drawn
instead, as a deformed mesh over the real data (`latent_mesh`).

The plane is z(u, v) = z0 + u*e1 + v*e2 with u, v in standard deviations of the prior; it is a
random orthonormal pair, the generator's SeFa directions, or its GANSpace principal directions
(`core.latent_plane`). Decoding runs on a `LatentDecoder` thread with its own copy of the
generator; this widget only asks and draws. (torch is imported when a generator arrives, so
the window still opens before torch has loaded.)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ganviz_gui.core.workspace import Workspace
from ganviz_gui.gui.background import LatestOnly, torch_threads_for_this_job
from ganviz_gui.gui.flow_layout import FlowLayout, group
from ganviz_gui.gui.latent_decoder import DecodedPicture, DecoderThread
from ganviz_gui.gui.latent_mesh import CROSS_POINTS, MeshLayers, dense_size
from ganviz_gui.gui.panel_frame import PanelFrame
from ganviz_gui.gui.style_controls_bar import StyleControlsBar

if TYPE_CHECKING:
    import torch

    from ganviz_gui.core.generator_files import GeneratorFile
    from ganviz_gui.core.latent_bookmarks import LatentBookmarks
    from ganviz_gui.core.latent_plane import LatentPlane
    from ganviz_gui.core.style_controls import StyleControls
    from ganviz_gui.core.workspace import ShownGenerator

PLANES = (
    ("random", "Random plane (seed 0)"),
    ("sefa", "SeFa: the first layer's top directions"),
    ("pca", "GANSpace: principal directions"),
    ("picked", "Through the last 3 samples clicked in the grid"),
)
MOSAIC_SIZES = (5, 7, 9, 11, 15, 21)


DEFAULT_MOSAIC = 9
ANCHOR_MARGIN = 0.15  # the plane through three samples frames them with 15% of its range to spare
ANCHOR_PEN = pg.mkPen((20, 20, 20), width=1.5)
ANCHOR_BRUSH = pg.mkBrush(255, 70, 200)  # magenta: seen on grey digits, on blue and orange lines


class LatentExplorer(QWidget):
    plane_changed = Signal(str)  # the plane's description

    def __init__(self, workspace: Workspace | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("latentExplorer")
        self.workspace = workspace or Workspace()
        self._closed = False  # the window closed: no decoder thread is started again
        self._retired: list[DecoderThread] = []  # decoders let go, still finishing a decode
        self.opened: GeneratorFile | None = None  # the generator explored
        self.plane: LatentPlane | None = None
        self.decoder: DecoderThread | None = None
        self.cursor_picture: np.ndarray | None = None
        self.mosaic_picture: np.ndarray | None = None
        self.mosaic_filled: int | None = None  # samples decoded of a mosaic still filling in
        # A 2D generator's decoded plane: (M, M, 2) points, row 0 at v = +range; and G(cursor).
        self.mesh_points: np.ndarray | None = None
        self.cursor_point: np.ndarray | None = None
        self.strip_points: np.ndarray | None = None
        self._fit_data_view = False  # frame the data view when the next mesh arrives
        self.last_cursor_seconds = 0.0  # request-to-picture time of the newest cursor decode

        self.plane_combo = QComboBox(objectName="planeCombo")
        for key, text in PLANES:
            self.plane_combo.addItem(text, key)
            # The box may shorten its texts in a narrow dock: the whole one shows on hover.
            self.plane_combo.setItemData(self.plane_combo.count() - 1, text, Qt.ToolTipRole)
        self.size_combo = QComboBox(objectName="mosaicSizeCombo")
        for size in MOSAIC_SIZES:
            self.size_combo.addItem(f"{size} x {size}", size)
        self.size_combo.setCurrentIndex(MOSAIC_SIZES.index(DEFAULT_MOSAIC))
        self.extent_spin = QDoubleSpinBox(objectName="extentSpin", decimals=1, singleStep=0.5)
        # Up to 100 std: three picked samples of a 512-dimensional latent lie ~32 std apart.
        self.extent_spin.setRange(0.5, 100.0)
        self.extent_spin.setValue(2.5)
        self.extent_spin.setSuffix(" std")
        self.extent_spin.setKeyboardTracking(False)
        self.overlay_check = QCheckBox("D(G(z))", objectName="dOverlayCheck")
        self.overlay_check.setToolTip(
            "D's verdict on every mosaic sample, as a heat map over the plane "
            "(blue: D says real, red: fake); for GANViz checkpoints, which carry D"
        )
        self.extent_spin.setToolTip("The plane shown: u and v from -range to +range")
        # Interpolation between two latents, and bookmarks of latents and planes.
        self.strip_start_button = QPushButton("A = cursor", objectName="stripStartButton")
        self.strip_end_button = QPushButton("B = cursor", objectName="stripEndButton")
        self.interpolation_combo = QComboBox(objectName="interpolationCombo")
        self.interpolation_combo.addItem("spherical (slerp)", "slerp")
        self.interpolation_combo.addItem("linear", "linear")
        self.strip_steps_spin = QSpinBox(objectName="stripStepsSpin")
        self.strip_steps_spin.setRange(2, 32)
        self.strip_steps_spin.setValue(8)
        self.follow_check = QCheckBox("Follow training", objectName="followTrainingCheck")
        self.follow_check.setToolTip(
            "Explore the generator being trained in this window (its EMA copy), refreshed at "
            "the interval chosen beside"
        )
        self.follow_combo = QComboBox(objectName="liveRefreshCombo")
        for seconds in (0.5, 1.0, 2.0, 5.0):
            self.follow_combo.addItem(f"every {seconds:g} s", seconds)
        self.follow_combo.setCurrentIndex(1)
        self.bookmark_button = QPushButton("Bookmark", objectName="bookmarkButton")
        self.bookmark_button.setToolTip("Keep the latent under the cursor and the plane")
        self.bookmark_combo = QComboBox(objectName="bookmarkCombo")
        self.bookmark_combo.setToolTip("Go to a bookmarked latent or plane")
        self.bookmark_combo.setMinimumWidth(120)
        self.strip_steps_spin.setToolTip("Samples along the interpolation from A to B")
        # The controls flow onto as many rows as the dock's width needs, and the plane list
        # may shorten its texts: the explorer's dock must not need so much width that the
        # Setup panel beside it is squeezed to labels.
        self.plane_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.plane_combo.setMinimumContentsLength(24)
        controls = FlowLayout()
        controls.add_widgets(
            group(self.plane_combo, self.overlay_check),
            group(QLabel("Mosaic"), self.size_combo, QLabel("Range"), self.extent_spin),
            group(
                self.strip_start_button,
                self.strip_end_button,
                self.interpolation_combo,
                self.strip_steps_spin,
            ),
            group(self.follow_check, self.follow_combo),
            group(self.bookmark_button, self.bookmark_combo),
        )
        # StyleGAN's own controls: only for style-based generators.
        self.style_bar = StyleControlsBar()
        self.style_bar.hide()
        self.mix_latent: torch.Tensor | None = None  # style mixing's second latent (plane space)
        self.value_range: tuple[float, float] | None = None  # the cursor sample's, if unbounded
        self.preview_resolution: int | None = None  # a coarse cursor picture is shown
        bar = QVBoxLayout()
        bar.addLayout(controls)
        bar.addWidget(self.style_bar)
        self.strip_ends: list[torch.Tensor | None] = [None, None]  # latents A and B
        self.strip_picture: np.ndarray | None = None
        self.bookmarks: LatentBookmarks | None = None  # of this latent size
        self.picked: list[
            torch.Tensor
        ] = []  # latents of the samples last clicked in the grid (<= 3)
        self.score_loss: str | None = None  # the loss of the D scoring the mosaic, if any

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("mosaicView")
        self.mosaic_view = self.graphics.addViewBox(enableMenu=False, row=0, col=0, lockAspect=True)
        self.mosaic_item = pg.ImageItem(axisOrder="row-major")
        self.mosaic_view.addItem(self.mosaic_item)
        colors = pg.colormap.get("CET-D1A")
        colors.reverse()  # blue: real, as in the 2D field view
        self.overlay_item = pg.ImageItem(axisOrder="row-major")
        self.overlay_item.setColorMap(colors)
        self.overlay_item.setOpacity(0.5)
        self.overlay_item.hide()
        self.mosaic_view.addItem(self.overlay_item)
        self.mosaic_scores: np.ndarray | None = None  # (n, n) D outputs, row 0 = top of plane
        self.cursor = pg.TargetItem(pos=(0, 0), size=14, movable=True, pen=pg.mkPen("y", width=2))
        self.mosaic_view.addItem(self.cursor)
        # The samples a plane was made through, numbered in the order they were clicked.
        self.anchor_markers = pg.ScatterPlotItem(size=13, pen=ANCHOR_PEN, brush=ANCHOR_BRUSH)
        self.anchor_markers.setZValue(10)
        self.anchor_labels: list[pg.TextItem] = []
        self.mosaic_view.addItem(self.anchor_markers)
        self._range_before_fit: float | None = None  # the user's range, while a fitted one is shown
        self.sample_view = self.graphics.addViewBox(
            enableMenu=False, row=0, col=1, lockAspect=True, invertY=True
        )
        self.sample_item = pg.ImageItem(axisOrder="row-major")
        self.sample_view.addItem(self.sample_item)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.strip_view = self.graphics.addViewBox(
            row=1, col=0, colspan=2, lockAspect=True, invertY=True, enableMenu=False
        )
        self.strip_item = pg.ImageItem(axisOrder="row-major")
        self.strip_view.addItem(self.strip_item)
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self.mesh_layers = MeshLayers(self.mosaic_view, self.sample_view)

        self.frame = PanelFrame(
            self,
            bar,
            self.graphics,
            "explorer",
            "Open a checkpoint, a run folder or a generator (File > Open) to walk its latent "
            "space here.",
        )
        self.readout = self.frame.readout

        self._planner = LatestOnly(self, own_thread=True)
        self._planner.finished.connect(self._on_plane_ready)
        self.plane_combo.activated.connect(lambda _: self._make_plane())
        self.size_combo.activated.connect(lambda _: self._request_mosaic())
        self.extent_spin.valueChanged.connect(lambda _: self._on_extent_changed())
        self.cursor.sigPositionChanged.connect(lambda _: self._request_cursor())
        self.overlay_check.toggled.connect(lambda _: self._draw_overlay())
        self.strip_start_button.clicked.connect(lambda: self.set_strip_end(0))
        self.strip_end_button.clicked.connect(lambda: self.set_strip_end(1))
        self.interpolation_combo.activated.connect(lambda _: self._request_strip())
        self.strip_steps_spin.valueChanged.connect(lambda _: self._request_strip())
        self.bookmark_button.clicked.connect(self.bookmark_cursor)
        self.bookmark_combo.activated.connect(lambda _: self._go_to_bookmark())
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)
        self.follow_check.toggled.connect(lambda _: self._on_follow_edited())
        self.follow_combo.activated.connect(lambda _: self._on_follow_edited())
        self.style_bar.changed.connect(self._on_style_changed)
        self.style_bar.space_changed.connect(self._on_space_changed)
        self.style_bar.mix_requested.connect(self._mix_with_cursor)
        workspace = self.workspace
        workspace.generator_changed.connect(self._on_generator_changed)
        workspace.picked_changed.connect(self._on_picked_changed)
        workspace.following_changed.connect(self._on_following_changed)

    # ------------------------------------------------------------------ the workspace
    def _on_generator_changed(self, shown: ShownGenerator | None) -> None:
        """A file opened is explored afresh; another checkpoint of the run shown keeps the
        decoder and (where it does not depend on the weights) the plane; the live run's newest
        weights are shown only while following training."""
        if self._closed:
            return
        if shown is None:
            if self.workspace.run is not None:  # a run without a checkpoint yet
                self.forget_generator(
                    "This run has no checkpoint yet: the explorer needs a generator's weights. "
                    "It opens one as soon as the run writes one."
                )
            return
        if shown.origin == "opened":
            self.set_generator(shown.generator)
        elif shown.origin == "checkpoint":
            self.show_generator(shown.generator)
        elif self.follow_check.isChecked():  # "live"
            same_kind = self.opened is not None and self.opened.kind == shown.generator.kind
            if same_kind:
                self.show_generator(shown.generator, keep_plane=True)
            else:
                self.set_generator(shown.generator)

    def _on_follow_edited(self) -> None:
        self.workspace.set_following(
            self.follow_check.isChecked(), float(self.follow_combo.currentData())
        )

    def _on_following_changed(self, following: tuple[bool, float]) -> None:
        follow, interval = following
        self.follow_check.blockSignals(True)
        self.follow_check.setChecked(follow)
        self.follow_check.blockSignals(False)
        index = self.follow_combo.findData(interval)
        if index >= 0:
            self.follow_combo.setCurrentIndex(index)

    # ------------------------------------------------------------------ generator in
    def set_generator(self, opened: GeneratorFile) -> None:
        """Explore `opened` (a GeneratorFile); replaces whatever was explored before."""
        if self._closed:
            return
        self.close_decoder()
        self.opened = opened
        self.strip_ends = [None, None]
        self.strip_picture = None
        self.strip_item.clear()
        self._show_points(not opened.is_image)
        self.score_loss = None  # known once D has scored a mosaic
        self.mix_latent, self.value_range, self.preview_resolution = None, None, None
        self.style_bar.setVisible(opened.style_based)
        if opened.style_based:
            self.style_bar.configure(opened.style_layers, opened.class_count)
        self.decoder = DecoderThread(opened)  # G and D are built on the decoder's thread
        self.decoder.decoder.set_controls(self.style_controls())
        self.overlay_check.setEnabled(opened.has_critic)
        self.decoder.decoder.decoded.connect(self._on_decoded)
        self.decoder.decoder.failed.connect(self.readout.setText)
        self.frame.show_view()
        self._make_plane()

    def forget_generator(self, why: str) -> None:
        """Nothing to explore: the last generator's decoder goes, and `why` is shown."""
        self.close_decoder()
        self.opened = None
        self.frame.show_message(why)

    def show_generator(self, opened: GeneratorFile, keep_plane: bool = False) -> None:
        """Another checkpoint of the same run (or the live run's newest weights): same decoder
        thread; a random plane is kept, SeFa and PCA planes are found anew (they depend on the
        weights) unless `keep_plane` (following a run live, where that would cost each second)."""
        same_space = (
            self.decoder is not None
            and self.opened is not None
            and opened.is_image == self.opened.is_image
            and opened.latent_dim == self.opened.latent_dim
        )
        if not same_space:
            self.set_generator(opened)
            return
        self.opened = opened
        self.decoder.decoder.set_generator(opened)
        self.decoder.decoder.set_controls(self.style_controls())
        keep = keep_plane or self.plane_combo.currentData() in ("random", "picked")
        if keep and self.plane is not None:
            self._request_mosaic()
            self._request_cursor()
        else:
            self._make_plane()
        self._request_strip()

    @property
    def shows_points(self) -> bool:
        """True when the generator explored makes 2D points (drawn as a mesh, not a mosaic)."""
        return self.opened is not None and not self.opened.is_image

    def _show_points(self, points: bool) -> None:
        """Switch the views between a 2D generator's mesh and an image generator's pictures."""
        self.mesh_points = self.cursor_point = self.strip_points = None
        self.mosaic_picture = self.cursor_picture = self.mosaic_scores = None
        self.mesh_layers.clear()
        self.mesh_layers.set_visible(points)
        for item in (self.mosaic_item, self.sample_item):
            item.clear()
            item.setVisible(not points)
        self.strip_view.setVisible(not points)  # a 2D interpolation is a path in the data view
        self.sample_view.invertY(not points)  # pictures hang down, data's y axis points up
        self.overlay_item.setOpacity(0.8 if points else 0.5)
        # Data space gets as much room as the plane: both are square views of equal interest.
        self.graphics.ci.layout.setColumnStretchFactor(1, 3 if points else 2)
        self.mesh_layers.set_real(self._real_points() if points else None)
        self._fit_data_view = points

    def _real_points(self, count: int = 2000) -> np.ndarray | None:
        """Real 2D data to draw the mesh over, where the generator's file names its data."""
        config = self.opened.config
        if config is None:
            return None
        from ganviz_gui.core.data import load_dataset
        from ganviz_gui.core.errors import GanvizError

        try:  # toy distributions and point files are small and quick to make
            points = load_dataset(config.replace(download=False)).data[:count].numpy()
        except (GanvizError, OSError) as exc:
            self.readout.setText(f"the real data is not shown: {exc}")
            return None
        return points

    def close_decoder(self) -> None:
        """Let the decoder go: it ends after the decode under way (a big mosaic can take
        seconds), without the GUI waiting for it; closing the window joins it."""
        if self.decoder is not None:
            self.decoder.stop()
            self._retired.append(self.decoder)
            self.decoder = None
        self._retired = [decoder for decoder in self._retired if decoder.running()]
        # A plane still being found is for the generator going away: its result is dropped
        # (it works on its own copy, so nothing waits for it here).
        self._planner.cancel()

    def shut_down(self) -> None:
        """The window closes: stop the decoder and never start another."""
        self._closed = True
        self._planner.close()
        self.close_decoder()
        for decoder in self._retired:
            decoder.close(60_000)  # a QThread must not be destroyed while it runs
        self._retired = []

    def closeEvent(self, event) -> None:
        self.shut_down()
        super().closeEvent(event)

    # ------------------------------------------------------------------ plane
    def _make_plane(self) -> None:
        if self.opened is None or self.decoder is None:
            return
        key = self.plane_combo.currentData()
        generator_file = self.opened
        latent_dim = self.plane_dim()
        style_based = generator_file.style_based
        if style_based and key in ("sefa", "pca") and self.style_bar.space() != "w":
            # Both are directions of W for a style-based generator (SeFa of the style
            # modulations, GANSpace of mapped latents): the plane moves to W.
            self.style_bar.set_space("w")
            self._forget_space()
            latent_dim = self.plane_dim()
        self.readout.setText("finding the plane...")

        from ganviz_gui.core import latent_plane

        if key == "picked":
            if style_based and self.style_bar.space() == "w":
                self.readout.setText(
                    "the plane through three clicked samples lies in z: choose 'plane in z'"
                )
                return
            if len(self.picked) < 3:
                self.readout.setText(
                    f"click {3 - len(self.picked)} more sample(s) in the sample grid to set "
                    "the plane through three of them"
                )
                return
            plane = latent_plane.framed_on_anchors(latent_plane.plane_through(*self.picked))
            self._fit_extent(plane.anchor_extent(ANCHOR_MARGIN))
            self.set_plane(plane)
            self.move_cursor(*(float(x) for x in plane.anchors[0]))
            return
        self._restore_extent()
        # Planes chosen by direction pass through a typical latent, not G(0) (a DCGAN's is a
        # flat grey square); planes in W pass through W's average as they are made.
        origin = None if self.in_w_space() else self.typical_origin()

        def make() -> LatentPlane:
            import copy

            torch_threads_for_this_job()
            # Its own copy: the PCA hooks a layer, which must not touch the decoder's forwards.
            generator_copy = copy.deepcopy(generator_file.build_generator("ema"))
            if style_based and key in ("sefa", "pca"):
                from ganviz_gui.core import style_controls

                if key == "sefa":
                    return style_controls.style_sefa_plane(generator_copy)
                return style_controls.style_pca_plane(generator_copy)
            if key == "sefa":
                plane = latent_plane.sefa_plane(generator_copy, latent_dim)
            elif key == "pca":
                plane = latent_plane.pca_plane(generator_copy, latent_dim, samples=1000)
            else:
                plane = latent_plane.random_plane(latent_dim, seed=0)
            return plane if origin is None else plane.through(origin)

        self._planner.submit(make)

    def _on_plane_ready(self, plane: Any, error: str) -> None:
        if error:
            self.readout.setText(f"this plane is not available for this generator: {error}")
            return
        self.set_plane(plane)

    def set_plane(self, plane: LatentPlane) -> None:
        if self.decoder is not None:  # the plane's space and the decoder's change together
            self.decoder.decoder.set_controls(self.style_controls())
        self.plane = plane
        self._forget_scores()
        self._draw_anchors()
        self.plane_changed.emit(plane.name)
        self._request_mosaic()
        self._request_cursor()

    def typical_origin(self) -> torch.Tensor:
        """A latent like those G was trained on: the first of the explored file's fixed noise,
        else the run's (sample 0 of the grid), else a seeded normal draw."""
        from ganviz_gui.core.latent_plane import typical_latent

        noise = self.opened.fixed_noise
        run = self.workspace.run
        if noise is None and run is not None:
            noise = run.fixed_noise
        return typical_latent(self.opened.latent_dim, noise)

    def _fit_extent(self, extent: float) -> None:
        """Show the range [-extent, extent] (rounded up to the box's step), remembering the
        user's own range for the next plane chosen by direction."""
        if self._range_before_fit is None:
            self._range_before_fit = self.extent()
        self._set_extent(math.ceil(extent * 10) / 10)

    def _restore_extent(self) -> None:
        if self._range_before_fit is not None:
            self._set_extent(self._range_before_fit)
            self._range_before_fit = None

    def _set_extent(self, extent: float) -> None:
        """Change the range without a mosaic request of its own (the caller asks for one)."""
        self.extent_spin.blockSignals(True)
        self.extent_spin.setValue(extent)
        self.extent_spin.blockSignals(False)
        self._clamp_cursor()
        self._fit_data_view = self.shows_points

    def _on_extent_changed(self) -> None:
        self._range_before_fit = None  # the user chose a range: it stays
        self._clamp_cursor()
        self._fit_data_view = self.shows_points
        self._forget_scores()
        self._request_mosaic()

    def _forget_scores(self) -> None:
        """D's verdicts belong to the plane and range they were decoded over: none are read
        out or drawn until the new mosaic's arrive."""
        self.mosaic_scores = None
        self._draw_overlay()

    def _draw_anchors(self) -> None:
        """Mark the latents the plane was made through (1, 2, 3), where it has any."""
        for label in self.anchor_labels:
            self.mosaic_view.removeItem(label)
        self.anchor_labels = []
        anchors = None if self.plane is None else self.plane.anchors
        if anchors is None:
            self.anchor_markers.clear()
            return
        points = anchors.numpy()
        self.anchor_markers.setData(pos=points)
        for number, (u, v) in enumerate(points, start=1):
            label = pg.TextItem(
                str(number),
                color=(255, 255, 255),
                fill=pg.mkBrush(20, 20, 20, 190),
                anchor=(-0.3, 1.1),
            )
            label.setZValue(11)
            label.setPos(float(u), float(v))
            self.mosaic_view.addItem(label)
            self.anchor_labels.append(label)

    # ------------------------------------------------------------------ StyleGAN's controls
    def in_w_space(self) -> bool:
        return self.opened is not None and self.opened.style_based and self.style_bar.space() == "w"

    def plane_dim(self) -> int:
        """The size of the space the plane lies in: z's, or W's for a plane in W."""
        if self.in_w_space():
            return self.opened.w_dim
        return self.opened.latent_dim

    def style_controls(self) -> StyleControls | None:
        if self.opened is None or not self.opened.style_based:
            return None
        return self.style_bar.controls(self.mix_latent)

    def _on_style_changed(self) -> None:
        """Truncation, mixing, noise or class edited: everything shown is decoded anew."""
        if self.decoder is None:
            return
        self.decoder.decoder.set_controls(self.style_controls())
        self._request_mosaic()
        self._request_cursor()
        self._request_strip()

    def _on_space_changed(self) -> None:
        """The plane moves between z and W: a new plane of the new space is found."""
        self._forget_space()
        if self.plane_combo.currentData() in ("sefa", "pca") and not self.in_w_space():
            self.plane_combo.setCurrentIndex(self.plane_combo.findData("random"))
        self._make_plane()

    def _forget_space(self) -> None:
        """Latents of the other space mean nothing here: the plane (until the new one comes,
        nothing is decoded), the mixing latent, the strip's ends and the bookmarks go."""
        self.plane = None
        self.mix_latent = None
        mix = self.style_bar.mix_check
        mix.blockSignals(True)
        mix.setChecked(False)
        mix.blockSignals(False)
        mix.setEnabled(False)
        self.strip_ends = [None, None]
        self.strip_item.clear()
        self.bookmarks = None
        self._fill_bookmarks()

    def _mix_with_cursor(self) -> None:
        """The latent under the cursor gives the chosen layers' styles from now on."""
        if self.plane is None:
            return
        self.mix_latent = self.cursor_latent()
        self.style_bar.mix_check.setEnabled(True)
        self.style_bar.mix_check.blockSignals(True)
        self.style_bar.mix_check.setChecked(True)
        self.style_bar.mix_check.blockSignals(False)
        self._on_style_changed()

    # ------------------------------------------------------------------ requests
    def mosaic_size(self) -> int:
        return int(self.size_combo.currentData())

    def extent(self) -> float:
        return float(self.extent_spin.value())

    def cursor_uv(self) -> tuple[float, float]:
        position = self.cursor.pos()
        return float(position.x()), float(position.y())

    def _request_mosaic(self) -> None:
        if self.plane is None or self.decoder is None:
            return
        n = self.mosaic_size()
        if self.shows_points:  # n x n lattice lines, each decoded finely enough to bend
            self.mesh_layers.draw_lattice(n, self.extent())
            n = dense_size(n)
        # Top row first (v = +extent), so the tiled picture reads like the plane, v upwards.
        latents = self.plane.grid(n, self.extent()).reshape(n, n, -1).flip(0).reshape(n * n, -1)
        self.decoder.decoder.request("mosaic", latents, columns=n)

    def _request_cursor(self) -> None:
        if self.plane is None or self.decoder is None:
            return
        u, v = self.cursor_uv()
        z = self.plane.latents([u], [v])
        if not self.in_w_space():  # the forward pass and Compare take z
            self.workspace.set_cursor_latent(z[0])
        if self.shows_points:  # also the cursor's cross, so its image shows how G bends there
            import torch

            e = self.extent()
            line = torch.linspace(-e, e, CROSS_POINTS)
            row = self.plane.latents(line, torch.full_like(line, v))
            column = self.plane.latents(torch.full_like(line, u), line)
            z = torch.cat([z, row, column])
        self.decoder.decoder.request("cursor", z, columns=1)
        self.readout.setText(self._cursor_text(u, v))

    def _cursor_text(self, u: float, v: float, point: np.ndarray | None = None) -> str:
        text = f"u = {u:+.2f}, v = {v:+.2f} std"
        if point is not None:
            text += f" -> G(z) = ({point[0]:+.3f}, {point[1]:+.3f})"
        score = self.score_at(u, v)
        if score is not None:
            text += f"; D(G(z)) of the nearest mosaic sample = {score:.3f}"
        if self.preview_resolution is not None:
            text += f"; a {self.preview_resolution} px preview, the full image follows"
        if self.value_range is not None:
            low, high = self.value_range
            if low < -1 or high > 1:
                text += f"; values {low:.2f} to {high:.2f}, shown clamped to [-1, 1]"
        plane = self.plane.name
        if self.opened is not None and self.opened.style_based:
            plane += "; " + self._controls_text()
        return f"{text}  ({plane})"

    def _controls_text(self) -> str:
        controls = self.style_controls()
        if controls is None or self.opened is None:
            return ""
        return controls.describe(self.opened.style_layers, self.opened.class_count)

    def score_at(self, u: float, v: float) -> float | None:
        """D's output on the mosaic sample nearest (u, v), if the mosaic was scored."""
        if self.mosaic_scores is None:
            return None
        n, e = self.mosaic_scores.shape[0], self.extent()
        col = int(np.clip(round((u + e) / (2 * e) * (n - 1)), 0, n - 1))
        row = int(np.clip(round((e - v) / (2 * e) * (n - 1)), 0, n - 1))  # row 0: v = +e
        return float(self.mosaic_scores[row, col])

    def cursor_latent(self) -> torch.Tensor:
        u, v = self.cursor_uv()
        return self.plane.latents([u], [v])[0]

    def _on_picked_changed(self, picked: list[torch.Tensor]) -> None:
        """A sample clicked in the grid: the plane moves to pass through its latent with the
        cursor on it, and it counts towards the three-sample plane."""
        # Only latents of this generator's space (the grid may show another generator's
        # samples, e.g. the live run while an opened file is explored).
        self.picked = [
            z for z in picked if self.opened is not None and z.numel() == self.opened.latent_dim
        ]
        if not self.picked or self.plane is None or self.picked[-1] is not picked[-1]:
            return
        if self.in_w_space():  # clicked samples are latents z: they move planes in z only
            return
        if self.plane_combo.currentData() == "picked" and len(self.picked) == 3:
            self._make_plane()
            return
        self.set_plane(self.plane.through(self.picked[-1]))
        self.move_cursor(0.0, 0.0)

    # ------------------------------------------------------------------ interpolation strip
    def set_strip_end(self, which: int) -> None:
        """Make the latent under the cursor end A (0) or B (1) of the interpolation strip."""
        if self.plane is None:
            return
        self.strip_ends[which] = self.cursor_latent()
        self._request_strip()

    def strip_latents(self) -> torch.Tensor:
        from ganviz_gui.core.latent_plane import interpolate

        start, end = self.strip_ends
        mode = self.interpolation_combo.currentData()
        return interpolate(start, end, self.strip_steps_spin.value(), mode)

    def _request_strip(self) -> None:
        if self.decoder is None or any(end is None for end in self.strip_ends):
            return
        latents = self.strip_latents()
        self.decoder.decoder.request("strip", latents, columns=len(latents))

    def strip_frames(self) -> list[np.ndarray]:
        """The strip's samples, one picture each (for a GIF)."""
        if self.strip_picture is None:
            return []
        return np.split(self.strip_picture, self.strip_steps_spin.value(), axis=1)

    # ------------------------------------------------------------------ bookmarks
    def bookmark_cursor(self) -> str:
        """Keep the latent under the cursor (and the plane, once); returns the bookmark's name."""
        from ganviz_gui.core.latent_bookmarks import LatentBookmarks

        if self.plane is None:
            return ""
        if self.bookmarks is None or self.bookmarks.latent_dim != self.plane_dim():
            self.bookmarks = LatentBookmarks(self.plane_dim())
        name = f"z{len(self.bookmarks.latents) + 1}"
        self.bookmarks.latents[name] = self.cursor_latent()
        plane_name = f"plane: {self.plane.name}"
        self.bookmarks.planes.setdefault(plane_name, self.plane)
        self._fill_bookmarks()
        return name

    def set_bookmarks(self, bookmarks: LatentBookmarks) -> None:
        """Bookmarks loaded from a file (their latent size must fit the generator)."""
        bookmarks.check_fits(self.plane_dim() if self.opened else bookmarks.latent_dim)
        self.bookmarks = bookmarks
        self._fill_bookmarks()

    def _fill_bookmarks(self) -> None:
        self.bookmark_combo.clear()
        if self.bookmarks is None:
            return
        for name in self.bookmarks.latents:
            self.bookmark_combo.addItem(name, ("latent", name))
        for name in self.bookmarks.planes:
            self.bookmark_combo.addItem(name, ("plane", name))

    def _go_to_bookmark(self) -> None:
        """A latent: the plane moves to pass through it, cursor on it. A plane: shown as is."""
        kind, name = self.bookmark_combo.currentData()
        if kind == "plane":
            self.set_plane(self.bookmarks.planes[name])
            return
        self.set_plane(self.plane.through(self.bookmarks.latents[name]))
        self.move_cursor(0.0, 0.0)

    def move_cursor(self, u: float, v: float) -> None:
        """Put the cursor at (u, v), as a drag would."""
        self.cursor.setPos(u, v)

    def _clamp_cursor(self) -> None:
        e = self.extent()
        u, v = self.cursor_uv()
        self.cursor.setPos(min(max(u, -e), e), min(max(v, -e), e))

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        point = self.mosaic_view.mapSceneToView(event.scenePos())
        e = self.extent()
        if -e <= point.x() <= e and -e <= point.y() <= e:
            self.move_cursor(point.x(), point.y())

    # ------------------------------------------------------------------ results
    def _on_decoded(self, result: DecodedPicture) -> None:
        decoder = self.decoder.decoder if self.decoder is not None else None
        if decoder is None or result.decoder != decoder.serial:
            return  # a picture of a decoder let go (another generator is explored now)
        if result.ticket != decoder.latest_ticket(result.kind):
            return  # a newer request is on its way: this picture is stale
        if result.loss is not None:
            self.score_loss = result.loss
        if result.points is not None:
            self._on_points_decoded(result)
            return
        if result.kind == "strip":
            self.strip_picture = result.picture
            self.strip_item.setImage(result.picture, autoLevels=False, levels=(0, 255))
            self.strip_view.autoRange(padding=0.02)
            return
        if result.kind == "cursor":
            self.preview_resolution = result.preview_resolution
            if result.preview_resolution is None:
                self.cursor_picture = result.picture
                self.last_cursor_seconds = result.seconds
                self.value_range = result.value_range
            self.sample_item.setImage(result.picture, autoLevels=False, levels=(0, 255))
            self.sample_view.autoRange(padding=0.02)
            if self.plane is not None:
                self.readout.setText(self._cursor_text(*self.cursor_uv()))
            return
        self.mosaic_picture = result.picture
        self.mosaic_filled = result.filled  # None: complete; a big generator's fills in
        e = self.extent()
        # A picture's row 0 is its top; the view's y axis points up, so flip it to stand upright.
        self.mosaic_item.setImage(np.flipud(result.picture), autoLevels=False, levels=(0, 255))
        self.mosaic_item.setRect(-e, -e, 2 * e, 2 * e)
        self.mosaic_view.setRange(xRange=(-e, e), yRange=(-e, e), padding=0.02)
        n = self.mosaic_size()
        self.mosaic_scores = None if result.scores is None else result.scores.reshape(n, n)
        self._draw_overlay()
        if self.plane is not None:  # D's verdict under the cursor is known now
            self.readout.setText(self._cursor_text(*self.cursor_uv()))

    def _on_points_decoded(self, result: DecodedPicture) -> None:
        points, layers = result.points, self.mesh_layers
        if result.kind == "strip":
            self.strip_points = points
            layers.draw_path(points)
        elif result.kind == "cursor":
            self.cursor_point = points[0]
            self.last_cursor_seconds = result.seconds
            u, v = self.cursor_uv()
            layers.draw_cursor(u, v, self.extent(), points)
            self.readout.setText(self._cursor_text(u, v, self.cursor_point))
        else:
            m = math.isqrt(len(points))
            self.mesh_points = points.reshape(m, m, 2)
            layers.draw_mesh(self.mesh_points)
            e = self.extent()
            self.mosaic_view.setRange(xRange=(-e, e), yRange=(-e, e), padding=0.02)
            if self._fit_data_view:
                self._fit_data_view = False
                layers.fit()
            self.mosaic_scores = None if result.scores is None else result.scores.reshape(m, m)
            self._draw_overlay()
            if self.plane is not None:
                self.readout.setText(self._cursor_text(*self.cursor_uv(), self.cursor_point))

    def _draw_overlay(self) -> None:
        scores = self.mosaic_scores
        shown = self.overlay_check.isChecked() and scores is not None
        self.overlay_item.setVisible(shown)
        if not shown:
            return
        from ganviz_gui.core.losses import PROBABILISTIC_LOSSES

        # White is "undecided" (0.5, or a critic's 0); the colours stretch to the largest
        # departure from it, so a D near equilibrium still shows where it leans.
        centre = 0.5 if self.score_loss in PROBABILISTIC_LOSSES else 0.0
        spread = max(float(np.abs(scores - centre).max()), 0.02)
        levels = (centre - spread, centre + spread)
        self.overlay_check.setToolTip(
            f"D's verdict on every mosaic sample: blue real, red fake; "
            f"colours span {levels[0]:.3f} to {levels[1]:.3f}"
        )
        self.overlay_item.setImage(np.flipud(scores), autoLevels=False, levels=levels)
        e = self.extent()
        self.overlay_item.setRect(-e, -e, 2 * e, 2 * e)
