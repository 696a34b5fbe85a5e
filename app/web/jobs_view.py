"""What the API says about a job, read from its run directory only (any web worker can answer)."""

from __future__ import annotations

from typing import Any

import optuna

from backtune.jobs.catalog import dashboard_study_id
from backtune.jobs.scheduler import queue_position
from backtune.jobs.store import FINISHED, JobStore
from backtune.optimize.config import RunConfig
from backtune.optimize.results import ranked_trials
from backtune.optimize.rundir import RunDir


def job_links(store: JobStore, job_id: str) -> dict[str, str]:
    study_id = dashboard_study_id(store.runs_dir, job_id)
    return {"self": f"/api/jobs/{job_id}", "results": f"/api/jobs/{job_id}/results",
            "dashboard": f"/dashboard/studies/{study_id}", "page": f"/jobs/{job_id}"}


def job_record(store: JobStore, run: RunDir, detail: bool = True) -> dict[str, Any]:
    state = store.state(run)
    request = run.read_json(run.config_file)
    summary = state.get("summary") or {}
    progress = state.get("progress") or {}
    best = (summary.get("best") or {}).get("value", progress.get("best_value"))
    record: dict[str, Any] = {
        "job_id": run.run_id,
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
        record.update(progress=progress or None, summary=summary or None, error=state.get("error"),
                      config=request)
    return record


def result_rows(run: RunDir, status: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Ranked rows: the final results file once finished, else the live copy of the study."""
    if status in FINISHED and run.results_file.exists():
        results = run.read_json(run.results_file)
        return results["summary"], results["results"]
    source = run.live_sqlite if run.live_sqlite.exists() else run.sqlite
    if not source.exists():
        return None, []
    config = RunConfig.parse(run.read_json(run.config_file))
    study = optuna.load_study(study_name=config.study_name, storage=f"sqlite:///{source}")
    return None, ranked_trials(study.get_trials(deepcopy=False), config)
