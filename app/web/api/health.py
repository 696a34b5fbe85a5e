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
    """Ready when the data and runs folders are writable (jobs can be accepted). They are
    named by their settings: this path is open to anyone, and a server's folders are not."""
    settings = current_app.config["SETTINGS"]
    folders = {"BACKTUNE_DATA_DIR": settings.data_dir, "BACKTUNE_RUNS_DIR": settings.runs_dir}
    problems = [name for name, folder in folders.items() if not os.access(folder, os.W_OK)]
    if problems:
        return jsonify({"status": "not ready", "unwritable": problems}), 503
    return jsonify({"status": "ready"})
