"""The window's check for the system libraries Qt's X11 (xcb) platform needs: on a Linux desktop
missing one, `ganviz` names them and the install command and exits 2 before Qt can abort the
process; elsewhere (not Linux, offscreen, no DISPLAY, a Wayland session) it never runs.

The dynamic loader is simulated: a probe stands in for ctypes.CDLL."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ganviz_gui.gui import system_libraries
from ganviz_gui.gui.system_libraries import (
    XCB_SONAMES,
    load_library,
    missing_libraries,
    missing_libraries_problem,
    platform_is_xcb,
)

X11_DESKTOP = {"DISPLAY": ":0"}


def probe_missing(*absent: str, blamed: dict[str, str] | None = None):
    """A loader that cannot find `absent`; `blamed`: a library that loads only when another,
    missing, one does (what the loader then reports is the other one)."""
    blamed = blamed or {}

    def probe(soname: str) -> str:
        return blamed.get(soname) or (soname if soname in absent else "")

    return probe


def probe_never_called(soname: str) -> str:
    raise AssertionError(f"the libraries were checked ({soname}) where Qt will not use xcb")


def test_missing_libraries_are_named_with_the_apt_and_dnf_commands():
    # What Debian 12 under X lacked in the adversarial run; Qt blamed libxcb-cursor0 instead.
    problem = missing_libraries_problem(
        X11_DESKTOP, "linux", probe_missing("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    )
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in problem
    assert "`sudo apt install libxcb-icccm4 libxcb-keysyms1`" in problem
    assert "`sudo dnf install xcb-util-wm xcb-util-keysyms`" in problem
    assert "libxcb-cursor" not in problem and "\n" not in problem


def test_a_library_missing_under_another_is_the_one_named():
    probe = probe_missing("libxcb-image.so.0", blamed={"libxcb-cursor.so.0": "libxcb-image.so.0"})
    assert missing_libraries(probe=probe) == ["libxcb-image.so.0"]
    problem = missing_libraries_problem(X11_DESKTOP, "linux", probe)
    assert "sudo apt install libxcb-image0`" in problem and "libxcb-cursor0" not in problem


def test_packages_shared_by_several_libraries_are_named_once():
    probe = probe_missing("libxcb-randr.so.0", "libxcb-shape.so.0", "libxcb-xkb.so.1")
    problem = missing_libraries_problem(X11_DESKTOP, "linux", probe)
    assert "sudo apt install libxcb-randr0 libxcb-shape0 libxcb-xkb1`" in problem
    assert "sudo dnf install libxcb`" in problem


def test_a_library_of_no_known_package_gets_the_search_commands():
    probe = probe_missing(blamed={"libX11.so.6": "libbsd.so.0"})
    problem = missing_libraries_problem(X11_DESKTOP, "linux", probe)
    assert "libbsd.so.0" in problem and "apt-file search libbsd.so.0" in problem
    assert "sudo apt install" not in problem


def test_nothing_missing_is_no_problem():
    assert missing_libraries_problem(X11_DESKTOP, "linux", probe_missing()) == ""


def test_every_library_qt_xcb_needs_is_checked():
    asked: list[str] = []
    missing_libraries(probe=lambda soname: asked.append(soname) or "")
    for soname in (
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
        "libxcb-image.so.0",
        "libxcb-render-util.so.0",
        "libxcb-xkb.so.1",
        "libxkbcommon-x11.so.0",
        "libxcb-randr.so.0",
        "libxcb-shape.so.0",
    ):
        assert soname in asked
    assert asked == list(XCB_SONAMES)


@pytest.mark.parametrize(
    ("environ", "platform"),
    [
        (X11_DESKTOP, "darwin"),
        (X11_DESKTOP, "win32"),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux"),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland"}, "linux"),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "wayland;xcb"}, "linux"),
        ({}, "linux"),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),
        # Xwayland sets DISPLAY too, but Qt 6 takes Wayland in a Wayland session
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux"),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux"),
    ],
)
def test_no_check_where_qt_will_not_use_xcb(environ, platform):
    assert not platform_is_xcb(environ, platform)
    assert missing_libraries_problem(environ, platform, probe_never_called) == ""


@pytest.mark.parametrize(
    "environ",
    [
        X11_DESKTOP,
        {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"},
        {"DISPLAY": ":1", "QT_QPA_PLATFORM": "xcb;wayland"},
        {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"},
    ],
)
def test_checked_where_qt_will_use_xcb(environ):
    assert platform_is_xcb(environ, "linux")
    problem = missing_libraries_problem(environ, "linux", probe_missing("libxcb-icccm.so.4"))
    assert "libxcb-icccm4" in problem


def test_the_real_loader_finds_the_c_library_and_not_a_made_up_one():
    assert load_library("libc.so.6") == ""
    assert load_library("libganviz-no-such-library.so.7") == "libganviz-no-such-library.so.7"


def test_ganviz_on_such_a_desktop_exits_2_before_qt_loads(monkeypatch, capsys):
    from ganviz_gui.cli import main
    from ganviz_gui.gui import app

    for name in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(
        system_libraries, "load_library", probe_missing("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
    )

    def qt_started(**kwargs):
        raise AssertionError("Qt was started on a desktop missing its libraries")

    monkeypatch.setattr(app, "run_app", qt_started)
    assert main([]) == 2
    assert main(["open", __file__]) == 2
    err = capsys.readouterr().err
    assert (
        "cannot open the window" in err and "sudo apt install libxcb-icccm4 libxcb-keysyms1" in err
    )


def test_the_readme_lists_every_package_the_check_names():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("sudo ")]
    listed = {word for line in commands for word in line.split()[3:]}
    for soname in XCB_SONAMES:
        assert system_libraries.APT_PACKAGE[soname] in listed, soname
        assert system_libraries.DNF_PACKAGE[soname] in listed, soname
