#!/usr/bin/env bash
# Install, then backtest both strategies on the sample data backtesting.py ships.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
goog=$(.venv/bin/python -m app samples --path GOOG)
.venv/bin/python -m app backtest --data "$goog" --strategy sma_cross --capital 10000 --commission 0.002
.venv/bin/python -m app backtest --data "$goog" --strategy trailing_ma --capital 10000 --commission 0.001
