#!/usr/bin/env bash
# The whole test suite on a fresh machine: servers, virtualenv, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-servers.sh
bash scripts/setup.sh --test
# The servers were just installed: a missing one is a failure here, never a skip.
export INBOXBOT_REQUIRE_RIG=1
exec .venv/bin/python -m pytest -q "$@"
