"""Backtune's front doors: the command line (``python -m app``) and, later, the web app."""
