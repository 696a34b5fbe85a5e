"""What a worker on another machine needs to join a job (``python -m app worker``).

``GET /api/jobs/<id>/plan`` gives it the job's settings, the shared study (database URL
and study name), the global budget and the dataset to fetch; ``GET /api/datasets/<id>/file``
gives the dataset's bytes, which the worker checks against the plan's sha256; ``GET
/api/jobs/<id>/workers`` lists every worker that joined, local or remote. Only jobs whose
study lives in a database (``BACKTUNE_DATABASE_URL``) can be joined: a journal is a file
on this server. The plan holds the database URL, credentials included, so a server
reachable by others should set ``BACKTUNE_API_TOKEN`` (docs/scale-out.md).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import Blueprint, Response, jsonify

from app.web.contract.models.remote import DatasetRef, JobPlan, WorkerInfo, WorkerList
from app.web.contract.registry import Answer, operation
from app.web.datasource import dataset_store
from app.web.errors import ApiError
from app.web.jobs_view import find_job, jobs_store
from backtune.data.store import ID_LENGTH, StoredDataset, UnknownDatasetError
from backtune.jobs.store import RUNNING
from backtune.optimize.storage_url import is_database_url

bp = Blueprint("remote", __name__)
_STORED_CSV = re.compile(r"^[0-9a-f]{64}$")


def shared_study(database_url: str) -> dict[str, str]:
    """Run settings that put a web job's live study in the database, under a name of its own."""
    return {"storage": database_url, "study_name": f"backtune-{secrets.token_hex(8)}"}


@bp.get("/api/jobs/<job_id>/plan")
@operation(
    "remote workers",
    "What a worker on another host needs to join the job",
    replies={200: JobPlan},
    errors=(404, 409),
    path_params={"job_id": "Job id"},
    description="Only jobs whose study lives in a database (BACKTUNE_DATABASE_URL) can be joined: 409 "
    "`not_shared` otherwise. The plan holds the database URL: set BACKTUNE_API_TOKEN.",
)
def job_plan(job_id: str):
    run = find_job(job_id)
    state = jobs_store().state(run)
    config = run.read_json(run.config_file)
    storage = state.get("storage") or ""
    if not is_database_url(storage):
        raise ApiError(
            409,
            "not_shared",
            f"job {job_id} keeps its study in a journal file on this server; only "
            "jobs started with BACKTUNE_DATABASE_URL set can be joined",
            "job_id",
        )
    heartbeat = state.get("heartbeat") or (None, None)
    plan = JobPlan(
        job_id=run.run_id,
        status=state["status"],
        # ``closing`` is False once the coordinator has set this run's budget, True once it ends.
        accepting=state["status"] == RUNNING and state.get("closing") is False and not run.stop_requested,
        config=config,
        storage=storage,
        study_name=config["study_name"],
        trial_limit=state.get("trial_limit"),
        deadline=state.get("deadline"),
        heartbeat_interval=heartbeat[0],
        grace_period=heartbeat[1],
        dataset=_dataset_ref(_job_dataset(Path(config["data"]))),
    )
    return jsonify(plan.model_dump())


@bp.get("/api/datasets/<dataset_id>/file")
@operation(
    "datasets",
    "The dataset's CSV bytes as uploaded (a remote worker checks them against the plan's sha256)",
    replies={200: Answer(None, "The CSV file", media={"text/csv": {"schema": {"type": "string"}}})},
    errors=(404,),
    path_params={"dataset_id": "Dataset id (16 hex characters)"},
)
def dataset_file(dataset_id: str):
    store = dataset_store()
    try:
        entry = store.get(dataset_id)
    except UnknownDatasetError as exc:
        raise ApiError(404, "unknown_dataset", exc.message, "dataset") from None
    return Response(
        store.path(entry.id).read_bytes(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{entry.id}.csv"'},
    )


@bp.get("/api/jobs/<job_id>/workers")
@operation(
    "remote workers",
    "Every worker of the job, local and remote, with its host and last heartbeat",
    replies={200: WorkerList},
    errors=(404,),
    path_params={"job_id": "Job id"},
)
def job_workers(job_id: str):
    run = find_job(job_id)
    progress = jobs_store().state(run).get("progress") or {}
    workers = [
        WorkerInfo(**{key: row.get(key) for key in WorkerInfo.model_fields}) for row in progress.get("workers") or []
    ]
    return jsonify(WorkerList(job_id=run.run_id, workers=workers).model_dump())


def _job_dataset(path: Path) -> StoredDataset:
    """The stored dataset a job reads: its own entry for an upload or a dataset id; a file
    named by ``csvPath`` is added to the store (by content, so once), so it can be served."""
    store = dataset_store()
    if path.parent == store.root and _STORED_CSV.match(path.stem):
        try:
            return store.get(path.stem[:ID_LENGTH])
        except UnknownDatasetError:
            pass
    entry, _ = store.add(path.read_bytes(), path.name, max_bytes=None)
    return entry


def _dataset_ref(entry: StoredDataset) -> DatasetRef:
    return DatasetRef(id=entry.id, name=entry.name, sha256=entry.sha256, file=f"/api/datasets/{entry.id}/file")
