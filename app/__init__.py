"""Backtune's front doors: the command line (``python -m app``) and the web app.

``create_app`` imports Flask only when called, so the CLI and the optimisation workers
(which import this package when spawned from ``python -m app``) never pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def create_app(config: Mapping[str, Any] | None = None):
    """The WSGI application; ``config`` overrides settings read from the environment."""
    from app.web.factory import build_app

    return build_app(config)
