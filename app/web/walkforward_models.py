"""Request and response bodies of the walk-forward endpoints, as pydantic v2 models.

``POST /api/walkforward`` takes the body of ``POST /api/optimize`` plus a ``walkforward``
object (``WalkForwardBody``); the shared part is parsed by the optimise endpoint's own
code, so the two cannot drift apart. The responses are validated against the models
below before they leave, so the OpenAPI document generated from them is what clients get.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

Number = Optional[float]


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    wfe: float | None = Field(None, description="minimum walk-forward efficiency, % (default 50)")
    profitable_windows_pct: float | None = Field(None, description="minimum % of profitable windows (default 50)")
    largest_window_profit_share: float | None = Field(
        None, description="the largest window's share of the profit must stay below this % (default 50)")
    max_drawdown_pct: float | None = Field(None, description="stitched max drawdown must stay below this % (default 40)")
    total_trades: float | None = Field(None, description="minimum stitched trades (default 30)")


class WalkForwardBody(BaseModel):
    """The ``walkforward`` object: windows by calendar (is_days + oos_days) or by count (windows)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    mode: Literal["rolling", "anchored"] = Field("rolling", description="rolling: fixed in-sample length; "
                                                                        "anchored: in-sample from the first tradable bar")
    is_days: float | None = Field(None, gt=0, description="in-sample length in calendar days")
    oos_days: float | None = Field(None, gt=0, description="out-of-sample length (and step) in calendar days")
    windows: int | None = Field(None, ge=2, description="number of windows, instead of is_days/oos_days")
    oos_fraction: float | None = Field(None, gt=0, lt=1, description="out-of-sample share of each window with "
                                                                       "windows (default 0.25)")
    gap_bars: int = Field(0, ge=0, description="bars purged between each in-sample end and out-of-sample start")
    holdout_days: float | None = Field(None, gt=0, description="seal the last D calendar days")
    holdout_from: str | None = Field(None, description="seal the bars from this date (UTC) on")
    select: Literal["best", "forward"] = Field("best", description="carry the best in-sample trial, or the best of "
                                                                   "the top K re-run on the in-sample's last quarter")
    top_k: int | None = Field(None, ge=1, description="select=forward: in-sample trials re-run (default 10)")
    forward_fraction: float | None = Field(None, gt=0, lt=1,
                                              description="select=forward: share of the in-sample range re-run")
    thresholds: Thresholds | None = Field(None, description="verdict thresholds to change")


class Span(BaseModel):
    start: str = Field(description="first bar, ISO 8601 UTC, inclusive")
    end: str = Field(description="last bar, ISO 8601 UTC, inclusive")


class PreviewWindow(BaseModel):
    index: int = Field(description="0-based window index")
    is_: Span = Field(alias="is", description="in-sample range")
    oos: Span = Field(description="out-of-sample range")


class WindowReport(PreviewWindow):
    params: dict[str, object] = Field(description="the carried parameters")
    is_metrics: dict[str, Number] = Field(description="the carried trial's in-sample metrics")
    oos_metrics: dict[str, Number] = Field(description="backtest --close-at-end of params on the out-of-sample range")
    trials: int = Field(description="trials in the window's study")
    trial_number: int = Field(description="the carried trial's number in its study")
    study: str = Field(description="the window's study (run id)")
    dashboard: str | None = Field(None, description="the study in the embedded dashboard (API only)")


class Stitched(BaseModel):
    metrics: dict[str, Number] = Field(description="every metric of docs/metrics.md on the stitched account")
    trades: list[dict[str, object]] = Field(description="the windows' trades in order, sizes compounded")
    equity: list[list[object]] = Field(description="[time, equity, drawdown %], thinned to 1,000 points")


class Criterion(BaseModel):
    name: str = Field(description="wfe, profitable_windows_pct, largest_window_profit_share, max_drawdown_pct "
                                  "or total_trades")
    value: Number = Field(description="the run's value (null: undefined, fails)")
    threshold: float = Field(description="the threshold it is held to")
    pass_: bool = Field(alias="pass", description="whether it passes")


class Verdict(BaseModel):
    pass_: bool = Field(alias="pass", description="every criterion passes")
    criteria: list[Criterion] = Field(description="each criterion")


class HoldoutState(BaseModel):
    start: str = Field(description="first sealed bar")
    end: str = Field(description="last sealed bar")
    sealed: bool = Field(description="never opened")
    openings: list[str] = Field(description="time of each opening, ISO 8601 UTC")


class WalkForwardReport(BaseModel):
    """``GET /api/jobs/<id>/walkforward``: the object ``python -m app walkforward --json`` prints."""

    run_dir: str = Field(description="the run directory on the server")
    run_id: str = Field(description="the job id")
    status: str = Field(description="prepared, running, done, cancelled, failed or interrupted")
    mode: str = Field(description="rolling or anchored")
    windows_planned: int = Field(description="windows in the schedule")
    windows: list[WindowReport] = Field(description="the finished windows")
    stitched: Stitched | None = Field(description="the stitched out-of-sample account (null before a window ends)")
    wfe: Number = Field(description="walk-forward efficiency, %")
    profitable_windows_pct: Number = Field(description="% of windows with an out-of-sample profit")
    largest_window_profit_share: Number = Field(description="the largest window's share of the stitched profit, %")
    t_stat: Number = Field(description="t-statistic of the stitched per-bar returns")
    verdict: Verdict | None = Field(description="each criterion with its value, threshold and pass")
    holdout: HoldoutState | None = Field(description="the sealed holdout (null: none kept)")


class WalkForwardAccepted(BaseModel):
    """``POST /api/walkforward`` -> 202."""

    job_id: str = Field(description="the job id")
    kind: Literal["walkforward"] = Field(description="the job kind")
    status: str = Field(description="queued or running")
    windows: int = Field(description="windows in the schedule")
    links: dict[str, str] = Field(description="self, walkforward, page, dashboard")


class HoldoutOpened(BaseModel):
    """``POST /api/jobs/<id>/holdout``: what ``python -m app holdout RUN_DIR --json`` prints."""

    params: dict[str, object] = Field(description="the last window's parameters")
    window: Span = Field(description="the holdout's range")
    metrics: dict[str, Number] = Field(description="backtest --close-at-end of params on the holdout")
    openings: list[str] = Field(description="time of each opening so far, this one last")


class WalkForwardPreview(BaseModel):
    """``POST /api/walkforward/preview`` (the body of ``POST /api/walkforward``): the windows it would run."""

    windows: list[PreviewWindow] = Field(description="the schedule's windows")
    holdout: Span | None = Field(description="the sealed holdout (null: none)")
