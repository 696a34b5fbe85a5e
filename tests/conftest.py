"""Shared fixtures: the real data files (kept in tests/data) every parity test and benchmark uses."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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
