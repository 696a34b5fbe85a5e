"""What the API says about a job, read from its run directory only (any web worker can answer)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from app.web.errors import ApiError
from backtune.jobs.recovery import recover_if_orphaned
from backtune.jobs.runs_storage import ReadOnlyRunsStorage
from backtune.jobs.scheduler import queue_position, schedule
from backtune.jobs.store import FINISHED, JobStore
from backtune.jobs.study_ids import dashboard_study_id
from backtune.optimize.config import RunConfig
from backtune.optimize.results import ranked_trials
from backtune.optimize.rundir import RunDir


def jobs_store() -> JobStore:
    """The app's job store (one per app, over its runs folder)."""
    return current_app.config["JOBS"]


def find_job(job_id: str) -> RunDir:
    """The job's run directory, or the API's 404 naming ``job_id``."""
    run = jobs_store().run(job_id)
    if run is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}", "job_id")
    return run


def job_links(store: JobStore, job_id: str) -> dict[str, str]:
    study_id = dashboard_study_id(store.runs_dir, job_id)
    return {
        "self": f"/api/jobs/{job_id}",
        "results": f"/api/jobs/{job_id}/results",
        "dashboard": f"/dashboard/studies/{study_id}",
        "page": f"/jobs/{job_id}",
    }


def notice_dead_coordinator(store: JobStore, run: RunDir) -> bool:
    """Mark the job interrupted (trials kept, resumable) if its coordinator died while it
    ran, and start the next queued job in its place; True if it had died."""
    if not recover_if_orphaned(store, run):
        return False
    schedule(store, current_app.config["SETTINGS"].max_jobs)
    return True


def job_record(store: JobStore, run: RunDir, detail: bool = True) -> dict[str, Any]:
    """What a client sees of a job: status, progress, best value, links. A job whose
    coordinator has died is noticed here, so every status read reports it within one poll."""
    notice_dead_coordinator(store, run)
    state = store.state(run)
    request = run.read_json(run.config_file)
    summary = state.get("summary") or {}
    progress = state.get("progress") or {}
    best = (summary.get("best") or {}).get("value", progress.get("best_value"))
    record: dict[str, Any] = {
        "job_id": run.run_id,
        "kind": state.get("kind", "optimize"),
        "status": state["status"],
        "strategy": request["strategy"],
        "dataset": state.get("dataset_name") or request["data"].rsplit("/", 1)[-1],
        "target": request["target"],
        "created": state.get("created"),
        "started": state.get("started"),
        "finished": state.get("finished"),
        "best_value": best,
        "trials": (summary.get("trials") or progress.get("counts") or {}).get("total", 0),
        "queue_position": queue_position(store, run.run_id),
        "links": job_links(store, run.run_id),
    }
    if detail:
        record.update(progress=progress or None, summary=summary or None, error=state.get("error"), config=request)
    return record


def result_rows(
    storage: ReadOnlyRunsStorage, run: RunDir, status: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Ranked rows: the final results file once finished, else the live copy of the study.

    The live copy is read through the dashboard's storage: read-only (a reader must never
    write to a file the coordinator is creating) and incremental (only new trials are
    read on each poll).
    """
    if status in FINISHED and run.results_file.exists():
        results = run.read_json(run.results_file)
        return results["summary"], results["results"]
    try:
        trials = storage.get_all_trials(dashboard_study_id(storage.runs_dir, run.run_id), deepcopy=False)
    except KeyError:  # no study file written yet
        return None, []
    return None, ranked_trials(trials, RunConfig.parse(run.read_json(run.config_file)))
