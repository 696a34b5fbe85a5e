"""Trading strategies, one module each; ``backtune.registry`` discovers them.

See docs/strategies.md for how to write one.
"""
