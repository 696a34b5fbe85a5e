"""The backtest engine: strategies describe signals, one jitted kernel executes them."""
