"""The questions the window asks: which file or folder to open, and whether to trust code."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ganviz_gui.core.app_dirs import runs_dir

GENERATOR_FILES = "PyTorch files (*.pt *.pth *.ckpt *.tar);;All files (*)"


def ask_generator_file(parent: QWidget) -> str:
    """A checkpoint or generator file to open ("" if none was chosen)."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Open a checkpoint or generator", str(runs_dir()), GENERATOR_FILES
    )
    return path


def ask_folder(parent: QWidget, title: str) -> str:
    """A run folder, starting where GANViz keeps its runs ("" if none was chosen)."""
    return QFileDialog.getExistingDirectory(parent, title, str(runs_dir()))


def confirm_trust(parent: QWidget, path: str, why: str = "") -> bool:
    """A file that runs code when loaded (TorchScript, torch.export), or a StyleGAN pickle of
    edited code: opened only with the user's word. `why`: the reader's reason, shown."""
    reason = why.split(": ", 1)[1] if why.startswith(path) and ": " in why else why
    answer = QMessageBox.question(
        parent,
        "Open a file that needs your trust?",
        f"{path}\n\n"
        + (
            f"{reason[0].upper()}{reason[1:]}.\n\n"
            if reason
            else "It is, or its run holds, a TorchScript model (a generator class GANViz does "
            "not know, saved as a program). Such a file carries code, which runs when it is "
            "opened.\n\n"
        )
        + "Open it only if you trust where it came from. Open it? (A run folder is asked "
        "about once.)",
    )
    return answer == QMessageBox.StandardButton.Yes
