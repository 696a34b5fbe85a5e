"""``/api/walkforward`` and a walk-forward job's report and holdout (docs/walkforward.md).

A walk-forward request is the optimise request (JSON form) plus a ``walkforward`` object:
every window runs that optimisation on its in-sample range, so the request model extends
``OptimizeRequest`` rather than repeating it. The report is the object
``python -m app walkforward --json`` prints, with each window's dashboard link.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.web.contract.base import Body, FiniteFloat, ParamValue, Reply, Time
from app.web.contract.models.backtest import Trade
from app.web.contract.models.common import JobLinks, JobStatus, MetricsReply, TrialMetrics
from app.web.contract.models.jobs import JobAccepted
from app.web.contract.models.optimize import OptimizeRequest
from backtune.walkforward.settings import DEFAULT_THRESHOLDS, MODES, SELECTIONS, WalkForwardSettings

DEFAULTS = WalkForwardSettings()
CriterionName = Literal[tuple(DEFAULT_THRESHOLDS)]  # type: ignore[valid-type]


class VerdictThresholds(Body):
    """The verdict's thresholds; those not given keep their defaults (TradeStation's criteria)."""

    wfe: FiniteFloat = Field(DEFAULT_THRESHOLDS["wfe"], description="Minimum walk-forward efficiency, %")
    profitable_windows_pct: FiniteFloat = Field(
        DEFAULT_THRESHOLDS["profitable_windows_pct"], description="Minimum % of windows with an out-of-sample profit"
    )
    largest_window_profit_share: FiniteFloat = Field(
        DEFAULT_THRESHOLDS["largest_window_profit_share"],
        description="The largest window's share of the stitched profit must stay below this %",
    )
    max_drawdown_pct: FiniteFloat = Field(
        DEFAULT_THRESHOLDS["max_drawdown_pct"], description="The stitched max drawdown must stay below this %"
    )
    total_trades: FiniteFloat = Field(DEFAULT_THRESHOLDS["total_trades"], description="Minimum stitched trades")


class WalkForwardOptions(Body):
    """Windows by calendar (``is_days`` and ``oos_days``) or by count (``windows``)."""

    mode: Literal[MODES] = Field(  # type: ignore[valid-type]
        DEFAULTS.mode,
        description="rolling: a fixed in-sample length; anchored: every in-sample range starts at "
        "the first tradable bar",
    )
    is_days: FiniteFloat | None = Field(None, gt=0, description="In-sample length in calendar days")
    oos_days: FiniteFloat | None = Field(None, gt=0, description="Out-of-sample length, and the step, in calendar days")
    windows: int | None = Field(None, ge=2, description="Number of windows, instead of is_days and oos_days")
    oos_fraction: FiniteFloat = Field(
        DEFAULTS.oos_fraction, gt=0, lt=1, description="Out-of-sample share of each window (with windows)"
    )
    gap_bars: int = Field(
        DEFAULTS.gap_bars, ge=0, description="Bars purged between each in-sample end and its out-of-sample start"
    )
    holdout_days: FiniteFloat | None = Field(None, gt=0, description="Seal the last D calendar days")
    holdout_from: str | None = Field(None, description="Seal the bars from this date (UTC) on, e.g. 2025-06-15")
    select: Literal[SELECTIONS] = Field(  # type: ignore[valid-type]
        DEFAULTS.select,
        description="best: carry the best in-sample trial; forward: re-run the top_k in-sample "
        "trials on the in-sample range's last forward_fraction and carry the best; robust: carry the "
        "top_k trial whose parameter neighbours keep most of its value (robust rank 1)",
    )
    top_k: int = Field(
        DEFAULTS.top_k,
        ge=1,
        description="In-sample trials re-run (select=forward) or tested for their plateau (select=robust, at most 20)",
    )
    forward_fraction: FiniteFloat = Field(
        DEFAULTS.forward_fraction,
        gt=0,
        lt=1,
        description="Share of the in-sample range they are re-run on (select=forward)",
    )
    thresholds: VerdictThresholds = Field(default_factory=VerdictThresholds, description="Verdict thresholds to change")


class WalkForwardRequest(OptimizeRequest):
    """The body of ``POST /api/optimize`` (JSON form) plus the window settings; the trial
    or time budget is per window."""

    nested_fields = frozenset({"walkforward"})

    walkforward: WalkForwardOptions = Field(description="How the windows are laid out and judged")


class WindowSpan(Reply):
    start: Time = Field(description="First bar, inclusive")
    end: Time = Field(description="Last bar, inclusive")


class WindowPreview(Reply):
    index: int = Field(description="0-based window index")
    is_: WindowSpan = Field(alias="is", description="In-sample range: the window's study")
    oos: WindowSpan = Field(description="Out-of-sample range: the carried parameters' backtest")


class WalkForwardPreview(Reply):
    """The windows a request would run."""

    windows: list[WindowPreview] = Field(description="The schedule's windows, in order")
    holdout: WindowSpan | None = Field(description="The sealed holdout (null: none kept)")


class WalkForwardLinks(JobLinks):
    walkforward: str = Field(description="/api/jobs/{job_id}/walkforward: the report")


class WalkForwardAccepted(JobAccepted):
    kind: Literal["walkforward"] = Field(description="The job's kind")
    windows: int = Field(description="Windows in the schedule")
    links: WalkForwardLinks = Field(description="The job, its report, its page and its dashboard")


class WindowReport(WindowPreview):
    params: dict[str, ParamValue] = Field(description="The carried parameters")
    is_metrics: TrialMetrics = Field(description="The carried trial's in-sample metrics")
    oos_metrics: MetricsReply = Field(  # type: ignore[valid-type]
        description="What `backtest --close-at-end` reports for params over the out-of-sample range"
    )
    trials: int = Field(description="Trials in the window's study")
    completed_trials: int | None = Field(
        None, description="Completed trials in the window's study: its share of N in the stitched DSR"
    )
    sharpe_variance: float | None = Field(
        None, description="Variance of the per-bar Sharpe ratio across the window's completed trials"
    )
    trial_number: int = Field(description="The carried trial's number in its study")
    study: str = Field(description="The window's study (run id: the job id and the window index)")
    dashboard: str = Field(description="The study in the embedded dashboard")


class StitchedSharpe(Reply):
    """The stitched out-of-sample returns' Sharpe figures (docs/walkforward.md, docs/robustness.md)."""

    sharpe_per_bar: float | None = Field(
        description="Per-bar Sharpe ratio of the stitched returns, not annualised; null when undefined"
    )
    returns_skew: float | None = Field(description="Skewness of the stitched per-bar returns; null when undefined")
    returns_kurtosis: float | None = Field(
        description="Raw kurtosis of the stitched per-bar returns (normal = 3); null when undefined"
    )
    n_returns: int = Field(description="Stitched per-bar returns")
    psr: float | None = Field(
        description="Probabilistic Sharpe ratio PSR(0): probability the true Sharpe ratio is above 0"
    )
    dsr: float | None = Field(
        description="Deflated Sharpe ratio: PSR against the best Sharpe ratio n_trials trials "
        "with variance sharpe_variance would reach by luck; null with fewer than 2 trials"
    )
    sharpe_variance: float | None = Field(
        description="The windows' Sharpe-ratio variances pooled, weighted by completed trials - 1"
    )
    n_trials: int = Field(description="N in the DSR: completed trials over the windows")


class StitchedAccount(Reply):
    metrics: MetricsReply = Field(  # type: ignore[valid-type]
        description="Every metric of docs/metrics.md over the stitched trades and equity"
    )
    sharpe: StitchedSharpe = Field(description="PSR and DSR of the stitched per-bar returns, with their inputs")
    trades: list[Trade] = Field(description="The windows' trades in order, sizes compounded window to window")
    equity: list[tuple[Time, float, float]] = Field(
        max_length=1000, description="[iso_time, equity, drawdown_pct], thinned to 1,000 points"
    )


class VerdictCriterion(Reply):
    name: CriterionName = Field(description="The criterion")
    value: float | None = Field(description="The run's value (null: undefined, which fails)")
    threshold: float = Field(description="The threshold it is held to")
    pass_: bool = Field(alias="pass", description="Whether it passes")


class WalkForwardVerdict(Reply):
    pass_: bool = Field(alias="pass", description="Every criterion passes")
    criteria: list[VerdictCriterion] = Field(description="Each criterion with its value and threshold")


class HoldoutState(Reply):
    start: Time = Field(description="First sealed bar")
    end: Time = Field(description="Last sealed bar")
    sealed: bool = Field(description="Never opened")
    openings: list[Time] = Field(description="When it was opened, each time")


class WalkForwardReport(Reply):
    """What ``python -m app walkforward --json`` prints, over the windows finished so far."""

    run_dir: str = Field(description="The run directory, relative to the server's runs folder (the job id)")
    run_id: str = Field(description="The job id")
    status: JobStatus = Field(description="The job's status")  # type: ignore[valid-type]
    mode: Literal[MODES] = Field(description="rolling or anchored")  # type: ignore[valid-type]
    windows_planned: int = Field(description="Windows in the schedule")
    windows: list[WindowReport] = Field(description="The finished windows, in order")
    stitched: StitchedAccount | None = Field(
        description="The stitched out-of-sample account (null before a window finishes)"
    )
    wfe: float | None = Field(
        description="Walk-forward efficiency, %: annualised out-of-sample return over annualised in-sample return"
    )
    profitable_windows_pct: float | None = Field(description="% of windows with an out-of-sample profit")
    largest_window_profit_share: float | None = Field(
        description="The largest window's share of the stitched profit, %"
    )
    t_stat: float | None = Field(description="t-statistic of the stitched per-bar returns")
    verdict: WalkForwardVerdict | None = Field(description="Each criterion with its value, threshold and pass")
    holdout: HoldoutState | None = Field(description="The sealed holdout (null: none kept)")


class HoldoutOpened(Reply):
    """What ``python -m app holdout RUN_DIR --json`` prints."""

    params: dict[str, ParamValue] = Field(description="The last window's parameters: what one would deploy")
    window: WindowSpan = Field(description="The holdout's range")
    metrics: MetricsReply = Field(  # type: ignore[valid-type]
        description="What `backtest --close-at-end` reports for params over the holdout"
    )
    openings: list[Time] = Field(description="When it was opened, each time, this one last")
