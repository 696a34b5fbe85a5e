"""The data-facing web API as a client sees it: datasets, strategies, backtests, OpenAPI.

Requests go through Flask's test client into a real app whose folders live in tmp_path;
every answer is checked for its status and, for errors, the code and the field a form
would highlight.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage

from app import create_app
from app.web.datasource import dataset_for_request
from app.web.errors import ApiError
from backtune.data.loader import load_csv
from backtune.data.store import CHART_POINTS, DatasetStore
from backtune.engine.backtest import EngineSettings, run_backtest
from backtune.metrics import compute_metrics
from backtune.registry import get_strategy
from backtune.report import backtest_report
from backtune.window import DataWindow
from tests.conftest import LINK_15M, TRAILING_MA_CASE, backtesting_csv
from tests.helpers import MIXED_CSV, YYYYMMDD_CSV, v1_summary, write_v1_entry

GOOD_CSV = b"time,open,high,low,close\n" + b"".join(f"2025-01-{day:02d},1,2,0.5,1.5\n".encode() for day in range(1, 11))


def make_app(tmp_path: Path, **overrides: Any):
    roots = tmp_path / "csv"
    roots.mkdir(exist_ok=True)
    return create_app({"home": str(tmp_path), "csv_roots": (roots,), **overrides})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A CSV root holding GOOG.csv, a symlink out of the root and nothing else."""
    root = tmp_path / "csv"
    root.mkdir()
    (root / "goog.csv").write_bytes(backtesting_csv("GOOG").read_bytes())
    (root / "escape.csv").symlink_to(backtesting_csv("EURUSD"))
    (tmp_path / "outside.csv").write_bytes(GOOD_CSV)
    return tmp_path


@pytest.fixture
def app(home: Path):
    return make_app(home)


def upload(client: FlaskClient, data: bytes, name: str = "data.csv"):
    return client.post("/api/datasets", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def backtest(client: FlaskClient, **body: Any):
    return client.post("/api/backtest", json=body)


def assert_error(response, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == (code, field), error
    assert error["message"]
    return error


# --- datasets -------------------------------------------------------------------------


def test_upload_link_summarises_and_is_idempotent(client: FlaskClient, tmp_path: Path):
    data = LINK_15M.read_bytes()
    first = upload(client, data, "../../okx link 15m.csv")
    assert first.status_code == 201, first.get_json()
    entry = first.get_json()
    assert re.fullmatch(r"[0-9a-f]{16}", entry["id"])
    assert first.headers["Location"] == f"/api/datasets/{entry['id']}"
    assert entry["file_name"] == "okx_link_15m.csv" and not entry["sample"]
    summary = entry["summary"]
    assert summary["rows"] == 19_584
    assert (summary["interval_seconds"], summary["interval_label"]) == (900, "15m")
    assert summary["first_time"] == "2025-05-01T00:00:00Z" and summary["last_time"] == "2025-11-20T23:45:00Z"
    assert entry["id"] == summary["sha256"][:16]

    again = upload(client, data, "renamed.csv")
    assert again.status_code == 200 and again.get_json()["id"] == entry["id"]
    stored = sorted(p.name for p in (tmp_path / "data" / "datasets").iterdir())
    assert stored.count(f"{summary['sha256']}.csv") == 1
    assert not [name for name in stored if name.endswith(".tmp")]


def test_listing_includes_samples_and_uploads(client: FlaskClient):
    uploaded = upload(client, GOOD_CSV, "mine.csv").get_json()
    listing = client.get("/api/datasets").get_json()
    names = [d["name"] for d in listing["datasets"]]
    assert names[:3] == ["BTCUSD (sample)", "EURUSD (sample)", "GOOG (sample)"]
    assert all(d["sample"] for d in listing["datasets"][:3])
    assert listing["total"] == 4 and listing["datasets"][3]["id"] == uploaded["id"]


def test_detail_has_preview_and_a_bounded_chart(client: FlaskClient):
    entry = upload(client, LINK_15M.read_bytes()).get_json()
    detail = client.get(f"/api/datasets/{entry['id']}").get_json()
    assert detail["summary"] == entry["summary"]
    head, tail = detail["preview"]["head"], detail["preview"]["tail"]
    assert len(head) == len(tail) == 5
    assert head[0]["time"] == "2025-05-01T00:00:00Z" and tail[-1]["time"] == "2025-11-20T23:45:00Z"
    assert set(head[0]) == {"time", "open", "high", "low", "close", "volume"}
    chart = detail["chart"]
    assert 400 <= len(chart) <= CHART_POINTS
    assert chart[0][0] == "2025-05-01T00:00:00Z" and chart[-1][0] == "2025-11-20T23:45:00Z"
    times = [point[0] for point in chart]
    assert times == sorted(times)
    closes = load_csv(LINK_15M).bars.close
    assert max(p[1] for p in chart) == closes.max() and min(p[1] for p in chart) == closes.min()


def test_small_datasets_are_charted_whole(client: FlaskClient):
    entry = upload(client, GOOD_CSV).get_json()
    detail = client.get(f"/api/datasets/{entry['id']}").get_json()
    assert len(detail["chart"]) == 10 and detail["preview"]["head"][0]["volume"] is None


def test_store_survives_a_new_instance_and_rejects_foreign_ids(tmp_path: Path):
    store = DatasetStore(tmp_path)
    entry, created = store.add(GOOD_CSV, "a.csv")
    assert created
    fresh = DatasetStore(tmp_path)
    assert fresh.get(entry.id) == entry and fresh.path(entry.id).read_bytes() == GOOD_CSV
    assert fresh.load(entry.id).summary == entry.summary
    with pytest.raises(LookupError):
        fresh.get("../" + entry.id)


def test_entries_summarised_by_older_reading_rules_are_listed_as_the_current_rules_read_them(
    client: FlaskClient, tmp_path: Path
):
    stale = v1_summary("1970-08-23T06:15:02Z", "1970-08-23T06:15:04Z")
    rebuilt = write_v1_entry(tmp_path / "data", YYYYMMDD_CSV, stale)
    rejected = write_v1_entry(tmp_path / "data", MIXED_CSV, stale)
    listing = {d["id"]: d for d in client.get("/api/datasets").get_json()["datasets"]}
    assert listing[rebuilt]["summary"]["first_time"] == "2024-01-02T00:00:00Z" and listing[rebuilt]["error"] is None
    assert listing[rejected]["summary"] is None
    assert listing[rejected]["error"]["message"].startswith("prices.csv, row 4, column 'time': cannot read time")

    assert client.get(f"/api/datasets/{rebuilt}").get_json()["preview"]["head"][0]["time"] == "2024-01-02T00:00:00Z"
    error = assert_error(client.get(f"/api/datasets/{rejected}"), 400, "invalid_data", "time")
    assert error["message"] == listing[rejected]["error"]["message"]
    assert_error(backtest(client, strategy="sma_cross", dataset=rejected), 400, "invalid_data", "time")


def test_oversize_upload_is_a_json_413(tmp_path: Path):
    client = make_app(tmp_path, max_upload_mb=1).test_client()
    response = upload(client, GOOD_CSV * (1 + 2**20 // len(GOOD_CSV)))
    error = assert_error(response, 413, "request_entity_too_large", "file")
    assert "1 MB" in error["message"]


# --- strategies -----------------------------------------------------------------------


def test_strategies_list_and_declarations(client: FlaskClient):
    listing = client.get("/api/strategies").get_json()
    ids = [s["id"] for s in listing["strategies"]]
    assert {"sma_cross", "trailing_ma"} <= set(ids) and listing["total"] == len(ids)
    one = client.get("/api/strategies/sma_cross").get_json()
    assert one == get_strategy("sma_cross").as_dict()
    assert {p["name"] for p in one["params"]} == {"n1", "n2"}


# --- backtest -------------------------------------------------------------------------


def core_report(
    path: Path,
    strategy_id: str,
    params: dict[str, Any],
    start: str,
    end: str,
    warmup: int,
    capital: float,
    commission: float,
) -> dict[str, Any]:
    """What the CLI computes for the same request."""
    strategy = get_strategy(strategy_id)
    checked = strategy.validate(params)
    result = run_backtest(
        load_csv(path).bars,
        strategy,
        checked,
        DataWindow.parse(start, end, warmup),
        EngineSettings.checked(capital, commission),
    )
    return backtest_report(strategy.id, checked, result, compute_metrics(result).as_dict())


def test_backtest_matches_the_core_for_an_upload_and_a_csv_path(tmp_path: Path):
    case = json.loads((TRAILING_MA_CASE / "case.json").read_text())
    window = case["window"]
    body = {
        "strategy": "trailing_ma",
        "params": case["params"],
        "start": window["start"],
        "end": window["end"],
        "warmup_bars": window["warmup_bars"],
        "capital": 100,
        "commission": 0.0005,
    }
    expected = core_report(
        LINK_15M, "trailing_ma", case["params"], window["start"], window["end"], window["warmup_bars"], 100, 0.0005
    )
    client = make_app(tmp_path, csv_roots=(LINK_15M.parent,)).test_client()
    dataset_id = upload(client, LINK_15M.read_bytes()).get_json()["id"]
    for source in ({"dataset": dataset_id}, {"csvPath": LINK_15M.name}, {"csvPath": str(LINK_15M)}):
        response = backtest(client, **body, **source)
        assert response.status_code == 200, response.get_json()
        report = response.get_json()
        assert len(report["trades"]) == len(expected["trades"]) == 93
        assert report["metrics"]["net_profit"] == pytest.approx(expected["metrics"]["net_profit"], rel=1e-12)
        assert {k: report[k] for k in expected} == json.loads(json.dumps(expected))
        equity = report["equity"]
        assert 2 <= len(equity) <= 1000
        assert equity[0][0] == report["window"]["start"] and equity[-1][0] == report["window"]["end"]
        assert min(point[2] for point in equity) == pytest.approx(-expected["metrics"]["max_drawdown_pct"])


def test_backtest_defaults_on_a_small_csv_path(client: FlaskClient):
    report = backtest(client, csvPath="goog.csv", strategy="sma_cross").get_json()
    expected = core_report(
        backtesting_csv("GOOG"),
        "sma_cross",
        {},
        None,
        None,
        0,
        EngineSettings().initial_capital,
        EngineSettings().commission,
    )
    assert report["params"] == {"n1": 10, "n2": 20}
    assert report["metrics"]["total_trades"] == expected["metrics"]["total_trades"]
    assert report["metrics"]["net_profit"] == pytest.approx(expected["metrics"]["net_profit"], rel=1e-12)


# --- every bad input, one row each -----------------------------------------------------

Call = Callable[[FlaskClient], Any]


def bt(**body: Any) -> Call:
    return lambda client: backtest(client, **{"csvPath": "goog.csv", "strategy": "sma_cross", **body})


def up(data: bytes) -> Call:
    return lambda client: upload(client, data)


BAD_INPUTS: list[tuple[str, Call, int, str, str | None]] = [
    ("empty file", up(b""), 400, "empty_file", "file"),
    ("not a CSV", up(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10), 400, "invalid_data", "file"),
    (
        "missing column",
        up(b"time,open,high,low\n2025-01-01,1,2,0.5\n2025-01-02,1,2,0.5\n"),
        400,
        "invalid_data",
        "file",
    ),
    (
        "high below low",
        up(GOOD_CSV.replace(b"2025-01-03,1,2,0.5", b"2025-01-03,1,0.4,0.5")),
        400,
        "invalid_data",
        "high",
    ),
    (
        "no file part",
        lambda c: c.post("/api/datasets", data={"other": "x"}, content_type="multipart/form-data"),
        400,
        "missing_file",
        "file",
    ),
    ("blank file input", lambda c: upload(c, b"", name=""), 400, "missing_file", "file"),
    ("unknown dataset page", lambda c: c.get("/api/datasets/0123456789abcdef"), 404, "unknown_dataset", "dataset"),
    ("unknown strategy page", lambda c: c.get("/api/strategies/nope"), 404, "unknown_strategy", "strategy"),
    (
        "body not JSON",
        lambda c: c.post("/api/backtest", data="{", content_type="application/json"),
        400,
        "malformed_json",
        "body",
    ),
    ("unknown field", bt(warmupBars=10), 400, "unknown_field", "warmupBars"),
    ("no strategy", bt(strategy=None), 400, "invalid_field", "strategy"),
    ("bad strategy", bt(strategy="nope"), 400, "unknown_strategy", "strategy"),
    ("unknown param", bt(params={"n3": 5}), 400, "invalid_field", "n3"),
    ("param wrong type", bt(params={"n1": "ten"}), 400, "invalid_field", "n1"),
    ("param out of range", bt(params={"n1": 10**9}), 400, "invalid_field", "n1"),
    ("params not an object", bt(params=[1, 2]), 400, "invalid_field", "params"),
    ("start unreadable", bt(start="someday"), 400, "invalid_field", "start"),
    ("start not a string", bt(start=20250101), 400, "invalid_field", "start"),
    ("end before start", bt(start="2010-01-01", end="2009-01-01"), 400, "invalid_field", "end"),
    ("window without bars", bt(start="2030-01-01"), 400, "invalid_field", "start"),
    ("warm-up negative", bt(warmup_bars=-1), 400, "invalid_field", "warmup_bars"),
    ("warm-up as text", bt(warmup_bars="10"), 400, "invalid_field", "warmup_bars"),
    ("capital as text", bt(capital="100"), 400, "invalid_field", "capital"),
    ("capital not positive", bt(capital=0), 400, "invalid_field", "capital"),
    ("commission too high", bt(commission=0.5), 400, "invalid_field", "commission"),
    ("no dataset", bt(csvPath=None), 400, "missing_field", "dataset"),
    ("unknown dataset id", bt(csvPath=None, dataset="0123456789abcdef"), 404, "unknown_dataset", "dataset"),
    ("two sources", bt(dataset="0123456789abcdef"), 400, "conflicting_fields", "csvPath"),
    ("csvPath not text", bt(csvPath=["goog.csv"]), 400, "invalid_field", "csvPath"),
    ("csvPath escapes by ..", bt(csvPath="../outside.csv"), 403, "forbidden_path", "csvPath"),
    ("csvPath absolute outside", bt(csvPath="/etc/passwd"), 403, "forbidden_path", "csvPath"),
    ("csvPath escapes by symlink", bt(csvPath="escape.csv"), 403, "forbidden_path", "csvPath"),
    ("csvPath missing", bt(csvPath="nope.csv"), 404, "file_not_found", "csvPath"),
    ("csvPath a folder", bt(csvPath="."), 404, "file_not_found", "csvPath"),
]


@pytest.mark.parametrize(
    ("call", "status", "code", "field"), [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS]
)
def test_bad_input_is_a_json_error_naming_the_field(
    client: FlaskClient, call: Call, status: int, code: str, field: str | None
):
    assert_error(call(client), status, code, field)


def test_row_errors_say_where(client: FlaskClient):
    bad = GOOD_CSV.replace(b"2025-01-03,1,2,0.5", b"2025-01-03,1,0.4,0.5")
    message = upload(client, bad, "prices.csv").get_json()["error"]["message"]
    assert "prices.csv" in message and "row 4" in message and "column 'high'" in message


def test_a_rejected_upload_leaves_nothing_behind(client: FlaskClient, tmp_path: Path):
    before = client.get("/api/datasets").get_json()["total"]
    upload(client, b"time,open,high,low\n2025-01-01,1,2,0.5\n")
    assert client.get("/api/datasets").get_json()["total"] == before
    assert not [p for p in (tmp_path / "data" / "datasets").iterdir() if p.name.startswith(".")]


def test_optimize_sources_include_an_upload_kept_in_the_store(client: FlaskClient):
    """dataset_for_request is what /api/optimize uses: an uploaded file becomes a dataset."""

    def part() -> FileStorage:
        return FileStorage(io.BytesIO(GOOD_CSV), filename="mine.csv")

    with client.application.test_request_context():
        got = dataset_for_request({}, {"file": part()})
        assert (len(got.bars), got.name, got.path.read_bytes()) == (10, "mine.csv", GOOD_CSV)
        with pytest.raises(ApiError) as refused:
            dataset_for_request({"csvPath": "goog.csv"}, {"file": part()})
        assert (refused.value.status, refused.value.code, refused.value.field) == (400, "conflicting_fields", "csvPath")
        assert (
            dataset_for_request({"csvPath": "goog.csv"}, {"file": FileStorage(io.BytesIO(b""), filename="")}).name
            == "goog.csv"
        )
    assert any(d["name"] == "mine.csv" for d in client.get("/api/datasets").get_json()["datasets"])


# --- OpenAPI --------------------------------------------------------------------------

DOCUMENTED = {
    "/healthz": {"get"},
    "/readyz": {"get"},
    "/api/openapi.json": {"get"},
    "/api/datasets": {"get", "post"},
    "/api/datasets/{dataset_id}": {"get"},
    "/api/strategies": {"get"},
    "/api/strategies/{strategy_id}": {"get"},
    "/api/backtest": {"post"},
    "/api/optimize": {"post"},
    "/api/jobs": {"get"},
    "/api/jobs/{job_id}": {"get", "delete"},
    "/api/jobs/{job_id}/results": {"get"},
    "/api/jobs/{job_id}/trials/{number}": {"get"},
    "/api/jobs/{job_id}/resume": {"post"},
    "/api/walkforward": {"post"},
    "/api/walkforward/preview": {"post"},
    "/api/jobs/{job_id}/walkforward": {"get"},
    "/api/jobs/{job_id}/holdout": {"post"},
    "/api/jobs/{job_id}/cscv": {"get"},
    "/api/jobs/{job_id}/trials/{number}/robustness": {"get"},
    "/api/jobs/{job_id}/heatmap": {"get"},
    "/api/jobs/{job_id}/plan": {"get"},
    "/api/jobs/{job_id}/workers": {"get"},
    "/api/datasets/{dataset_id}/file": {"get"},
}


def test_openapi_document_is_valid_and_complete(client: FlaskClient):
    from openapi_spec_validator import validate

    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert {path: set(ops) for path, ops in document["paths"].items()} == DOCUMENTED
    schemas = document["components"]["schemas"]
    assert schemas["Error"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message", "field"}


def test_every_api_route_is_documented(client: FlaskClient):
    """A new endpoint fails here until its view declares its operation
    (app/web/contract/registry.py; HTML pages and static files are not API)."""
    documented = {(_shape(path), method) for path, ops in DOCUMENTED.items() for method in ops}
    for rule in client.application.url_map.iter_rules():
        if not rule.rule.startswith("/api/") and rule.rule not in ("/healthz", "/readyz"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (_shape(rule.rule), method.lower()) in documented, f"{method} {rule.rule} is not in the document"


def _shape(path: str) -> str:
    """Flask's <int:n> and OpenAPI's {n} alike, whatever the parameter is called."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)
