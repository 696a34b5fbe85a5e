"""Overfitting statistics and robustness checks of an optimisation run (docs/robustness.md)."""
