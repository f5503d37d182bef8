#!/usr/bin/env bash
# The engine on a CUDA machine, end to end through the command line, plus the engine tests
# with Qt refused and the trainer-versus-minimal-loop benchmark on the GPU.
# Needs torch with CUDA, numpy, Pillow, tqdm, pytest; GANViz itself runs from the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD GANVIZ_HOME=${GANVIZ_HOME:-$(mktemp -d)} PYTHONUNBUFFERED=1
out=${OUT:-$(mktemp -d)}
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))"
python3 -m ganviz_gui train --dataset ring8 --steps 1000 --device cuda --run-dir "$out/ring8"
python3 -m ganviz_gui train --dataset digits --model dcgan --steps 600 --device auto --run-dir "$out/digits"
python3 -m ganviz_gui train --resume "$out/digits/checkpoints/step_00000600.pt" --steps 800
python3 -m ganviz_gui evaluate "$out/digits/checkpoints/step_00000800.pt"
python3 -m ganviz_gui info "$out/ring8/checkpoints/step_00001000.pt"
python3 -m ganviz_gui sample "$out/digits/checkpoints/step_00000800.pt" -n 64 --out "$out/digits_grid.png"
python3 -m ganviz_gui train --dataset digits --model dcgan --image-size 64 --steps 300 --device cuda \
    --run-dir "$out/digits64" --set sample_every=1000 --set checkpoint_every=1000
python3 -m ganviz_gui train --dataset ring8 --steps 5 --device cuda:9 && exit 1 || echo "cuda:9 refused as expected"
GANVIZ_BLOCK_QT=1 python3 -m pytest -q -p no:pytest-qt -p no:cacheprovider tests/core -m "not slow"
python3 benchmarks/bench_engine.py --device cuda --repeats 5 --steps 200
