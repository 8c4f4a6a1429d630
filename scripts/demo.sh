#!/usr/bin/env bash
# Fresh machine to a running demo: install into .venv, then process the bundled sample mailbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/inboxbot demo --out demo-out "$@"
