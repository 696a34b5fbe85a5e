"""The drift test for the UI: every body the start page sends must fit /api/openapi.json.

The real page in Chromium builds the bodies (static/js/run-request.js from the form as a
trader fills it: each strategy, each budget mode, several targets, a date window, a
profit filter, every parameter searched, and walk-forward runs by calendar and by count).
Each body is caught on its way out and checked against the published schema, which
refuses properties it does not declare; then it is sent to the server for real, which
must accept it. A field the UI sends that the schema lacks, or a shape the server
refuses, fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from app.web.contract.models.optimize import OptimizeRequest
from app.web.contract.models.walkforward import WalkForwardRequest
from tests.contract import Contract
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip
from tests.live_server import LiveServer

sync_api = playwright_or_skip()
expect = sync_api.expect


def fill(**fields: str) -> Callable[[Any], None]:
    return lambda page: [page.fill(f"#{name.replace('_', '-')}", value) for name, value in fields.items()]


def check(*ids: str) -> Callable[[Any], None]:
    return lambda page: [page.check(f"#{i}") for i in ids]


def steps(*actions: Callable[[Any], None]) -> Callable[[Any], None]:
    return lambda page: [action(page) for action in actions]


VARIANTS: dict[str, Callable[[Any], None]] = {
    "defaults": lambda page: None,
    "sma_cross": lambda page: page.select_option("#strategy", "sma_cross"),
    "rsi_reversion, all searched": steps(
        lambda page: page.select_option("#strategy", "rsi_reversion"), lambda page: page.click("#search-all")
    ),
    "donchian_breakout": lambda page: page.select_option("#strategy", "donchian_breakout"),
    "time budget": steps(check("budget-time"), fill(time_limit="30")),
    "convergence": steps(check("budget-convergence"), fill(patience="20")),
    "three targets": steps(
        check("target-net_profit", "target-sharpe"), lambda page: page.select_option("#sampler", "nsga2")
    ),
    "one target, not the score": steps(check("target-romad"), lambda page: page.uncheck("#target-score")),
    "date window and warm-up": steps(check("date-filter"), fill(start="2008-01-02", end="2012-12-31", warmup="50")),
    "profit filter, capital, commission": steps(
        check("min-profit-on"), fill(min_profit="2.5", capital="2500", commission="0.1")
    ),
    "walk-forward by calendar, holdout": steps(
        check("kind-walkforward"), fill(wf_is_days="720", wf_oos_days="360", wf_holdout="365", warmup="50")
    ),
    "walk-forward by count, anchored, forward selection": steps(
        check("kind-walkforward", "wf-by-count"),
        fill(wf_windows="3", wf_oos_pct="30", wf_gap="2"),
        lambda page: page.select_option("#wf-mode", "anchored"),
        lambda page: page.select_option("#wf-select", "forward"),
    ),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui-contract") / "home"
    with LiveServer(home, workers=1, BACKTUNE_MAX_JOBS="1", BACKTUNE_MAX_WORKERS="2") as live:
        yield live


@pytest.fixture(scope="module")
def sent_bodies(server) -> dict[str, dict]:
    """Each variant's body, as the page sent it; the server never sees these requests."""
    caught: list[dict] = []

    def catch(route) -> None:
        caught.append(route.request.post_data_json)
        route.fulfill(
            status=400,
            content_type="application/json",
            body=json.dumps({"error": {"code": "caught", "message": "caught by the test", "field": None}}),
        )

    bodies = {}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=f"http://127.0.0.1:{server.port}")
        page.set_default_timeout(20_000)
        page.route("**/api/optimize", catch)
        page.route("**/api/walkforward", catch)  # not its preview, which the page asks the server for
        for name, change in VARIANTS.items():
            page.goto("/")
            page.locator("#dataset-list label", has_text="GOOG (sample)").click()
            expect(page.locator("#dataset-summary")).to_contain_text("GOOG")
            change(page)
            page.click("#run-button")
            expect(page.locator("#form-error")).to_contain_text("caught by the test")
            bodies[name] = caught[-1]
        browser.close()
    return bodies


@pytest.fixture(scope="module")
def contract(server) -> Contract:
    return Contract(server.get("/api/openapi.json").json())


@pytest.mark.parametrize("variant", VARIANTS)
def test_what_the_start_page_sends_fits_the_schema_and_is_accepted(sent_bodies, contract, server, variant):
    body = sent_bodies[variant]
    path, model = (
        ("/api/walkforward", WalkForwardRequest) if "walkforward" in body else ("/api/optimize", OptimizeRequest)
    )
    assert contract.errors(contract.request_schema(contract.operation("post", path), "application/json"), body) == []
    model.model_validate(body)  # the model the server parses with, strictly
    response = server.post_json(path, body)
    assert response.status == 202, response.json()
    assert server.delete(f"/api/jobs/{response.json()['job_id']}").status == 200


def test_the_variants_cover_every_field_the_page_can_send(sent_bodies):
    """So that a field the page adds is sent, and so checked, by at least one variant."""
    sent = set().union(*(body.keys() for body in sent_bodies.values()))
    assert {
        "capital",
        "commission",
        "min_profit_threshold",
        "score_config",
        "optuna_n_trials",
        "optuna_time_limit",
        "optuna_convergence",
        "warmupBars",
        "fixed_params",
        "param_ranges",
        "enabled_params",
    } <= sent
    assert any(isinstance(b["optuna_target"], list) for b in sent_bodies.values())
    assert any(b["fixed_params"].get("dateFilter") for b in sent_bodies.values())
    walkforward = set().union(*(body.get("walkforward", {}).keys() for body in sent_bodies.values()))
    assert {
        "mode",
        "select",
        "gap_bars",
        "is_days",
        "oos_days",
        "windows",
        "oos_fraction",
        "holdout_days",
    } <= walkforward


def test_the_schema_refuses_a_field_it_does_not_declare(sent_bodies, contract):
    """The check above can fail: one unknown property and the body no longer fits."""
    body = {**sent_bodies["defaults"], "colour": "blue"}
    schema = contract.request_schema(contract.operation("post", "/api/optimize"), "application/json")
    assert any("colour" in problem for problem in contract.errors(schema, body))
    body = sent_bodies["walk-forward by calendar, holdout"]
    body = {**body, "walkforward": {**body["walkforward"], "colour": "blue"}}
    schema = contract.request_schema(contract.operation("post", "/api/walkforward"), "application/json")
    assert any("colour" in problem for problem in contract.errors(schema, body))
