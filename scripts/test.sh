#!/usr/bin/env bash
# The whole test suite on a fresh machine: servers, virtualenv, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-servers.sh
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -q "$@"
