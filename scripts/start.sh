#!/usr/bin/env bash
# Install, then serve the web app under gunicorn on port 8000, started as the Docker image
# starts it (scripts/container.sh start). Loopback only unless BACKTUNE_BIND says otherwise
# (e.g. 0.0.0.0:8000); jobs and datasets go to var/ unless BACKTUNE_HOME does. The sample
# datasets (GOOG, EURUSD, BTCUSD) are listed from the first request.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export BACKTUNE_BIND="${BACKTUNE_BIND:-127.0.0.1:8000}" PATH="$PWD/.venv/bin:$PATH"
url="http://${BACKTUNE_BIND/0.0.0.0/localhost}"
echo "Backtune at $url: the dashboard at $url/dashboard, the API at $url/api/ (docs/api.md). Ctrl-C stops."
exec bash scripts/container.sh start
