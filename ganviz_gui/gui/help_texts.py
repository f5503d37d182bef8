"""What the Help menu says: a tour of the panels, the keyboard shortcuts, and the versions in
the About box. Kept apart from the window so the words are easy to find and change."""

from __future__ import annotations

import platform
import sys

# (key, what it does) in the order the Help menu lists them; the Run menu's actions use these.
SHORTCUTS = (
    ("Space", "Start a run, or pause and resume it"),
    ("S", "One step: D's updates, then G's"),
    ("D", "One discriminator update only"),
    ("G", "One generator update only"),
    ("Ctrl+.", "Stop the run (a checkpoint is saved)"),
    ("Ctrl+S", "Save a checkpoint now"),
    ("Ctrl+O", "Open a checkpoint or generator file"),
    ("Ctrl+Shift+O", "Open a run folder"),
    ("F1", "This tour of the panels"),
    ("Ctrl+Q", "Quit (a running run is stopped and saved)"),
)

# Help > Tour (F1), one step per part of the window: (the part, its title, what to know). The
# tour (gui/tour.py) raises and outlines the part each step names.
TOUR_STEPS = (
    ("setup", "Setup", "<p>Pick a preset, or any data, model, loss and learning rates, then "
     "press <b>Start</b> (Space). The 8 Gaussians preset trains in under a minute on a laptop "
     "CPU. The rates, the loss, D's steps per G step and the number of steps can be changed "
     "while a run trains.</p>"),
    ("controls", "Run controls", "<p>Start, pause and stop the run, or advance it by hand: "
     "<b>Step</b> (S) makes one iteration, <b>Step D</b> and <b>Step G</b> (D, G) update one "
     "network only. Stopping (Ctrl+.) and <b>Save checkpoint</b> (Ctrl+S) write a checkpoint "
     "into the run folder.</p>"),
    ("plots", "Plots", "<p>The losses, D's outputs on real and generated samples, the gradient "
     "norms, the learning rates and the quality measures, smoothed as TensorBoard does. Dashed "
     "lines mark live changes of settings; red shading marks what the Diagnostics found. Click "
     "a plot to jump an opened run to that step.</p>"),
    ("field", "2D field", "<p>For 2D data: D's output over the plane (blue: real), the real and "
     "the generated points, G's manifold (a grid of latent space mapped through G) and the "
     "direction G's gradient pushes each point.</p>"),
    ("samples", "Samples", "<p>The run's fixed-noise samples with D's verdict on each, the real "
     "samples beside them if you like. Click one to send its latent to the explorer, "
     "double-click it to enlarge it and see its nearest training images.</p>"),
    ("explorer", "Latent explorer", "<p>A plane through latent space, as a mosaic of samples (or, "
     "for 2D data, as G's deformed mesh): drag the cursor to decode, overlay D(G(z)), "
     "interpolate between two latents, bookmark the ones worth keeping. It also opens "
     "generators you did not train here (File &gt; Open).</p>"),
    ("compare", "Compare", "<p>Two checkpoints of an opened run on the same latents: side by "
     "side, their difference, or blinking. A is the step slider's checkpoint, B the one chosen "
     "here.</p>"),
    ("networks", "Networks", "<p>G's and D's layers, each layer's gradient norm over the run, "
     "weight and gradient histograms, D's verdict histograms, and a forward pass taken apart "
     "(activations and D's saliency).</p>"),
    ("diagnostics", "Diagnostics", "<p>The newest quality numbers and findings such as mode "
     "collapse or a discriminator that wins too easily, with the evidence and what to "
     "try.</p>"),
    ("scrubber", "Step slider", "<p>Once a run is opened (File &gt; Open run folder, or File "
     "&gt; Open example), a slider at the bottom of the window scrubs through its checkpoints; "
     "<b>Play</b> steps through them. Every panel shows the slider's step.</p>"),
    ("status", "Status bar", "<p>Where the run stands: its step, steps per second, the time left "
     "and the time spent, the device it trains on, and a link to its run folder.</p>"),
    ("menus", "Menus", "<p><b>File &gt; Open</b> (Ctrl+O) inspects a checkpoint or a generator "
     "file, <b>Open run folder</b> a run (also one your own loop writes, or a TensorBoard log), "
     "<b>Follow run folder</b> one another process is writing. <b>View</b> shows hidden panels "
     "and picks the theme; <b>Help</b> has this tour (F1) and the keyboard shortcuts.</p>"),
)  # fmt: skip


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{key}</b></td><td>{text}</td></tr>" for key, text in SHORTCUTS)
    return f"<h3>Keyboard shortcuts</h3><table cellspacing='6'>{rows}</table>"


def about_html(device: str) -> str:
    """The versions in use and the device training runs on, for bug reports."""
    import numpy
    import pyqtgraph
    import PySide6
    from PySide6.QtCore import qVersion

    from ganviz_gui import __version__

    torch_version = sys.modules["torch"].__version__ if "torch" in sys.modules else "loading"
    rows = (
        ("GANViz", __version__),
        ("PyTorch", torch_version),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("pyqtgraph", pyqtgraph.__version__),
        ("NumPy", numpy.__version__),
        ("Python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
        ("Device", device),
        ("Frozen build", "yes" if getattr(sys, "frozen", False) else "no (from source)"),
    )
    table = "".join(f"<tr><td><b>{name}</b></td><td>{value}</td></tr>" for name, value in rows)
    return (
        "<h3>GANViz</h3><p>A desktop lab for watching GANs learn and taking their checkpoints "
        f"apart.</p><table cellspacing='4'>{table}</table>"
    )
