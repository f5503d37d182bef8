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
# Outside a virtual environment pip would write into the system's (or the user's) Python:
# say so, with the two commands that make one, but go on (a container may want exactly that).
if ! python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' && [ -z "${CONDA_PREFIX:-}" ]; then
    echo "note: installing into $(python3 -c 'import sys; print(sys.prefix)'), not a virtual" \
        "environment; to keep GANViz apart: python3 -m venv .venv && source .venv/bin/activate" >&2
fi
torch_spec=${GANVIZ_TORCH:-torch==2.13.0}
# GANVIZ_TORCH_BUILD=cpu (or cu126, cu128, ...) takes torch from PyTorch's own index for that
# build: PyPI's Linux wheel is the CUDA one, several GB, even on a machine without a GPU.
if [ -n "${GANVIZ_TORCH_BUILD:-}" ]; then
    torch_spec=${GANVIZ_TORCH:-torch>=2.10}
    python3 -m pip install --quiet --index-url "https://download.pytorch.org/whl/${GANVIZ_TORCH_BUILD}" "$torch_spec"
fi
python3 -m pip install --quiet "${local_wheels[@]}" "$torch_spec" -e ".${extras}"
