"""Parameter optimisation on top of Optuna: running studies and exporting their results."""
