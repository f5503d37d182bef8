"""The engine imports no Qt: checked statically and by running it with Qt refused."""

import os
import re
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "ganviz_gui" / "core"


def test_core_sources_never_import_qt():
    pattern = re.compile(r"^\s*(from|import)\s+(PySide6|shiboken6|pyqtgraph|PyQt)", re.MULTILINE)
    offenders = [str(p) for p in CORE.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_engine_and_cli_run_with_qt_refused(tmp_path):
    script = f"""
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'):
            raise ImportError('Qt refused for this test')
sys.meta_path.insert(0, Refuse())
from ganviz_gui.cli import main
code = main(['train', '--dataset', 'ring8', '--steps', '5', '--run-dir', {str(tmp_path / "run")!r},
             '--set', 'g_hidden=8', '--set', 'd_hidden=8', '--threads', '1'])
assert code == 0, code
assert not any(m.split('.')[0] in ('PySide6', 'pyqtgraph') for m in sys.modules)
print('ok')
"""
    env = {**os.environ, "GANVIZ_HOME": str(tmp_path / "home")}
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().endswith("ok")
