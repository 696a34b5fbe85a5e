"""``/api/jobs``: a job's state, progress, ranked results, one trial, cancel and resume."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, RootModel

from app.web.contract.base import Body, FiniteFloat, Form, ParamValue, Reply
from app.web.contract.models.backtest import BacktestReport
from app.web.contract.models.common import JobLinks, JobStatus, TrialMetrics
from app.web.contract.models.remote import WorkerInfo
from app.web.contract.models.robustness import PlateauSummary, RunSummary
from backtune.metrics import METRIC_KEYS
from backtune.robustness.returns import TRIAL_METRICS

SORT_KEYS = ("rank", "robust_rank", "number", "score", "percentile_score", *METRIC_KEYS, *TRIAL_METRICS)


class JobAccepted(Reply):
    job_id: str
    status: JobStatus  # type: ignore[valid-type]
    links: JobLinks


class Progress(Reply):
    done: int = Field(description="Trials finished (complete, pruned or failed)")
    counts: dict[str, int] = Field(description="Trials by state, and total")
    trial_limit: int | None
    deadline: float | None = Field(description="Unix time the time budget ends")
    elapsed_s: float
    trials_per_s: float
    eta_s: float | None
    best_value: float | None
    best_number: int | None
    best_params: dict[str, ParamValue] | None
    workers: list[WorkerInfo] = Field(description="Every worker of the job, local and remote")
    phase: Literal["searching", "finishing"] = Field(
        "searching",
        description="finishing: every worker has stopped; the study is being dumped, ranked and its best "
        "trials' neighbourhoods tested",
    )


class WalkForwardProgress(Reply):
    """A walk-forward job's progress: which window runs, and its study's progress."""

    window: int = Field(description="The window running (0-based)")
    windows: int = Field(description="Windows in the schedule")
    windows_done: int = Field(description="Windows finished")
    study: str = Field(description="The window's study (run id)")
    done: int = Field(description="Trials finished in the window's study")
    trial_limit: int | None = Field(description="The window's trial budget")
    best_value: float | None = Field(description="The window's best target value so far")
    elapsed_s: float = Field(description="Seconds the window's study has run")


class Job(Reply):
    job_id: str
    kind: Literal["optimize", "walkforward"] = Field(
        description="An optimisation, or a walk-forward (GET /api/jobs/{job_id}/walkforward)"
    )
    status: JobStatus  # type: ignore[valid-type]
    strategy: str
    dataset: str
    target: list[str]
    created: float | None = Field(description="Unix time")
    started: float | None
    finished: float | None
    best_value: float | None
    trials: int
    queue_position: int | None = Field(description="1 = next to start; null unless queued")
    links: JobLinks
    progress: Progress | WalkForwardProgress | None = Field(None, description="Only in a single job's detail")
    summary: RunSummary | None = Field(None, description="The run's summary once it ended")
    error: str | None = Field(None, description="Why the job failed")
    config: dict[str, Any] | None = Field(None, description="The run's configuration as the engine stores it")


class Queued(RootModel[JobAccepted | Job]):
    """A new job, or (after ?wait=true) the job still going."""


class JobList(Reply):
    jobs: list[Job]
    total: int


class ResultRow(Reply):
    rank: int | None
    number: int
    state: str
    params: dict[str, ParamValue]
    values: list[float | None] | None
    score: float | None
    percentile_score: float | None
    metrics: TrialMetrics
    pareto: bool | None = Field(None, description="On the Pareto front (multi-objective runs)")
    pruned_reason: str | None = None
    robust_rank: int | None = Field(
        None, description="1 = the best of the run's plateau_top best trials by retention (robust best)"
    )
    plateau: PlateauSummary | None = Field(None, description="The plateau of one of the plateau_top best trials")


class Results(Reply):
    job_id: str
    status: JobStatus  # type: ignore[valid-type]
    summary: RunSummary | None
    total: int
    offset: int | None = None
    limit: int | None = None
    results: list[ResultRow]
    links: JobLinks | None = Field(None, description="With ?wait=true")


class Trial(BacktestReport):
    number: int
    metrics: TrialMetrics


class ResultsQuery(Form):
    limit: int = Field(100, ge=1, description="Page size")
    offset: int = Field(0, ge=0, description="Rows to skip")
    sort: Literal[SORT_KEYS] | None = Field(None, description="Column to sort by")  # type: ignore[valid-type]
    order: Literal["asc", "desc"] | None = Field(None, description="Sort order")
    format: Literal["json", "csv"] = Field("json", description="csv for the spreadsheet export (finished jobs)")


class ResumeRequest(Body):
    """Give trials or seconds (or both)."""

    trials: int | None = Field(None, ge=1, description="More trials; at most BACKTUNE_MAX_TRIALS")
    seconds: FiniteFloat | None = Field(None, gt=0, description="More seconds; at most BACKTUNE_MAX_RUN_S")
