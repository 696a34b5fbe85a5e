"""What a worker on another machine reads to join a job (docs/scale-out.md)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.web.contract.base import Reply


class DatasetRef(Reply):
    id: str = Field(description="Dataset id in this server's store")
    name: str = Field(description="The dataset's display name")
    sha256: str = Field(description="SHA-256 of the CSV bytes; a worker refuses a file that does not match")
    file: str = Field(description="Where to download the CSV (GET)")


class JobPlan(Reply):
    job_id: str = Field(description="The job (run) id")
    status: str = Field(description="queued, running, done, failed, cancelled or interrupted")
    accepting: bool = Field(
        description="Whether workers should run trials now; false once the job is "
        "closing, cancelled or finished: a joined worker then stops"
    )
    config: dict[str, Any] = Field(
        description="The job's canonical run settings (strategy, space, window, "
        "target, sampler, pruner, budget, seed ...) as in run.json"
    )
    storage: str = Field(description="Database URL of the shared Optuna study")
    study_name: str = Field(description="Name of the shared study in that database")
    trial_limit: int | None = Field(description="Global trial number at which every worker stops, or null")
    deadline: float | None = Field(description="Global end time (Unix seconds) of a time budget, or null")
    heartbeat_interval: int | None = Field(description="Seconds between a running trial's heartbeats")
    grace_period: int | None = Field(
        description="Seconds without a heartbeat after which a trial is failed and retried once"
    )
    dataset: DatasetRef = Field(description="The bars every worker backtests on")


class WorkerInfo(Reply):
    index: int | None = Field(description="Worker index (the sampler's seed offset)")
    kind: str | None = Field(description="local (started by this server's coordinator) or remote")
    host: str | None = Field(description="Host name the worker runs on")
    pid: int | None = Field(description="Process id on that host")
    state: str | None = Field(description="running, stopped, done or failed")
    trials: int | None = Field(description="Trials this worker has run so far")
    last_heartbeat: float | None = Field(description="Unix time of the worker's last report (every 2 s)")
    error: str | None = Field(description="Why a local worker failed, if it did")


class WorkerList(Reply):
    job_id: str = Field(description="The job (run) id")
    workers: list[WorkerInfo] = Field(description="Every worker that joined the job, local first")
