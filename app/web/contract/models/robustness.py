"""Overfitting and robustness of a finished job: the CSCV matrix, a trial's plateau and
Monte Carlo, parameter heatmaps, and the run summary's ``overfitting`` object.

What each figure means, with formulas and sources, is docs/robustness.md.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from app.web.contract.base import FiniteFloat, Form, ParamValue, Reply

MAX_SCENARIOS = 100_000
MAX_SEED = 2**31 - 1


class CscvReply(Reply):
    blocks: int = Field(description="S: the trading window's per-bar returns split into S contiguous blocks")
    trials: list[int] = Field(description="Trial numbers used (the best cscv_max_trials by target), best first")
    stats: list[list[list[float]]] = Field(
        description="Per trial, per block: [n, sum, sum of squares] of its per-bar returns"
    )
    pbo: float | None = Field(
        description="Probability of backtest overfitting: share of logits <= 0; null with fewer than 10 trials"
    )
    logits: list[float] | None = Field(
        description="Per split of the C(S, S/2): logit of the in-sample best trial's relative rank out of sample"
    )
    is_sharpe: list[float | None] | None = Field(
        description="Per split: the in-sample best trial's per-bar Sharpe ratio in sample (degradation x)"
    )
    oos_sharpe: list[float | None] | None = Field(
        description="Per split: the same trial's per-bar Sharpe ratio out of sample (degradation y)"
    )


class Quantiles(Reply):
    p5: float = Field(description="5th percentile")
    p50: float = Field(description="Median")
    p95: float = Field(description="95th percentile")


class Fan(Reply):
    trades: list[int] = Field(description="Trade counts at which equity is sampled")
    p5: list[float] = Field(description="5th percentile of equity after that many trades")
    p25: list[float] = Field(description="25th percentile")
    p50: list[float] = Field(description="Median")
    p75: list[float] = Field(description="75th percentile")
    p95: list[float] = Field(description="95th percentile")


class Histogram(Reply):
    edges: list[float] = Field(description="Bin edges (one more than the counts)")
    counts: list[int] = Field(description="Scenarios per bin")


class Simulation(Reply):
    final_equity: Quantiles = Field(description="Final equity over the scenarios")
    max_drawdown_pct: Quantiles = Field(description="Max trade-to-trade drawdown (%) over the scenarios")
    prob_drawdown_exceeds: dict[str, float] = Field(description="Drawdown level (%) -> share of scenarios beyond it")
    drawdown_histogram: Histogram = Field(description="Distribution of the scenarios' max drawdown (%)")
    fan: Fan = Field(description="Equity percentiles along the trade sequence")


class MonteCarlo(Reply):
    scenarios: int = Field(description="Scenarios per simulation")
    seed: int = Field(description="Random seed: the same seed gives the same scenarios")
    trades: int = Field(description="Closed trades of the trial")
    initial_capital: float = Field(description="Equity every scenario starts with")
    reshuffle: Simulation | None = Field(
        description="Trades in random order (final equity unchanged); null without trades"
    )
    bootstrap: Simulation | None = Field(description="Trades drawn with replacement; null without trades")


class Neighbour(Reply):
    params: dict[str, ParamValue] = Field(description="The moved (numeric, searched) parameters")
    value: float = Field(description="The target of this neighbour")
    net_profit_pct: float = Field(description="Net profit (%) of this neighbour")


class PlateauSummary(Reply):
    number: int = Field(description="Trial number")
    value: float = Field(description="The trial's target value")
    neighbours: int = Field(description="Neighbours evaluated")
    invalid: int = Field(description="Neighbours the strategy rejects")
    p5: float | None = Field(description="5th percentile of the neighbours' target on the bad side")
    median: float | None = Field(description="Median of the neighbours' target")
    worst: float | None = Field(description="Worst neighbour target")
    retention: float | None = Field(description="p5 / value (value / p5 for a minimised target)")
    share_profitable: float | None = Field(description="Share of neighbours with a net profit above 0")
    at_edge: list[str] = Field(description="Searched parameters at an end of their searched range")


class Plateau(PlateauSummary):
    table: list[Neighbour] = Field(description="Every neighbour")


class RobustnessReply(Reply):
    number: int = Field(description="Trial number")
    plateau: Plateau = Field(description="The trial's ±1-step parameter neighbourhood")
    monte_carlo: MonteCarlo = Field(description="Reshuffle and bootstrap of the trial's trades")


class RobustnessQuery(Form):
    scenarios: int = Field(10_000, ge=1, le=MAX_SCENARIOS, description="Monte Carlo scenarios per simulation")
    seed: int = Field(1, ge=0, le=MAX_SEED, description="Random seed: the same seed gives the same scenarios")
    drawdown: FiniteFloat | None = Field(
        None,
        gt=0,
        lt=1000,
        description="Also report the share of scenarios whose drawdown exceeds this % (beside 10, 20, 30 and 50)",
    )


class Axis(Reply):
    name: str = Field(description="Parameter name")
    values: list[ParamValue] = Field(description="Cell labels: values, or bin centres")


class HeatmapReply(Reply):
    x: Axis = Field(description="Columns")
    y: Axis = Field(description="Rows")
    max: list[list[float | None]] = Field(description="Best target per cell (rows x columns), null when empty")
    median: list[list[float | None]] = Field(description="Median target per cell")
    count: list[list[int | None]] = Field(description="Completed trials per cell")


class HeatmapQuery(Form):
    x: str | None = Field(None, description="Column parameter, a searched one (default: the first searched)")
    y: str | None = Field(None, description="Row parameter, a searched one (default: the second searched)")


class Degradation(Reply):
    slope: float | None = Field(
        description="Least-squares slope of the out-of-sample on the in-sample per-bar "
        "Sharpe ratio over the splits; null when undefined"
    )
    r2: float | None = Field(description="R² of that line; null when undefined")


class Overfitting(Reply):
    """The run's overfitting figures (docs/robustness.md), computed when it ends."""

    pbo: float | None = Field(
        description="Probability of backtest overfitting by CSCV; null with fewer than 10 completed trials"
    )
    logits: list[float] | None = Field(
        description="Per CSCV split: logit of the in-sample best trial's relative "
        "rank out of sample (null in a job's record: see "
        "/api/jobs/{job_id}/results or /cscv)"
    )
    degradation: Degradation | None = Field(description="Out-of-sample against in-sample Sharpe ratio")
    prob_oos_loss: float | None = Field(
        description="Share of splits whose in-sample best trial has a negative Sharpe ratio out of sample"
    )
    blocks: int = Field(description="S: CSCV blocks of the trading window")
    n_trials_used: int = Field(description="Completed trials in the CSCV matrix (at most cscv_max_trials)")
    sharpe_variance: float | None = Field(
        description="Variance of the per-bar Sharpe ratio across completed trials (DSR's deflation)"
    )
    n_trials: int = Field(description="Completed trials: N in the DSR")


class RobustBest(Reply):
    """The run-end plateau step (docs/robustness.md, "Robust best")."""

    top: int = Field(description="K: the best trials by target whose neighbourhoods were tested (plateau_top)")
    seed: int = Field(description="Seed of the neighbour sample (where 3^d > 729)")
    trials: list[PlateauSummary] = Field(description="Their plateaus, by retention, best first: the robust-best order")
    neighbours: int = Field(description="Neighbours evaluated, counted per trial")
    backtested: int = Field(
        description="Distinct neighbours backtested: the rest were completed trials of the study or shared"
    )
    seconds: float = Field(description="Time the step took at the end of the run")


class RunSummary(Reply):
    """A finished run's summary as the engine records it (run id, trial counts, best trial,
    timings, workers; docs/optimization.md), with the overfitting figures typed here."""

    model_config = ConfigDict(extra="allow")

    overfitting: Overfitting | None = Field(None, description="Overfitting figures of an optimisation run")
    robust_best: RobustBest | None = Field(
        None, description="Plateaus of the best trials and their robust-best order; null when plateau_top is 0"
    )
