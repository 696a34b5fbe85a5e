"""Bodies shared by several endpoints: the error shape, health, a job's links, metrics."""

from __future__ import annotations

import typing
from typing import Any, Literal

from pydantic import Field, create_model

from app.web.contract.base import Reply
from backtune.jobs.store import ACTIVE, FINISHED
from backtune.metrics import METRICS, Metrics

JobStatus = Literal[(*ACTIVE, *FINISHED)]  # type: ignore[valid-type]


class ErrorDetail(Reply):
    code: str = Field(description="Machine-readable reason, e.g. invalid_field, unknown_field, body_too_large")
    message: str = Field(description="What is wrong, starting with the field's name")
    field: str | None = Field(description="The input at fault, as the client named it")


class Error(Reply):
    """Every 4xx answer."""

    error: ErrorDetail


class Health(Reply):
    status: str
    unwritable: list[str] | None = Field(None, description="Folders that cannot be written (readiness)")


class JobLinks(Reply):
    self: str = Field(description="/api/jobs/{job_id}")
    results: str
    dashboard: str = Field(description="The run's study in the embedded optuna-dashboard")
    page: str = Field(description="The job's page in the UI")


def _metric_type(key: str) -> Any:
    return (int if typing.get_type_hints(Metrics)[key] is int else float) | None


MetricsReply = create_model(
    "Metrics",
    __base__=Reply,
    __doc__="Figures over the trading window; formulas in docs/metrics.md",
    **{
        spec.key: (_metric_type(spec.key), Field(description=f"{spec.label} ({spec.unit}); null when undefined"))
        for spec in METRICS
    },
)


class TrialMetrics(MetricsReply):  # type: ignore[misc, valid-type]
    """A trial's metrics, with its composite score (docs/optimization.md)."""

    score: float | None = Field(description="Composite score, 0..100")
    sharpe_per_bar: float | None = Field(
        None,
        description="Per-bar Sharpe ratio of the window's returns, not "
        "annualised (docs/robustness.md); null when undefined",
    )
    returns_skew: float | None = Field(None, description="Skewness of the per-bar returns; null when undefined")
    returns_kurtosis: float | None = Field(
        None, description="Raw kurtosis of the per-bar returns (normal = 3); null when undefined"
    )
    n_returns: int | None = Field(None, description="Per-bar returns in the window")
    psr: float | None = Field(
        None,
        description="Probabilistic Sharpe ratio PSR(0): probability the true Sharpe "
        "ratio is above 0; completed trials of a finished run",
    )
    dsr: float | None = Field(
        None,
        description="Deflated Sharpe ratio: PSR against the best Sharpe ratio the run's "
        "trials would reach by luck; completed trials of a finished run",
    )
