"""Liveness and readiness for load balancers and the Docker HEALTHCHECK."""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify

from app.web.contract.models.common import Health
from app.web.contract.registry import Answer, operation

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@operation("health", "Liveness", replies={200: Health}, open=True)
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@operation(
    "health",
    "Readiness: data and runs folders writable",
    open=True,
    replies={200: Health, 503: Answer(Health, "Not ready")},
)
def readyz():
    """Ready when the data and runs folders are writable (jobs can be accepted). They are
    named by their settings: this path is open to anyone, and a server's folders are not."""
    settings = current_app.config["SETTINGS"]
    folders = {"BACKTUNE_DATA_DIR": settings.data_dir, "BACKTUNE_RUNS_DIR": settings.runs_dir}
    problems = [name for name, folder in folders.items() if not os.access(folder, os.W_OK)]
    if problems:
        return jsonify({"status": "not ready", "unwritable": problems}), 503
    return jsonify({"status": "ready"})
