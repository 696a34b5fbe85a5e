"""Stored dataset entries outlive the reading rules that summarised them.

Each test writes an entry as an older Backtune left it on disk (the raw bytes plus a
summary made by version-1 rules, which read YYYYMMDD dates as 1970 epochs), then reads it
through a fresh store, as a restarted server would.
"""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from backtune.data import store as store_module
from backtune.data.errors import DataError
from backtune.data.loader import load_csv
from backtune.data.store import DatasetStore
from backtune.data.version import FORMAT_VERSION
from tests.helpers import MIXED_CSV, YYYYMMDD_CSV, v1_summary, write_v1_entry


@pytest.fixture
def no_samples(monkeypatch):
    """Only the entries a test writes: the bundled samples would be parsed and listed too."""
    monkeypatch.setattr(store_module, "available_samples", dict)


@pytest.fixture
def parse_calls(monkeypatch):
    calls = []
    real = store_module.load_csv_bytes

    def counting(data, name, **kwargs):
        calls.append(name)
        return real(data, name, **kwargs)

    monkeypatch.setattr(store_module, "load_csv_bytes", counting)
    return calls


@pytest.mark.parametrize(
    "version_field", [{}, {"format_version": FORMAT_VERSION - 1}], ids=["unversioned", "older-version"]
)
def test_a_stale_summary_is_rebuilt_from_the_kept_file(tmp_path, no_samples, parse_calls, version_field):
    dataset_id = write_v1_entry(
        tmp_path, YYYYMMDD_CSV, v1_summary("1970-08-23T06:15:02Z", "1970-08-23T06:15:04Z"), **version_field
    )

    [listed] = DatasetStore(tmp_path).list()
    assert (listed.id, listed.format_version, listed.error) == (dataset_id, FORMAT_VERSION, None)
    assert (listed.summary.first_time, listed.summary.last_time) == ("2024-01-02T00:00:00Z", "2024-01-04T00:00:00Z")
    assert (listed.summary.interval_label, listed.summary.columns["time"]) == ("1D", "date")
    assert (listed.name, listed.file_name, listed.uploaded_at, listed.description) == (
        "my prices",
        "prices.csv",
        "2025-01-05T10:00:00Z",
        "daily closes",
    )
    assert parse_calls == ["prices.csv"]

    on_disk = json.loads((tmp_path / "datasets" / f"{dataset_id}.json").read_text())
    assert on_disk["format_version"] == FORMAT_VERSION and on_disk["summary"]["first_time"] == "2024-01-02T00:00:00Z"
    fresh = DatasetStore(tmp_path)
    assert fresh.get(dataset_id) == listed and fresh.path(dataset_id).read_bytes() == YYYYMMDD_CSV
    assert fresh.load(dataset_id).summary == listed.summary
    assert parse_calls == ["prices.csv", "prices.csv"], "only load() parses once the entry is current"


def test_a_stale_file_the_new_rules_reject_stays_listed_with_its_located_error(tmp_path, no_samples, parse_calls):
    dataset_id = write_v1_entry(tmp_path, MIXED_CSV, v1_summary("1970-08-23T06:15:02Z", "2024-01-04T00:00:00Z"))

    [listed] = DatasetStore(tmp_path).list()
    assert listed.id == dataset_id and listed.summary is None and listed.format_version == FORMAT_VERSION
    assert (listed.error.row, listed.error.column) == (4, "time")
    assert listed.error.message.startswith("prices.csv, row 4, column 'time': cannot read time 1704326400")

    fresh = DatasetStore(tmp_path)
    assert fresh.get(dataset_id) == listed
    with pytest.raises(DataError) as loading:
        fresh.load(dataset_id)
    assert str(loading.value) == listed.error.message and loading.value.column == "time"
    assert parse_calls == ["prices.csv"], "the failure is kept, not found again by parsing on every read"

    with pytest.raises(DataError) as again:
        fresh.add(MIXED_CSV, "again.csv")
    assert (again.value.file, again.value.row, again.value.column) == ("again.csv", 4, "time")
    assert fresh.path(dataset_id).read_bytes() == MIXED_CSV
    assert [e.id for e in fresh.list()] == [dataset_id]


def test_a_current_entry_is_served_without_parsing(tmp_path, no_samples, parse_calls):
    store = DatasetStore(tmp_path)
    entry, created = store.add(YYYYMMDD_CSV, "prices.csv")
    assert created and entry.format_version == FORMAT_VERSION
    assert entry.sha256 == hashlib.sha256(YYYYMMDD_CSV).hexdigest()
    assert DatasetStore(tmp_path).list() == [entry]
    assert DatasetStore(tmp_path).add(YYYYMMDD_CSV, "renamed.csv") == (entry, False)
    assert parse_calls == ["prices.csv"]


def big_csv(rows: int, bad_row: int | None = None) -> bytes:
    """A 15-minute OHLCV file of ``rows`` bars, above the size parsed in a child process;
    with ``bad_row``, that data row's high is below its low."""
    lines = ["time,open,high,low,close,volume"]
    for i in range(rows):
        high, low = (99.0, 101.0) if i + 1 == bad_row else (101.0, 99.0)
        lines.append(f"{1_600_000_000 + 900 * i},100.0,{high},{low},100.5,1234.5")
    return ("\n".join(lines) + "\n").encode()


def test_a_large_upload_is_parsed_in_a_child_with_the_same_summary(tmp_path, no_samples):
    data = big_csv(160_000)
    assert len(data) > store_module.ISOLATE_ABOVE_BYTES
    store = DatasetStore(tmp_path / "store")
    streamed, _ = store.add_stream(io.BytesIO(data), "big.csv")
    (tmp_path / "big.csv").write_bytes(data)
    direct = load_csv(tmp_path / "big.csv", name="big.csv", max_bytes=None).summary
    assert streamed.summary == direct and streamed.summary.rows == 160_000


def test_a_large_upload_with_a_bad_row_is_refused_naming_it_and_kept_nowhere(tmp_path, no_samples):
    store = DatasetStore(tmp_path / "store")
    with pytest.raises(DataError) as refused:
        store.add_stream(io.BytesIO(big_csv(160_000, bad_row=120_001)), "big.csv")
    assert refused.value.file == "big.csv" and refused.value.row is not None and refused.value.row >= 120_001
    assert "high" in str(refused.value).lower()
    assert store.list() == [] and not [p for p in (tmp_path / "store").rglob("*.csv")]
