"""Datasets: upload a CSV once, then refer to it by id in backtests and optimisations."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from app.web.contract.models.datasets import Dataset, DatasetDetail, DatasetList, UploadForm
from app.web.contract.registry import Answer, operation
from app.web.datasource import data_errors, dataset_store, store_upload, uploaded_file
from app.web.errors import ApiError
from backtune.data.store import UnknownDatasetError, close_chart, preview

bp = Blueprint("datasets", __name__, url_prefix="/api/datasets")


@bp.post("")
@operation(
    "datasets",
    "Upload an OHLCV CSV",
    form=UploadForm,
    description="Stored by content: the same bytes again return the existing entry (200).",
    replies={200: Answer(Dataset, "Already stored"), 201: Answer(Dataset, "Stored", location="/api/datasets/{id}")},
    errors=(400, 413),
)
def upload():
    """201 and a Location for new content; 200 with the existing entry for bytes already stored."""
    upload = uploaded_file(request.files)
    if upload is None:
        raise ApiError(400, "missing_file", "send the CSV as a multipart/form-data field named 'file'", "file")
    entry, created = store_upload(upload)
    response = jsonify(entry.as_dict())
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/api/datasets/{entry.id}"
    return response


@bp.get("")
@operation("datasets", "Stored datasets: samples first, then uploads, newest first", replies={200: DatasetList})
def list_datasets():
    """Every entry, those whose file the current rules reject included, with ``error``
    saying where, so that an upload never vanishes from the list."""
    entries = dataset_store().list()
    return jsonify({"datasets": [e.as_dict() for e in entries], "total": len(entries)})


@bp.get("/<dataset_id>")
@operation(
    "datasets",
    "One dataset: summary, first/last rows and a small close chart",
    replies={200: DatasetDetail},
    description="`invalid_data` (400) with the located error when the current reading rules reject the stored file.",
    errors=(400, 404),
    path_params={"dataset_id": "Dataset id (16 hex characters)"},
)
def get_dataset(dataset_id: str):
    """A file the current rules reject answers ``invalid_data`` with its located error, as
    a backtest on it would."""
    store = dataset_store()
    try:
        entry = store.get(dataset_id)
    except UnknownDatasetError as exc:
        raise ApiError(404, "unknown_dataset", exc.message, "dataset") from None
    with data_errors("dataset"):
        bars = store.load(dataset_id).bars
    return jsonify({**entry.as_dict(), "preview": preview(bars), "chart": close_chart(bars)})
