"""Backtune's core: data loading, the backtest engine, metrics, optimisation and jobs.

This package never imports Flask, so the CLI, the web app and remote optimisation
workers all run the very same code.
"""
