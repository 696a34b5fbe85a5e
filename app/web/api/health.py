"""Liveness and readiness for load balancers and the Docker HEALTHCHECK."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready when the data and runs folders are writable (jobs can be accepted)."""
    settings = current_app.config["SETTINGS"]
    problems = [str(folder) for folder in (settings.data_dir, settings.runs_dir) if not os.access(folder, os.W_OK)]
    if problems:
        return jsonify({"status": "not ready", "unwritable": problems}), 503
    return jsonify({"status": "ready"})
