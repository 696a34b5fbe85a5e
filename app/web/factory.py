"""Building the Flask app: settings, blueprints, error handling, start-up recovery."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from app.settings import Settings
from app.web.api import api_blueprints
from app.web.auth import require_token
from app.web.dashboard import mount_dashboard
from app.web.errors import register_error_handlers
from app.web.pages import bp as pages_bp
from backtune.jobs.recovery import recover_interrupted
from backtune.jobs.scheduler import schedule
from backtune.jobs.store import JobStore

log = logging.getLogger("backtune.web")


def build_app(config: Mapping[str, Any] | None = None) -> Flask:
    settings = Settings.from_env(overrides=config)
    settings.ensure_dirs()
    app = Flask("backtune", static_url_path="/assets", static_folder=str(_root() / "static"),
                template_folder=str(_root() / "templates"))
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_mb * 1024 * 1024
    app.config["JOBS"] = JobStore(settings.runs_dir)
    register_error_handlers(app)
    if settings.api_token:
        require_token(app, settings.api_token)
    for blueprint in api_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(pages_bp)
    mount_dashboard(app)
    recovered = recover_interrupted(app.config["JOBS"])
    if recovered:
        log.warning("marked %d job(s) interrupted at start-up: %s", len(recovered), ", ".join(recovered))
    schedule(app.config["JOBS"], settings.max_jobs)
    return app


def _root() -> Path:
    return Path(__file__).resolve().parents[2]
