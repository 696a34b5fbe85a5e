"""Datasets kept on disk by content, so the web app can refer to an upload by a short id.

Addressing by sha256 makes a re-upload of the same bytes free and idempotent, gives ids
that every web worker and every restart agree on without a database, and lets the parse
cache (keyed by the same digest) serve the bars. The bundled samples are copied in at
first use, so the UI lists them beside the user's uploads with nothing to configure.

Layout under ``<data_dir>``::

    datasets/<sha256>.csv   the bytes exactly as uploaded
    datasets/<id>.json      StoredDataset: names, upload time, sample flag, format version,
                            DataSummary (or ParseFailure)
    cache/                  parsed bars (see backtune.data.cache)
    locks/<id>.lock         held while an entry is created, so one upload creates it

Every file is written to a temporary name and renamed into place, and the metadata last,
so a reader (another worker, a crash) sees a complete entry or none. Names given by a
user are labels only: paths are built from the digest and nothing else.

A summary records the reading rules that made it (FORMAT_VERSION). One made by other
rules is rebuilt from the kept bytes when the entry is next read, since the old rules
may have read the file wrongly (version 1 took YYYYMMDD dates for 1970 epochs); a file
the current rules reject stays listed, with its located error in place of a summary.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from backtune.data.errors import DataError
from backtune.data.isolated import summarise_file
from backtune.data.loader import DEFAULT_MAX_BYTES, Dataset, load_csv, load_csv_bytes
from backtune.data.ohlcv import OHLCV
from backtune.data.samples import available_samples
from backtune.data.summary import DataSummary
from backtune.data.version import FORMAT_VERSION
from backtune.files import atomic_writer, exclusive_lock
from backtune.report import iso_utc

# 64 bits of the digest: short enough to type, far from any chance collision.
ID_LENGTH = 16
_ID = re.compile(rf"^[0-9a-f]{{{ID_LENGTH}}}$")
PREVIEW_ROWS = 5
COPY_CHUNK = 1 << 20
# Uploads larger than this are validated in a process of their own (backtune.data.isolated).
ISOLATE_ABOVE_BYTES = 4 << 20
CHART_POINTS = 500
# Entries written before they recorded a version were all made by the first rules.
_UNVERSIONED = 1

log = logging.getLogger(__name__)


class UnknownDatasetError(LookupError):
    def __init__(self, dataset_id: str) -> None:
        super().__init__(dataset_id)
        self.dataset_id = dataset_id
        self.message = f"no dataset {dataset_id!r} (see the dataset list for the ids)"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ParseFailure:
    """Why a stored file does not parse under the current rules.

    Kept in the entry, so listing it costs no parse and still tells the user where the
    file is wrong; ``message`` is located as DataError prints it.
    """

    message: str
    reason: str
    row: int | None
    column: str | None

    @classmethod
    def of(cls, error: DataError) -> ParseFailure:
        return cls(message=str(error), reason=error.reason, row=error.row, column=error.column)

    def as_error(self, file: str) -> DataError:
        return DataError(self.reason, file=file, row=self.row, column=self.column)


@dataclass(frozen=True)
class StoredDataset:
    """What the store knows about one dataset without reading its bars.

    ``summary`` is what reading rules ``format_version`` made of the file; it is None when
    those rules reject the file, and ``error`` then says why.
    """

    id: str
    name: str
    file_name: str
    uploaded_at: str
    sample: bool
    description: str
    sha256: str
    format_version: int
    summary: DataSummary | None
    error: ParseFailure | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredDataset:
        summary, error = data.get("summary"), data.get("error")
        return cls(
            **{
                **data,
                # Unversioned entries kept the digest in their summary only.
                "sha256": data.get("sha256") or summary["sha256"],
                "format_version": data.get("format_version", _UNVERSIONED),
                "summary": DataSummary(**summary) if summary else None,
                "error": ParseFailure(**error) if error else None,
            }
        )


class DatasetStore:
    """Uploaded and sample datasets under ``data_dir``; safe to share between processes."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "datasets"
        self.cache_dir = Path(data_dir) / "cache"
        self.locks = Path(data_dir) / "locks"
        self._samples_registered = False

    def add(
        self,
        data: bytes,
        file_name: str,
        *,
        name: str | None = None,
        sample: bool = False,
        description: str = "",
        max_bytes: int | None = DEFAULT_MAX_BYTES,
    ) -> tuple[StoredDataset, bool]:
        """Validate and keep ``data``; returns the entry and whether it is new.

        Bytes already stored return their existing entry unparsed (the first name wins).
        A file the loader rejects raises its DataError and leaves nothing behind; so do
        stored bytes that the current rules reject, as they would as a new upload.
        """
        digest = hashlib.sha256(data).hexdigest()
        return self._keep(
            digest,
            file_name,
            name,
            sample,
            description,
            lambda: load_csv_bytes(data, file_name, max_bytes=max_bytes, cache_dir=self.cache_dir).summary,
            lambda target: _write_bytes(target, data),
        )

    def add_stream(
        self,
        stream: BinaryIO,
        file_name: str,
        *,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
    ) -> tuple[StoredDataset, bool]:
        """``add`` for an upload still being read: copied to a file in the store while it is
        hashed, then parsed from that file, so the upload is never whole in memory. A file
        over ``max_bytes`` raises DataError as soon as the copy passes it, keeping nothing."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-", suffix=".csv")
        temp = Path(temp_name)
        try:
            with os.fdopen(handle, "wb") as out:
                digest = _copy_hashing(stream, out, file_name, max_bytes)
            return self._keep(
                digest,
                file_name,
                None,
                False,
                "",
                lambda: self._summarise(temp, file_name, digest),
                lambda target: os.replace(temp, target),
            )
        finally:
            temp.unlink(missing_ok=True)

    def _summarise(self, path: Path, file_name: str, digest: str) -> DataSummary:
        """Small files are parsed here; larger ones in a process of their own
        (backtune.data.isolated), whose memory is returned when it ends."""
        if path.stat().st_size <= ISOLATE_ABOVE_BYTES:
            return load_csv(path, name=file_name, sha256=digest, max_bytes=None, cache_dir=self.cache_dir).summary
        return summarise_file(path, file_name, digest, self.cache_dir)

    def _keep(
        self,
        digest: str,
        file_name: str,
        name: str | None,
        sample: bool,
        description: str,
        summarise: Callable[[], DataSummary],
        put: Callable[[Path], None],
    ) -> tuple[StoredDataset, bool]:
        """The entry for ``digest``: the stored one, or a new one once ``summarise`` has
        validated the content and ``put`` has placed it at its path.

        Under a lock per content, so that of several uploads of the same bytes at once (from
        any worker process) exactly one parses and creates the entry and the others get
        that entry, with its name: never two 201s, never a name that was not kept.
        """
        dataset_id = digest[:ID_LENGTH]
        with exclusive_lock(self.locks / f"{dataset_id}.lock"):
            existing = self._read(dataset_id)
            if existing is not None and existing.error is not None:
                raise existing.error.as_error(file_name)
            if existing is not None:
                return existing, False
            summary = summarise()
            entry = StoredDataset(
                id=dataset_id,
                name=name or file_name,
                file_name=file_name,
                uploaded_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                sample=sample,
                description=description,
                sha256=digest,
                format_version=FORMAT_VERSION,
                summary=summary,
            )
            put(self._csv(digest))
            _write_bytes(self._meta(entry.id), _json_bytes(entry))
            return entry, True

    def get(self, dataset_id: str) -> StoredDataset:
        self._ensure_samples()
        entry = self._read(dataset_id) if _ID.match(dataset_id) else None
        if entry is None:
            raise UnknownDatasetError(dataset_id)
        return entry

    def list(self) -> list[StoredDataset]:
        """Samples first (by name), then uploads, newest first."""
        self._ensure_samples()
        if not self.root.is_dir():
            return []
        entries = [e for e in (self._read(p.stem) for p in self.root.glob("*.json")) if e is not None]
        samples = sorted((e for e in entries if e.sample), key=lambda e: e.name)
        uploads = sorted((e for e in entries if not e.sample), key=lambda e: e.uploaded_at, reverse=True)
        return samples + uploads

    def remove(self, dataset_id: str) -> None:
        """Forget an entry and its bytes (the entry first, so a reader never lists an
        entry without bytes)."""
        entry = self._read(dataset_id)
        if entry is None:
            return
        self._meta(dataset_id).unlink(missing_ok=True)
        self._csv(entry.sha256).unlink(missing_ok=True)

    def path(self, dataset_id: str) -> Path:
        return self._csv(self.get(dataset_id).sha256)

    def load(self, dataset_id: str) -> Dataset:
        """Bars and summary; parsed once per content, then served from the cache.

        Raises the entry's DataError, without parsing again, for a file the current
        rules reject.
        """
        entry = self.get(dataset_id)
        if entry.error is not None:
            raise entry.error.as_error(entry.file_name)
        data = self._csv(entry.sha256).read_bytes()
        return load_csv_bytes(data, entry.file_name, max_bytes=None, cache_dir=self.cache_dir)

    def _csv(self, sha256: str) -> Path:
        return self.root / f"{sha256}.csv"

    def _meta(self, dataset_id: str) -> Path:
        return self.root / f"{dataset_id}.json"

    def _read(self, dataset_id: str) -> StoredDataset | None:
        """The entry, or None when absent or unusable (its bytes gone, foreign JSON);
        a summary made by other reading rules is rebuilt first."""
        try:
            entry = StoredDataset.from_dict(json.loads(self._meta(dataset_id).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring unreadable dataset entry %s: %s", dataset_id, exc)
            return None
        if not self._csv(entry.sha256).is_file():
            return None
        return entry if entry.format_version == FORMAT_VERSION else self._rebuild(entry)

    def _rebuild(self, entry: StoredDataset) -> StoredDataset:
        """Re-read the kept bytes under the current rules, keeping everything the user gave
        (name, upload time, description). The rebuilt entry is served even if it cannot be
        written back: the next read then simply rebuilds it again."""
        data = self._csv(entry.sha256).read_bytes()
        try:
            loaded = load_csv_bytes(data, entry.file_name, max_bytes=None, cache_dir=self.cache_dir)
            fresh = replace(entry, format_version=FORMAT_VERSION, summary=loaded.summary, error=None)
        except DataError as exc:
            log.warning(
                "dataset %s (%s) does not parse under format version %d: %s", entry.id, entry.name, FORMAT_VERSION, exc
            )
            fresh = replace(entry, format_version=FORMAT_VERSION, summary=None, error=ParseFailure.of(exc))
        try:
            _write_bytes(self._meta(entry.id), _json_bytes(fresh))
        except OSError as exc:
            log.warning("could not rewrite dataset entry %s: %s", entry.id, exc)
        return fresh

    def _ensure_samples(self) -> None:
        """Copy the bundled samples in once per store; a sample that fails to load is
        logged and skipped, since the store is still useful without it."""
        if self._samples_registered:
            return
        for sample in available_samples().values():
            try:
                self.add(
                    sample.path.read_bytes(),
                    sample.path.name,
                    name=f"{sample.name} (sample)",
                    sample=True,
                    description=sample.description,
                    max_bytes=None,
                )
            except (OSError, ValueError) as exc:
                log.warning("sample %s not registered: %s", sample.name, exc)
        self._samples_registered = True


def preview(bars: OHLCV, rows: int = PREVIEW_ROWS) -> dict[str, list[dict[str, Any]]]:
    """The first and last ``rows`` bars as the loader read them, so a user can check that
    times and columns were interpreted as intended."""

    def row(i: int) -> dict[str, Any]:
        return {
            "time": iso_utc(bars.time[i]),
            "open": float(bars.open[i]),
            "high": float(bars.high[i]),
            "low": float(bars.low[i]),
            "close": float(bars.close[i]),
            "volume": float(bars.volume[i]) if bars.has_volume else None,
        }

    n = len(bars)
    return {"head": [row(i) for i in range(min(rows, n))], "tail": [row(i) for i in range(max(0, n - rows), n)]}


def close_chart(bars: OHLCV, max_points: int = CHART_POINTS) -> list[list[Any]]:
    """``[iso_time, close]`` pairs for a small price chart, at most ``max_points`` of them.

    Min/max-preserving rather than a plain stride: each of ``(max_points - 2) // 2`` equal
    buckets keeps its lowest and highest close (in time order), plus the first and last
    bar, so spikes and crashes that a stride would skip still show.
    """
    keep = _minmax_indices(bars.close, max_points)
    return [[iso_utc(t), float(c)] for t, c in zip(bars.time[keep].tolist(), bars.close[keep].tolist())]


def _minmax_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    n = values.shape[0]
    if n <= max_points:
        return np.arange(n)
    edges = np.linspace(0, n, num=max(1, (max_points - 2) // 2) + 1).astype(np.int64)
    chosen = [0, n - 1]
    for low, high in zip(edges[:-1].tolist(), edges[1:].tolist()):
        part = values[low:high]
        chosen += [low + int(np.argmin(part)), low + int(np.argmax(part))]
    return np.unique(chosen)


def _copy_hashing(stream: BinaryIO, out: BinaryIO, file_name: str, max_bytes: int | None) -> str:
    """Copy ``stream`` to ``out`` in chunks and return its sha256; DataError past ``max_bytes``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(COPY_CHUNK):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise DataError(f"the file is over the {max_bytes:,}-byte limit", file=file_name)
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


def _json_bytes(entry: StoredDataset) -> bytes:
    return json.dumps(entry.as_dict(), indent=1).encode("utf-8")


def _write_bytes(target: Path, data: bytes) -> None:
    with atomic_writer(target) as out:
        out.write(data)
