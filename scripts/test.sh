#!/usr/bin/env bash
# Installs GANViz with its test tools, then runs the whole test suite headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev
python3 -m pytest -q "$@"
