#!/usr/bin/env bash
# The test command: install what is needed, then run the whole default suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
