"""docker-compose.yml, checked without Docker: its services and commands against the real
CLI and settings (the file is what `docker compose up --scale worker=4` runs)."""

from __future__ import annotations

import re

import yaml
from sqlalchemy.engine import make_url

from app.cli import build_parser
from app.settings import Settings
from tests.helpers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]


def substituted(text: str) -> str:
    """Compose's ``${VAR:-default}`` with the defaults, ``${VAR:?message}`` as a placeholder."""
    text = re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", text)
    return re.sub(r"\$\{(\w+):\?[^}]*\}", r"<\1>", text)


def test_postgres_web_and_a_scalable_worker():
    assert set(SERVICES) == {"postgres", "web", "worker"}
    worker = SERVICES["worker"]
    # Replicas cannot share a container name or a host port.
    assert "container_name" not in worker and "ports" not in worker
    assert SERVICES["web"]["build"] == worker["build"] == "." and (ROOT / "Dockerfile").is_file()


def test_the_worker_command_is_the_cli_s_and_reaches_the_web_service():
    command = SERVICES["worker"]["command"]
    assert command[:3] == ["python", "-m", "app"]
    args = build_parser().parse_args(command[3:])
    assert args.command == "worker" and args.any and args.job is None and args.workers >= 1
    server = make_url(args.server.replace("http://", "postgresql://"))  # host and port of a URL
    assert server.host == "web"
    assert any(port.split(":")[-1] == str(server.port) for port in SERVICES["web"]["ports"])
    assert SERVICES["worker"]["environment"]["BACKTUNE_API_TOKEN"] == "${BACKTUNE_API_TOKEN:?set BACKTUNE_API_TOKEN}"


def test_the_web_app_keeps_jobs_in_the_postgres_service():
    web = {k: substituted(v) for k, v in SERVICES["web"]["environment"].items()}
    postgres = {k: substituted(v) for k, v in SERVICES["postgres"]["environment"].items()}
    settings = Settings.from_env(web, {"home": str(ROOT / "var-compose-test")})
    url = make_url(settings.database_url)
    assert (url.get_backend_name(), url.get_driver_name()) == ("postgresql", "psycopg")
    assert url.host == "postgres" and url.port == 5432
    assert (url.username, url.password, url.database) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert settings.api_token == "<BACKTUNE_API_TOKEN>"
    assert SERVICES["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
