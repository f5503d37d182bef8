"""Whether this Linux desktop has the system libraries Qt's X11 (xcb) platform needs.

Without one of them Qt does not raise: it prints "Could not load the Qt platform plugin "xcb""
(often blaming the wrong library, libxcb-cursor0 when libxcb-icccm4 was missing) and aborts the
process (exit 134). So the window asks the dynamic loader first and, when something is missing,
says which libraries and the command that installs them. No Qt import here: this runs before
Qt is loaded, and must work where Qt cannot.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

# What Qt 6's xcb platform loads besides Qt itself and the C/C++ runtime: the NEEDED entries
# of PySide6 6.11's plugins/platforms/libqxcb.so, lib/libQt6XcbQpa.so.6 and lib/libQt6Gui.so.6
# (`readelf -d`), with the package that installs each on Debian/Ubuntu (apt) and Fedora (dnf).
# Not libxcb-xinerama: Qt 5 needed it, Qt 6 does not.
XCB_PLATFORM_LIBRARIES: tuple[tuple[str, str, str], ...] = (
    ("libxcb.so.1", "libxcb1", "libxcb"),
    ("libX11.so.6", "libx11-6", "libX11"),
    ("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    ("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    ("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    ("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    ("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    ("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    ("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    ("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    ("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    ("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    ("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    ("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    ("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    ("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    ("libGL.so.1", "libgl1", "libglvnd-glx"),
    ("libEGL.so.1", "libegl1", "libglvnd-egl"),
    ("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    ("libfreetype.so.6", "libfreetype6", "freetype"),
    ("libglib-2.0.so.0", "libglib2.0-0", "glib2"),
    ("libgthread-2.0.so.0", "libglib2.0-0", "glib2"),
)
# Libraries those need in turn, named when the loader reports one of them missing.
_DEPENDENCIES: tuple[tuple[str, str, str], ...] = (
    ("libXau.so.6", "libxau6", "libXau"),
    ("libXdmcp.so.6", "libxdmcp6", "libXdmcp"),
)
XCB_SONAMES = tuple(soname for soname, _, _ in XCB_PLATFORM_LIBRARIES)
APT_PACKAGE = {soname: apt for soname, apt, _ in XCB_PLATFORM_LIBRARIES + _DEPENDENCIES}
DNF_PACKAGE = {soname: dnf for soname, _, dnf in XCB_PLATFORM_LIBRARIES + _DEPENDENCIES}

# glibc's dlopen error names the file it could not find: the library asked for, or one it needs.
_NOT_FOUND = re.compile(r"^\s*(\S+?\.so[.\d]*): cannot open shared object file")

# Asked with a library's soname: "" when it loads, else the soname of the library that is missing
# (the one asked for or one it needs).
LibraryProbe = Callable[[str], str]


def platform_is_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will start on its X11 (xcb) platform: Linux with DISPLAY set and neither
    QT_QPA_PLATFORM naming another platform nor a Wayland session (which Qt 6 prefers)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or not environ.get("DISPLAY"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        # "xcb", "xcb:option=value", or a list tried in order ("wayland;xcb")
        return requested.split(";")[0].split(":")[0].strip() == "xcb"
    # Qt 6 takes Wayland in a Wayland session; XDG_SESSION_TYPE=x11 makes it take xcb.
    return not environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "x11"


def missing_libraries(
    sonames: Iterable[str] = XCB_SONAMES, probe: LibraryProbe | None = None
) -> list[str]:
    """The libraries among `sonames` (or needed by them) the dynamic loader cannot find."""
    probe = probe or load_library
    missing: list[str] = []
    for soname in sonames:
        absent = probe(soname)
        if absent and absent not in missing:
            missing.append(absent)
    return missing


def load_library(soname: str) -> str:
    """Load `soname`: "" when it loads, else the soname the loader could not find (it or one it
    needs). Besides the loader's own path, the folders Qt itself loads from are tried:
    PySide6's Qt/lib and, in the double-click application, the folder PyInstaller unpacked it
    into."""
    absent = soname
    for candidate in (soname, *(str(folder / soname) for folder in _bundled_folders())):
        if candidate != soname and not Path(candidate).is_file():
            continue
        try:
            ctypes.CDLL(candidate)
        except OSError as exc:
            found = _NOT_FOUND.match(str(exc))
            absent = Path(found.group(1)).name if found else soname
            continue
        return ""
    return absent


def _bundled_folders() -> list[Path]:
    folders = []
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        folders.append(Path(sys._MEIPASS))
    try:
        spec = importlib.util.find_spec("PySide6")  # finds the package without importing Qt
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        folders.append(Path(spec.origin).parent / "Qt" / "lib")
    return folders


def missing_libraries_problem(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    probe: LibraryProbe | None = None,
) -> str:
    """What to install before the window can open on X11, or "" when nothing is missing (or Qt
    will not use xcb here)."""
    if not platform_is_xcb(environ, platform):
        return ""
    missing = missing_libraries(probe=probe)
    if not missing:
        return ""
    message = f"Qt's X11 (xcb) platform needs system libraries missing here: {', '.join(missing)}."
    known = [soname for soname in missing if soname in APT_PACKAGE]
    if known:
        apt = _unique(APT_PACKAGE[soname] for soname in known)
        dnf = _unique(DNF_PACKAGE[soname] for soname in known)
        message += (
            f" Install them with `sudo apt install {' '.join(apt)}` (Debian, Ubuntu) or "
            f"`sudo dnf install {' '.join(dnf)}` (Fedora)"
        )
    unknown = [soname for soname in missing if soname not in APT_PACKAGE]
    if unknown:
        first = unknown[0]
        message += (
            f"{'; for' if known else ' For'} {', '.join(unknown)}, the package that provides "
            f"it: `apt-file search {first}` or `dnf provides '*/{first}'`"
        )
    return message + ", then start GANViz again."


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
