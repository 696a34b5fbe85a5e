"""Building the Flask app: settings, blueprints, error handling, start-up recovery."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from app.settings import Settings
from app.web.api import api_blueprints
from app.web.auth import bp as auth_bp
from app.web.auth import require_token
from app.web.body_limits import limit_bodies
from app.web.dashboard import mount_dashboard
from app.web.errors import register_error_handlers
from app.web.pages import bp as pages_bp
from app.web.security import BrowserProtection
from app.web.server_paths import hide_server_paths
from backtune.jobs.recovery import recover_interrupted
from backtune.jobs.scheduler import schedule
from backtune.jobs.store import JobStore

log = logging.getLogger("backtune.web")


def build_app(config: Mapping[str, Any] | None = None) -> Flask:
    settings = Settings.from_env(overrides=config)
    settings.ensure_dirs()
    app = Flask(
        "backtune",
        static_url_path="/assets",
        static_folder=str(_root() / "static"),
        template_folder=str(_root() / "templates"),
    )
    app.config["SETTINGS"] = settings
    app.config["JOBS"] = JobStore(settings.runs_dir)
    register_error_handlers(app)
    hide_server_paths(app)
    limit_bodies(app)
    if settings.api_token:
        require_token(app, settings.api_token)
    for blueprint in api_blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(pages_bp)
    app.register_blueprint(auth_bp)
    mount_dashboard(app)
    app.wsgi_app = BrowserProtection(app.wsgi_app, settings.trusted_origins)  # type: ignore[method-assign]
    recovered = recover_interrupted(app.config["JOBS"])
    if recovered:
        log.warning("marked %d job(s) interrupted at start-up: %s", len(recovered), ", ".join(recovered))
    schedule(app.config["JOBS"], settings.max_jobs)
    return app


def _root() -> Path:
    return Path(__file__).resolve().parents[2]
