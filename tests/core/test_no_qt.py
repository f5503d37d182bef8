"""The engine runs with Qt refused.

That ganviz_gui.core never imports Qt (nor the GUI or the CLI) is stated as an import-linter
contract in pyproject.toml ([tool.importlinter]), checked by `lint-imports` in .ci/run.
"""

import os
import subprocess
import sys


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
