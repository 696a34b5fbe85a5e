"""The walk-forward pages in a real browser (Chromium via Playwright, against gunicorn):
the start page's choice and live window preview, the job page's timeline, equity,
verdict, table and holdout button. Screenshots as in tests/test_ui_browser.py."""

from __future__ import annotations

import re

import pytest

from tests.helpers import playwright_or_skip

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

expect = playwright_or_skip().expect

JOB_DONE_S = 120


def test_walkforward_from_start_page_to_verdict_and_holdout(tab, server, shots):
    page = tab.page
    page.goto("/")
    page.locator("#dataset-list label", has_text="GOOG (sample)").click()
    expect(page.locator("#dataset-summary")).to_contain_text("GOOG")
    page.select_option("#strategy", "sma_cross")
    page.check("#kind-walkforward")
    expect(page.locator("#wf-settings")).to_be_visible()
    expect(page.locator("#run-button")).to_have_text("Run walk-forward")
    page.fill("#warmup", "50")
    page.fill("#wf-is-days", "720")
    page.fill("#wf-oos-days", "360")
    page.fill("#wf-holdout", "365")
    expect(page.locator("#wf-preview-note")).to_have_text(re.compile(r"^5 windows, holdout sealed from 2012-03-02"))
    expect(page.locator("#wf-timeline .wf-row")).to_have_count(6)  # 5 windows and the holdout

    page.check("#wf-by-count")
    page.fill("#wf-windows", "2")
    expect(page.locator("#wf-preview-note")).to_have_text(re.compile(r"^2 windows"))
    expect(page.locator("#wf-timeline .wf-oos")).to_have_count(2)
    page.fill("#wf-holdout", "9000")
    expect(page.locator("#wf-preview-note")).to_contain_text("holdout")
    expect(page.locator("#wf-preview-note")).to_contain_text("No windows")
    # The refused preview is the API's 400, which the browser logs; it is the only one.
    assert len(tab.errors) == 1 and "400" in tab.errors[0]
    tab.errors.clear()
    page.fill("#wf-holdout", "365")
    expect(page.locator("#wf-preview-note")).to_have_text(re.compile(r"^2 windows"))
    page.fill("#n-trials", "20")
    page.fill("#workers", "1")
    page.locator("#dataset-summary").screenshot(path=str(shots / "walkforward-preview.png"))
    page.locator("#settings-heading").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "walkforward-start.png"))

    page.click("#run-button")
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    expect(page.locator("#wf-section")).to_be_visible()
    expect(page.locator("#job-status")).to_have_text("done", timeout=JOB_DONE_S * 1000)
    expect(page.locator("#wf-table tbody tr")).to_have_count(2)
    expect(page.locator("#wf-table tbody a").first).to_have_attribute("href", re.compile(r"^/dashboard/studies/\d+$"))
    expect(page.locator("#wf-verdict li")).to_have_count(5)
    expect(page.locator("#wf-verdict-badge")).to_have_text(re.compile("PASS|FAIL"))
    for label in ("PSR (stitched)", "DSR (stitched)"):
        term = page.locator("#wf-figures div").filter(has=page.locator("dt", has_text=label))
        expect(term.locator("dd")).to_have_text(re.compile(r"^(0|1)(\.\d{1,3})?$"))
    expect(page.locator("#wf-windows-timeline .wf-row")).to_have_count(3)
    expect(page.locator("#wf-holdout-text")).to_contain_text("sealed, never opened")
    page.screenshot(path=str(shots / "walkforward-job.png"), full_page=True)

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click("#wf-holdout-open")
    expect(page.locator("#wf-holdout-text")).to_contain_text("opened once")
    expect(page.locator("#wf-holdout-metrics")).to_contain_text("Net profit")
    page.click("#wf-holdout-open")
    expect(page.locator("#wf-holdout-text")).to_contain_text("opened twice")
    assert "recorded" in dialogs[0] and "already opened once" in dialogs[1]
