#!/usr/bin/env bash
# Installs GANViz (editable) and its dependencies into the active Python environment.
# Usage: bash scripts/install.sh [extras]     e.g. bash scripts/install.sh dev
#
# torch is pinned here to 2.13.0: on machines with that CPU wheel on disk it installs in
# seconds, where an open range would pull a multi-GB CUDA build. pyproject.toml keeps a range
# (torch>=2.10) for everyone else; set GANVIZ_TORCH="torch>=2.10" to use it.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:+[$1]}
local_wheels=()
# Where these machines keep the torch wheel; harmless elsewhere (pip skips an absent folder).
[ -d /opt/wheels ] && local_wheels=(--find-links /opt/wheels)
python3 -m pip install --quiet "${local_wheels[@]}" "${GANVIZ_TORCH:-torch==2.13.0}" -e ".${extras}"
