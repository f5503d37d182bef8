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

TOUR = """
<h3>A tour of GANViz</h3>
<p><b>Setup</b> (left): pick a preset or any data, model, loss and rates, then press
<b>Start</b> (Space). The 8 Gaussians preset trains in under a minute on a laptop CPU.</p>
<p><b>Plots</b> (middle): the losses, D's outputs on real and generated samples, the gradient
norms, the learning rates and the quality measures, smoothed as TensorBoard does. Dashed lines
mark live changes of settings; red shading marks what the Diagnostics found. Click a plot to
jump an opened run to that step.</p>
<p><b>2D field</b>: for 2D data, D's output over the plane (blue: real), the real and the
generated points, G's manifold (a grid of latent space mapped through G) and the direction G's
gradient pushes each point.</p>
<p><b>Samples</b>: the run's fixed-noise samples with D's verdict on each; click one to enlarge
it, see its nearest training images, and send its latent to the explorer.</p>
<p><b>Latent explorer</b>: a plane through latent space, as a mosaic of samples (or, for 2D
data, as G's deformed mesh); drag the cursor to decode, overlay D(G(z)), interpolate, bookmark.</p>
<p><b>Compare</b>: two checkpoints of a run on the same latents: side by side, their
difference, or blinking.</p>
<p><b>Networks</b>: G's and D's layers, each layer's gradient norm over the run, weight and
gradient histograms, D's verdict histograms, and a forward pass taken apart (activations and
D's saliency).</p>
<p><b>Diagnostics</b>: the newest quality numbers and findings such as mode collapse or a
discriminator that wins too easily, with the evidence and what to try.</p>
<p><b>File &gt; Open</b> (Ctrl+O) inspects a checkpoint, a run folder or a generator you did
not train here; <b>File &gt; Open example</b> shows a small digits run trained by GANViz. The
step slider at the bottom then scrubs through the run.</p>
"""


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
