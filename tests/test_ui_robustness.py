"""The overfitting and robustness panels in a real browser (Chromium via Playwright) against gunicorn.

With BACKTUNE_SCREENSHOTS=docs/screenshots the pictures replace docs/screenshots/overfitting.png
and robustness.png; otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import LINK_15M
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip
from tests.live_server import LiveServer

sync_api = playwright_or_skip()
expect = sync_api.expect


def shown_number(value: float | None, digits: int) -> str:
    """As the page formats it (Intl, en-US, at most ``digits`` decimals): 0.5 -> "0.5"."""
    if value is None:
        return "—"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") or "0"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui-robustness") / "home"
    (home / "data").mkdir(parents=True)
    shutil.copy(LINK_15M, home / "data" / "link.csv")
    with LiveServer(
        home, BACKTUNE_MAX_JOBS="1", BACKTUNE_MAX_WORKERS="2", BACKTUNE_JOURNAL_DIR=str(home / "journals")
    ) as server:
        response = server.post_json(
            "/api/optimize",
            {
                "strategy": "trailing_ma",
                "csvPath": "link.csv",
                "worker_processes": 2,
                "optuna_sampler": "random",
                "optuna_n_trials": 40,
                "enabled_params": ["maLength", "closeCountLong", "stopLongX"],
                "fixed_params": {"start": "2025-06-15", "end": "2025-11-15"},
                "warmupBars": 1000,
            },
        )
        assert response.status == 202, response.body
        job_id = response.json()["job_id"]
        assert server.wait_for_job(job_id)["status"] == "done"
        yield server, job_id


def column_texts(page, key: str) -> list[str]:
    """The shown cells of the results table's column ``key``, top to bottom."""
    index = page.evaluate(
        "key => [...document.querySelectorAll('#results-scroll thead th')].findIndex(th => th.dataset.key === key)",
        key,
    )
    assert index >= 0, key
    return page.locator(f"#results-scroll tbody tr[data-number] > :nth-child({index + 1})").all_inner_texts()


def test_study_panel_dsr_column_heatmap_and_trial_robustness(finished, tmp_path):
    server, job_id = finished
    shots = Path(os.environ.get("BACKTUNE_SCREENSHOTS") or tmp_path)
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 720},
            locale="en-US",
            timezone_id="UTC",
            base_url=f"http://127.0.0.1:{server.port}",
        )
        context.set_default_timeout(60_000)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"/jobs/{job_id}")

        summary = server.get(f"/api/jobs/{job_id}").json()["summary"]["overfitting"]
        expect(page.locator("#study-section")).to_be_visible()
        expect(page.locator("#pbo-stats")).to_contain_text(shown_number(summary["pbo"], 3))
        expect(page.locator("#pbo-reading")).to_contain_text("How to read it")
        assert page.locator("#logit-chart").bounding_box()["height"] > 100

        page.click("#results-scroll thead th[data-key='dsr'] button")
        expect(page.locator("#results-scroll thead th[data-key='dsr']")).to_have_attribute("aria-sort", "descending")
        shown = column_texts(page, "dsr")[:5]
        values = [float(v) for v in shown if v != "—"]
        assert values == sorted(values, reverse=True) and values

        robust = server.get(f"/api/jobs/{job_id}").json()["summary"]["robust_best"]
        robust_rows = page.locator("#robust-table tbody tr")
        expect(robust_rows).to_have_count(len(robust["trials"]))
        for row, trial in zip(robust_rows.all(), robust["trials"]):
            expect(row.locator("th")).to_have_text(f"#{trial['number']}")
            expect(row.locator("td").nth(2)).to_have_text(shown_number(trial["retention"], 2))
        expect(page.locator("#robust-reading")).to_contain_text("ordered by retention")
        page.click("#results-scroll thead th[data-key='robust_rank'] button")
        assert column_texts(page, "robust_rank")[: len(robust["trials"])] == [
            str(i + 1) for i in range(len(robust["trials"]))
        ]
        assert column_texts(page, "number")[: len(robust["trials"])] == [f"#{t['number']}" for t in robust["trials"]]

        page.select_option("#heatmap-x", "maLength")
        page.select_option("#heatmap-y", "stopLongX")
        expect(page.locator("#heatmap caption")).to_contain_text("by maLength (columns) and stopLongX (rows)")
        heat = server.get(f"/api/jobs/{job_id}/heatmap?x=maLength&y=stopLongX").json()
        assert page.locator("#heatmap tbody tr").count() == len(heat["y"]["values"])
        page.locator("#study-section").screenshot(path=shots / "overfitting.png")

        expect(page.locator("#trial-heading")).to_have_text(re.compile(r"^Trial #\d+, rank 1, robust rank \d$"))
        best_row = server.get(f"/api/jobs/{job_id}/results?limit=1").json()["results"][0]
        dsr_item = page.locator("#trial-metrics div", has_text="DSR (deflated by the run's trials)")
        expect(dsr_item.locator("dd")).to_have_text(shown_number(best_row["metrics"]["dsr"], 3))
        page.click("#robustness-run")
        expect(page.locator("#robustness-status")).to_contain_text("neighbours", timeout=120_000)
        expect(page.locator("#robustness-result")).to_be_visible()
        best = int(re.search(r"#(\d+)", page.locator("#trial-heading").inner_text()).group(1))
        report = server.get(f"/api/jobs/{job_id}/trials/{best}/robustness?scenarios=10000&seed=1").json()
        expect(page.locator("#plateau-stats")).to_contain_text(shown_number(report["plateau"]["retention"], 2))
        assert page.locator("#neighbours-table tbody tr").count() == min(50, len(report["plateau"]["table"]))
        expect(page.locator("#mc-stats")).to_contain_text("P(drawdown > 20%)")
        assert page.locator("#mc-drawdowns").bounding_box()["height"] > 100
        page.locator("#robustness-heading").scroll_into_view_if_needed()
        page.locator("#trial-section").screenshot(path=shots / "robustness.png")

        last = robust["trials"][-1]["number"]
        page.locator("#robust-table tbody tr").last.locator("button").click()
        expect(page.locator("#trial-heading")).to_have_text(
            re.compile(rf"^Trial #{last}, rank \d+, robust rank {len(robust['trials'])}$")
        )
        browser.close()
    assert errors == []
