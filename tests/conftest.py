"""Shared fixtures: the real data files (kept in tests/data) every parity test and benchmark
uses, the Flask app and its test client, and a live gunicorn server.

A module adapts the app by overriding ``home`` (lay out its data folder) or
``app_settings`` (its limits), and the live server by overriding ``live_home`` or
``live_env``; shared helpers that are not fixtures live in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
LINK_15M = DATA / "okx_linkusdt_p_15m_2025-05-01_2025-11-20.csv"
SUI_30M = DATA / "okx_suiusdt_p_30m_2025-01-01_2026-02-01.csv"
TRAILING_MA_CASE = DATA / "reference" / "trailing_ma_link15m"


@pytest.fixture(scope="session", autouse=True)
def journal_dir():
    """Live journals of the test runs go to a tmpfs folder of this session (as the product
    uses tmpfs), removed at the end, so killed or abandoned test runs leave nothing behind.
    Set in os.environ because spawned workers and coordinator processes read it too."""
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="backtune-tests-", dir=shm if shm.is_dir() else None))
    previous = os.environ.get("BACKTUNE_JOURNAL_DIR")
    os.environ["BACKTUNE_JOURNAL_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("BACKTUNE_JOURNAL_DIR", None)
    else:
        os.environ["BACKTUNE_JOURNAL_DIR"] = previous
    shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs a live server, a browser or PostgreSQL is slow too, so that
    ``pytest -m "not slow"`` is the quick loop (markers: pyproject.toml)."""
    for item in items:
        if any(item.get_closest_marker(name) for name in ("e2e", "browser", "postgres")):
            item.add_marker(pytest.mark.slow)


def backtesting_csv(name: str) -> Path:
    """A CSV bundled with backtesting.py (GOOG, EURUSD, BTCUSD)."""
    import backtesting.test

    return Path(backtesting.test.__file__).parent / f"{name}.csv"


@pytest.fixture(scope="session")
def link_bars():
    from backtune.data.loader import load_csv

    return load_csv(LINK_15M).bars


@pytest.fixture(scope="session")
def sui_bars():
    from backtune.data.loader import load_csv

    return load_csv(SUI_30M).bars


@pytest.fixture(scope="session")
def trailing_ma_case() -> Path:
    return TRAILING_MA_CASE


@pytest.fixture(scope="session", autouse=True)
def exchanges_follow_the_contract():
    """Every request a test makes that the server accepts, and its answer, must match
    /api/openapi.json (tests/contract.py): drift between the API and its document fails."""
    from tests.contract import held_to_the_contract

    with held_to_the_contract():
        yield


# --- the web app ----------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The app's home folder (datasets, runs)."""
    return tmp_path


@pytest.fixture
def app_settings(home: Path) -> dict[str, Any]:
    """What ``create_app`` is given."""
    return {"home": home}


@pytest.fixture
def app(app_settings: dict[str, Any]):
    from app import create_app

    return create_app(app_settings)


@pytest.fixture
def client(app):
    return app.test_client()


# --- a live server: gunicorn on a free port, as the Docker image runs it ----------------------


@pytest.fixture(scope="module")
def live_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live") / "home"


@pytest.fixture(scope="module")
def live_env(live_home: Path) -> dict[str, str]:
    """The server's BACKTUNE_* settings."""
    return {"BACKTUNE_MAX_JOBS": "1", "BACKTUNE_MAX_WORKERS": "2", "BACKTUNE_JOURNAL_DIR": str(live_home / "journals")}


@pytest.fixture(scope="module")
def server(live_home: Path, live_env: dict[str, str]) -> Iterator[Any]:
    """One server for the module's tests (starting gunicorn takes seconds)."""
    from tests.live_server import LiveServer

    with LiveServer(live_home, **live_env) as live:
        yield live


# --- a real browser: Debian's Chromium driven by Playwright --------------------------------


@pytest.fixture(scope="module")
def browser():
    from tests.helpers import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip

    with playwright_or_skip().sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: BACKTUNE_SCREENSHOTS=docs/screenshots refreshes the README's."""
    folder = Path(os.environ.get("BACKTUNE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def tab(browser, server):
    """A page on the live server; the test fails if the page logged a console error."""
    from tests.helpers import Tab

    opened = Tab(browser, server)
    yield opened
    opened.close()
    assert not opened.errors, "console errors:\n" + "\n".join(opened.errors)
