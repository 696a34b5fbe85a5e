"""The JSON API, one blueprint per module: a module here that defines ``bp`` is mounted."""

from __future__ import annotations

import importlib
import pkgutil

from flask import Blueprint


def api_blueprints() -> list[Blueprint]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        blueprint = getattr(importlib.import_module(f"{__name__}.{info.name}"), "bp", None)
        if isinstance(blueprint, Blueprint):
            found.append(blueprint)
    return found
