#!/usr/bin/env bash
# Builds the double-click application (dist/GANViz/) with PyInstaller, prints its size and runs
# the built app's self-test. Usage: bash scripts/build_app.sh
#
# It installs GANViz with the CPU build of torch (torch==2.13.0, as scripts/install.sh does);
# set GANVIZ_TORCH to build with another, e.g. GANVIZ_TORCH="torch>=2.10" for the newest.
set -euo pipefail
cd "$(dirname "$0")/.."
local_wheels=()
[ -d /opt/wheels ] && local_wheels=(--find-links /opt/wheels)
python3 -m pip install --quiet "${local_wheels[@]}" "${GANVIZ_TORCH:-torch==2.13.0}" -e . \
    "pyinstaller>=6.10,<7"

started=$(date +%s)
python3 -m PyInstaller --noconfirm --clean --log-level WARN build.spec
echo "built dist/GANViz in $(( $(date +%s) - started )) s"
echo "bundle size: $(du -sh dist/GANViz | cut -f1) ($(find dist/GANViz -type f | wc -l) files)"

executable=dist/GANViz/GANViz
[ -x "$executable" ] || executable=dist/GANViz/GANViz.exe
started=$(date +%s)
QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} "$executable" --self-test
echo "self-test of the built app: passed in $(( $(date +%s) - started )) s"
