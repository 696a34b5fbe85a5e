"""``tpe`` and ``tpe-optuna`` at every front door: the CLI's choices, the API's schema and
the start page's sampler select."""

from __future__ import annotations

import subprocess
import sys

import optuna

from app import create_app
from backtune.optimize.config import RunConfig
from backtune.optimize.samplers import build_sampler
from backtune.optimize.tpe import TPESampler
from tests.conftest import LINK_15M


def config(sampler: str) -> RunConfig:
    return RunConfig.parse(
        {
            "data": str(LINK_15M),
            "strategy": "sma_cross",
            "sampler": sampler,
            "seed": 3,
            "workers": 2,
            "warmup_trials": 7,
        }
    )


def test_tpe_is_backtunes_and_tpe_optuna_is_optunas_with_the_same_settings():
    ours, theirs = build_sampler(config("tpe"), 1), build_sampler(config("tpe-optuna"), 1)
    assert type(ours) is TPESampler and type(theirs) is optuna.samplers.TPESampler
    assert (ours._n_startup_trials, ours._constant_liar, ours._multivariate) == (7, True, True)
    assert (theirs._n_startup_trials, theirs._constant_liar, theirs._multivariate) == (7, True, True)
    assert ours._rng.randint(1 << 30) == theirs._rng.rng.randint(1 << 30)  # both seeded 3 + 1


def test_the_api_and_the_start_page_offer_the_optuna_reference(tmp_path):
    (tmp_path / "data").mkdir()
    client = create_app({"home": str(tmp_path)}).test_client()
    schema = client.get("/api/openapi.json").get_json()
    assert "tpe-optuna" in str(schema)
    page = client.get("/").get_data(as_text=True)
    assert '<option value="tpe-optuna">TPE (Optuna reference)</option>' in page


def test_the_cli_accepts_tpe_optuna():
    usage = subprocess.run([sys.executable, "-m", "app", "optimize", "--help"], capture_output=True, text=True)
    assert "tpe-optuna" in usage.stdout
