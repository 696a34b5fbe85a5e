"""The pages in a real browser: Debian's Chromium driven by Playwright, against gunicorn.

One trader's session end to end (upload, strategy, ranges, run, live progress, results,
a trial's chart and trades, both downloads, the dashboard, resume, the runs list and a
cancel), plus the start form's error paths. Every page must log no console error.

Screenshots of each page are taken along the way; with BACKTUNE_SCREENSHOTS=docs/screenshots
they replace the README's pictures, otherwise they go to a temporary folder:

    BACKTUNE_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest tests/test_ui_browser.py
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest

from tests.conftest import LINK_15M
from tests.helpers import Tab, playwright_or_skip
from tests.live_server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

sync_api = playwright_or_skip()
expect = sync_api.expect

SEARCHED = ("maLength", "closeCountLong", "stopLongX")
JOB_DONE_S = 120


def upload_link(page) -> None:
    page.set_input_files("#file-input", str(LINK_15M))
    expect(page.locator("#dataset-summary")).to_be_visible()
    expect(page.locator("#summary-facts")).to_contain_text("19,584")
    expect(page.locator("#summary-facts")).to_contain_text("15m")
    expect(page.locator("#dataset-list input:checked")).to_have_count(1)


def choose_trailing_ma(page, searched=SEARCHED) -> None:
    page.select_option("#strategy", "trailing_ma")
    page.click("#search-none")
    expect(page.locator("#param-count")).to_have_text("0 of 24 parameters searched")
    for name in searched:
        page.check(f"#param-{name}-search")
    expect(page.locator("#param-count")).to_have_text(f"{len(searched)} of 24 parameters searched")


def set_window(page) -> None:
    page.check("#date-filter")
    page.fill("#start", "2025-06-15")
    page.fill("#end", "2025-11-15")
    page.fill("#warmup", "1000")


def job_id_of(page) -> str:
    return re.search(r"/jobs/([^/?#]+)$", page.url).group(1)


def progress_done(page) -> int:
    """Trials done, from the progress line ("1,234 of 5,000 trials" or "12 s of 2 min 0 s · 345 trials")."""
    match = re.search(r"([\d,]+) (?:of [\d,]+ )?trials", page.inner_text("#progress-text"))
    return int(match.group(1).replace(",", "")) if match else 0


def wait_for_more_trials(page, than: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while progress_done(page) <= than:
        assert time.monotonic() < deadline, f"progress stuck at {page.inner_text('#progress-text')!r}"
        page.wait_for_timeout(200)


def column_values(page, key: str, rows: int) -> list[float]:
    """The first ``rows`` cells of a results column, as numbers."""
    index = page.locator("#results-scroll thead th").evaluate_all(
        f"ths => ths.findIndex(th => th.dataset.key === {key!r})"
    )
    texts = page.locator("#results-scroll tbody tr[data-number]").evaluate_all(
        f"trs => trs.slice(0, {rows}).map(tr => tr.children[{index}].textContent)"
    )
    return [float(t.replace(",", "").rstrip("%")) for t in texts]


def test_a_trader_runs_explores_resumes_and_cancels(tab, server, shots):
    page = tab.page
    page.goto("/")
    expect(page.locator("#dataset-list")).to_contain_text("GOOG (sample)")
    upload_link(page)
    choose_trailing_ma(page)
    set_window(page)
    page.fill("#n-trials", "60")
    page.fill("#workers", "2")
    page.select_option("#sampler", "random")

    # Presets: save these settings, change them, load them back.
    page.fill("#preset-name", "LINK three params")
    page.click("#preset-save")
    page.click("#search-all")
    page.select_option("#preset-select", "LINK three params")
    page.click("#preset-load")
    expect(page.locator("#param-count")).to_have_text("3 of 24 parameters searched")
    expect(page.locator("#n-trials")).to_have_value("60")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=shots / "start.png")

    page.click("#run-button")
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    job_id = job_id_of(page)

    expect(page.locator("#job-status")).to_have_text("done", timeout=JOB_DONE_S * 1000)
    # Workers that start their last trials together may pass a trials budget by one.
    expect(page.locator("#progress-text")).to_have_text(re.compile(r"^(60 of 60 trials|61 trials \(budget 60\))$"))
    total = progress_done(page)
    expect(page.locator("#best-summary")).to_contain_text("Score (composite):")
    expect(page.locator("#trials-summary")).to_contain_text(re.compile(r"^\d+ completed trials shown"))

    # Results: every trial, the best one opened with its chart and trades.
    expect(page.locator("#results-count")).to_have_text(f"{total} trials")
    expect(page.locator("#trial-heading")).to_have_text(re.compile(r"^Trial #\d+, rank 1, robust rank \d$"))
    expect(page.locator("#trial-chart canvas").first).to_be_visible()
    assert page.locator("#trades-table tbody tr").count() > 0

    page.click("#results-scroll thead th[data-key='max_drawdown_pct'] button")
    expect(page.locator("#results-scroll thead th[data-key='max_drawdown_pct']")).to_have_attribute(
        "aria-sort", "ascending"
    )
    drawdowns = column_values(page, "max_drawdown_pct", 8)
    assert drawdowns == sorted(drawdowns) and len(drawdowns) == 8

    third = page.locator("#results-scroll tbody tr[data-number]").nth(2)
    number = third.get_attribute("data-number")
    third.locator("button").click()
    expect(page.locator("#trial-heading")).to_have_text(re.compile(rf"^Trial #{number}\b"))
    expect(third).to_have_attribute("aria-current", "true")
    trades = page.locator("#trades-table tbody tr").count()

    # The keyboard moves the selection and opens the next trial.
    page.keyboard.press("ArrowDown")
    fourth = page.locator("#results-scroll tbody tr[data-number]").nth(3).get_attribute("data-number")
    expect(page.locator("#trial-heading")).to_have_text(re.compile(rf"^Trial #{fourth}\b"))
    third.locator("button").click()
    expect(page.locator("#trial-heading")).to_have_text(re.compile(rf"^Trial #{number}\b"))

    page.select_option("#filter-metric", "total_trades")
    page.fill("#filter-value", "100000")
    expect(page.locator("#results-count")).to_have_text(f"0 of {total} trials match the filters")
    page.fill("#filter-value", "")
    expect(page.locator("#results-count")).to_have_text(f"{total} trials")

    with page.expect_download() as download:
        page.click("#results-csv")
    assert Path(download.value.path()).read_text().startswith("# Metadata")
    with page.expect_download() as download:
        page.click("#trades-csv")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][:4] == ["Trade #", "Type", "Signal", "Date/Time"]
    assert len(rows) == 1 + 2 * trades and rows[1][1].startswith("Exit") and rows[2][1].startswith("Entry")
    page.click("#results-scroll thead th[data-key='net_profit_pct'] button")  # higher is better: best first
    profits = column_values(page, "net_profit_pct", 8)
    assert profits == sorted(profits, reverse=True)
    page.eval_on_selector("#results-scroll", "el => { el.scrollLeft = 0; }")
    page.mouse.move(0, 0)  # no crosshair in the picture
    page.screenshot(path=shots / "results.png", full_page=True)

    # The dashboard shows this run's study and its trials.
    page.click("#dashboard-link")
    page.wait_for_url(re.compile(r"/dashboard/studies/\d+$"))
    expect(page.get_by_text(job_id).first).to_be_visible()
    page.wait_for_timeout(1500)  # let the dashboard draw its plots
    page.screenshot(path=shots / "dashboard.png")
    page.goto(page.url + "/trials")
    expect(page.get_by_text(f"{total} Trials")).to_be_visible()
    # The dashboard's own console is not ours to police, but our security headers are.
    assert not [e for e in tab.errors if "Content Security Policy" in e], tab.errors
    tab.errors.clear()

    # Resume for 10 more trials on the job page: it runs again, and the results reload.
    page.goto(f"/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("done")
    page.fill("#more-trials-" + job_id, "10")
    page.get_by_role("button", name="Resume").click()
    wait_for_more_trials(page, than=total + 9, timeout_s=JOB_DONE_S)
    expect(page.locator("#job-status")).to_have_text("done", timeout=JOB_DONE_S * 1000)
    resumed = progress_done(page)
    assert total + 10 <= resumed <= total + 11
    expect(page.locator("#results-count")).to_have_text(f"{resumed} trials")

    # A second run, by time, followed live (a trials budget of this size ends within a
    # second or two of the workers starting), then cancelled from the runs list.
    page.goto("/")
    page.locator("#dataset-list label", has_text="okx_linkusdt").click()
    expect(page.locator("#dataset-summary")).to_be_visible()
    choose_trailing_ma(page)
    set_window(page)
    page.check("#budget-time")
    page.fill("#time-limit", "120")
    page.click("#run-button")
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    second = job_id_of(page)
    chart_summary = page.locator("#trials-summary")
    expect(chart_summary).to_contain_text(re.compile(r"^\d[\d,]* completed trials shown"), timeout=60_000)
    first = progress_done(page)
    assert first > 0
    page.reload()  # the page picks the run up where it is
    expect(page.locator("#job-status")).to_have_text("running")
    wait_for_more_trials(page, than=first)
    expect(chart_summary).to_contain_text(re.compile(r"^\d[\d,]* completed trials shown"))
    expect(page.locator("#workers tbody tr")).to_have_count(2)
    page.wait_for_timeout(2500)  # one more live refresh of the chart for the picture
    page.screenshot(path=shots / "job-running.png")

    # Cancelled once trials run: a stop asked for while a job's coordinator is still
    # starting is lost (it clears the stop file as it starts), a gap of the job runner.
    page.goto("/runs")
    runs = page.locator("#runs-table tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.nth(0)).to_contain_text(second)
    expect(runs.nth(0)).to_contain_text("running")
    expect(runs.nth(1)).to_contain_text(job_id)
    expect(runs.nth(1)).to_contain_text(str(resumed))
    page.screenshot(path=shots / "runs.png")
    runs.nth(0).get_by_role("button", name=f"Cancel run {second}").click()
    expect(runs.nth(0)).to_contain_text("cancelled", timeout=30_000)
    assert server.get(f"/api/jobs/{second}").json()["status"] == "cancelled"


def test_the_start_form_names_what_is_wrong_next_to_it(tab, tmp_path):
    page = tab.page
    page.goto("/")

    # A file the loader rejects: the server's message, with its row and column, at the drop zone.
    bad = tmp_path / "bad prices.csv"
    bad.write_text("time,open,high,low,close\n2025-01-01 00:00,1,2,0.5,1.5\n2025-01-01 00:15,1,0.4,0.5,1.5\n")
    page.set_input_files("#file-input", str(bad))
    expect(page.locator("#upload-error")).to_contain_text("row 3, column 'high'")

    # Nothing chosen yet: the form says what is missing without asking the server.
    page.click("#run-button")
    expect(page.locator("[data-field='dataset'] .field-error")).to_contain_text("pick a dataset")
    expect(page).to_have_url(re.compile(r"/$"))

    page.locator("#dataset-list label", has_text="GOOG (sample)").click()
    expect(page.locator("#dataset-summary")).to_contain_text("GOOG")
    page.select_option("#strategy", "sma_cross")
    page.fill("#param-n1-from", "40")
    page.fill("#param-n1-to", "10")
    page.fill("#param-n2-step", "0")
    page.fill("#workers", "0")
    page.click("#run-button")
    expect(page.locator("[data-field='n1'] .field-error")).to_have_text("From (40) must not be above To (10).")
    expect(page.locator("[data-field='n2'] .field-error")).to_have_text("The step must be a number above 0.")
    expect(page.locator("[data-field='worker_processes'] .field-error")).to_contain_text("whole number from 1")
    expect(page.locator("#param-n1-from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-error")).to_contain_text("3 things need fixing")
    expect(page.locator("#param-n1-from")).to_be_focused()

    # What only the server knows comes back under the field it names: sma_cross refuses a
    # fast average that is not shorter than the slow one.
    page.click("#param-defaults")
    page.fill("#workers", "1")
    page.uncheck("#param-n1-search")
    page.fill("#param-n1-value", "300")
    page.fill("#param-n2-from", "20")
    page.click("#run-button")
    expect(page.locator("#form-error")).to_contain_text("One thing needs fixing")
    expect(page.locator("[data-field='n1'] .field-error, [data-field='n2'] .field-error")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/$"))
    # Chromium logs every 4xx answer itself; these two are the refusals this test asked for.
    refusals = [e for e in tab.errors if "status of 400 (BAD REQUEST)" in e]
    assert len(refusals) == 2
    tab.errors[:] = [e for e in tab.errors if e not in refusals]


def test_an_unknown_job_gets_a_page_saying_so(tab):
    response = tab.page.goto("/jobs/no-such-run")
    assert response.status == 404
    expect(tab.page.locator("h1")).to_have_text("Not found")
    assert all("status of 404" in e for e in tab.errors)
    tab.errors.clear()  # Chromium logs the 404 answer itself


def test_with_a_token_the_browser_logs_in_once_and_the_pages_work(browser, tmp_path):
    """BACKTUNE_API_TOKEN set: a page sends the browser to the login form, and after it the
    pages, their API requests (the cookie) and the dashboard all work."""
    with LiveServer(tmp_path / "home", BACKTUNE_API_TOKEN="s3cret-token") as server:
        tab = Tab(browser, server)
        page = tab.page
        page.goto("/runs")
        page.wait_for_url(re.compile(r"/login\?next=/runs$"))
        page.fill("#token", "wrong")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#token-error")).to_be_visible()
        page.fill("#token", "s3cret-token")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/runs$"))
        page.goto("/")
        expect(page.locator("#dataset-list")).to_contain_text("GOOG (sample)")  # fetched from /api/datasets
        page.goto("/dashboard")
        expect(page).to_have_url(re.compile(r"/dashboard"))
        tab.close()
    assert [e for e in tab.errors if "401" not in e] == [], tab.errors  # the wrong token's 401 only
