"""Where a request's bars come from: an upload, a stored dataset id or a server-side path.

Every endpoint that runs a backtest or an optimisation accepts the same three sources,
so the rules live here once: exactly one source per request, ids looked up in the
dataset store, and ``csvPath`` confined to BACKTUNE_CSV_ROOTS after resolving ``..`` and
symlinks (a path is a capability to read the server's disk, so it is checked against
where it really points, not how it is spelled).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from app.web.errors import ApiError
from backtune.data.errors import DataError
from backtune.data.loader import DEFAULT_MAX_BYTES, load_csv
from backtune.data.ohlcv import OHLCV
from backtune.data.store import DatasetStore, StoredDataset, UnknownDatasetError

SOURCES = ("file", "dataset", "csvPath")
_STORE_KEY = "backtune.datasets"


@dataclass(frozen=True)
class RequestDataset:
    """A request's data, resolved and loaded: ``name`` is what a job list shows."""

    path: Path
    bars: OHLCV
    name: str
    new_upload: str | None = None  # the id of an upload this request stored for the first time


def dataset_store() -> DatasetStore:
    """The app's store, made on first use so the app factory needs no knowledge of it."""
    store = current_app.extensions.get(_STORE_KEY)
    if store is None:
        store = current_app.extensions[_STORE_KEY] = DatasetStore(current_app.config["SETTINGS"].data_dir)
    return store


def resolve_dataset(source: Mapping[str, Any]) -> Path:
    """The CSV named by ``dataset`` (a store id) or ``csvPath`` in a JSON body or a form.

    Raises ApiError naming the field: 400 for neither or both, 404 for an unknown id or
    a missing file, 403 (``forbidden_path``) for a path outside the CSV roots.
    """
    return _locate(source)[0]


def dataset_for_request(fields: Mapping[str, Any], files: Mapping[str, FileStorage] | None = None) -> RequestDataset:
    """Like resolve_dataset, also accepting an uploaded ``file`` (kept in the store, so a
    job's data outlives the request), and with the bars loaded."""
    upload = uploaded_file(files or {})
    new_upload = None
    if upload is None:
        path, name = _locate(fields)
        field = "dataset" if fields.get("dataset") else "csvPath"
    else:
        _exclusive(fields, given="file")
        entry, created = store_upload(upload)
        path, name, field = dataset_store().path(entry.id), entry.name, "file"
        new_upload = entry.id if created else None
    # Stored files were bounded when uploaded; a server-side path gets the loader's guard.
    limit = DEFAULT_MAX_BYTES if field == "csvPath" else None
    with data_errors(field):
        bars = load_csv(path, max_bytes=limit, cache_dir=dataset_store().cache_dir).bars
    return RequestDataset(path=path, bars=bars, name=name, new_upload=new_upload)


@contextmanager
def discard_new_upload(dataset: RequestDataset) -> Iterator[None]:
    """Remove the upload a request stored if the request then fails: a rejected request
    stores nothing (bytes that were already stored stay)."""
    try:
        yield
    except Exception:
        if dataset.new_upload is not None:
            dataset_store().remove(dataset.new_upload)
        raise


def uploaded_file(files: Mapping[str, FileStorage]) -> FileStorage | None:
    """The ``file`` part, or None when absent or sent with no file name: a browser form
    posts an empty part for a file input left blank, which is no upload."""
    upload = files.get("file")
    return upload if upload is not None and upload.filename else None


def store_upload(upload: FileStorage) -> tuple[StoredDataset, bool]:
    """Keep an uploaded CSV, streamed to disk and parsed from there (werkzeug has already
    spooled a large upload to a temporary file); the client's file name becomes a
    sanitised label, never a path."""
    limit = int(current_app.config["SETTINGS"].max_upload_mb * 1024 * 1024)
    name = secure_filename(upload.filename or "") or "upload.csv"
    stream = upload.stream  # werkzeug's parts are seekable: memory or a temporary file
    if stream.seek(0, os.SEEK_END) == 0:
        raise ApiError(400, "empty_file", "the uploaded file is empty", "file")
    stream.seek(0)
    with data_errors("file"):
        return dataset_store().add_stream(stream, name, max_bytes=limit)


def resolve_csv_path(text: Any, roots: Sequence[Path]) -> Path:
    """The real path of an existing file under one of ``roots``.

    A relative path is tried against each root in order. ``..`` and symlinks are
    resolved before the containment check, so neither can lead outside.
    """
    if not isinstance(text, str) or not text.strip() or "\0" in text:
        raise ApiError(400, "invalid_field", f"csvPath: expected a file path, got {text!r}", "csvPath")
    real_roots = [Path(os.path.realpath(root)) for root in roots]
    given = Path(text)
    candidates = [given] if given.is_absolute() else [root / given for root in real_roots]
    inside = [
        real
        for real in (Path(os.path.realpath(c)) for c in candidates)
        if any(real.is_relative_to(root) for root in real_roots)
    ]
    if not inside:
        raise ApiError(
            403,
            "forbidden_path",
            f"csvPath: {text!r} is outside the folders this server reads (BACKTUNE_CSV_ROOTS)",
            "csvPath",
        )
    found = next((real for real in inside if real.is_file()), None)
    if found is None:
        raise ApiError(404, "file_not_found", f"csvPath: no such file {text!r}", "csvPath")
    return found


def _locate(source: Mapping[str, Any]) -> tuple[Path, str]:
    """(path, display name) of the one source given."""
    dataset_id, csv_path = source.get("dataset"), source.get("csvPath")
    if dataset_id:
        _exclusive(source, given="dataset")
        if not isinstance(dataset_id, str):
            raise ApiError(400, "invalid_field", f"dataset: expected a dataset id, got {dataset_id!r}", "dataset")
        store = dataset_store()
        try:
            entry = store.get(dataset_id)
        except UnknownDatasetError as exc:
            raise ApiError(404, "unknown_dataset", exc.message, "dataset") from None
        return store.path(entry.id), entry.name
    if csv_path:
        path = resolve_csv_path(csv_path, current_app.config["SETTINGS"].csv_roots)
        return path, path.name
    raise ApiError(400, "missing_field", "give the data: a dataset id (GET /api/datasets) or a csvPath", "dataset")


def _exclusive(source: Mapping[str, Any], given: str) -> None:
    other = next((key for key in SOURCES if key != given and source.get(key)), None)
    if other is not None:
        raise ApiError(400, "conflicting_fields", f"give one data source, not both {given} and {other}", other)


@contextmanager
def data_errors(field: str) -> Iterator[None]:
    """A DataError names its column when it has one; otherwise the input that held the file."""
    try:
        yield
    except DataError as exc:
        raise ApiError(400, "invalid_data", str(exc), exc.column or field) from None
