"""The embedded dashboard: routing beside Flask, read-only, every run with a stable id, live runs.

Runs are real (sma_cross on GOOG, one worker, 8 trials), built once per session and copied
into each test's own runs folder, so tests can add, delete and rewrite runs independently.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import optuna_dashboard
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import InMemoryStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from app import create_app
from app.web.dashboard import DASHBOARD_PATHS, is_dashboard_path
from backtune.jobs.runs_storage import ReadOnlyRunsStorage, ReadOnlyStorageError
from backtune.jobs.study_ids import INDEX_FILE, dashboard_study_id
from backtune.optimize.config import RunConfig
from backtune.optimize.dump import IncrementalDumper, dump_study
from backtune.optimize.optuna_compat import install_finished_study_cursor, storage_of, study_id_of, trial_id_of
from backtune.optimize.run import execute_run, prepare_run
from backtune.optimize.rundir import RunDir
from tests.conftest import backtesting_csv

pytestmark = pytest.mark.slow  # real runs, built once per session, behind nearly every test

TRIALS = 8
STUDY = "backtune"


@pytest.fixture(scope="session")
def template_runs(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("template") / "runs"
    for seed in (1, 2, 3):
        config = RunConfig.parse(
            {
                "data": str(backtesting_csv("GOOG")),
                "strategy": "sma_cross",
                "workers": 1,
                "sampler": "random",
                "seed": seed,
                "budget": {"mode": "trials", "trials": TRIALS},
                "capital": 10_000,
                "commission": 0.002,
                "space": {"n1": {"low": 5, "high": 30, "step": 1}, "n2": {"low": 31, "high": 120, "step": 1}},
            }
        )
        assert execute_run(prepare_run(config, runs))["status"] == "done"
    return runs


@pytest.fixture
def home(tmp_path, template_runs) -> Path:
    shutil.copytree(template_runs, tmp_path / "runs")
    return tmp_path


@pytest.fixture
def runs(home) -> list[RunDir]:
    return sorted((RunDir(p) for p in (home / "runs").iterdir() if p.is_dir()), key=lambda r: r.run_id)


@pytest.fixture
def app_settings(home) -> dict:
    return {"home": home, "runs_dir": home / "runs", "data_dir": home / "data"}


def listed(client) -> dict[str, int]:
    """Study name (the run id) -> study id, as the dashboard lists them."""
    response = client.get("/api/studies")
    assert response.status_code == 200
    return {s["study_name"]: s["study_id"] for s in response.json["study_summaries"]}


def sqlite_trials(path: Path) -> list[FrozenTrial]:
    return optuna.load_study(study_name=STUDY, storage=f"sqlite:///{path}").trials


def _in_memory_copy(sqlite: Path, n_trials: int) -> optuna.Study:
    """A study holding the first ``n_trials`` of a run's study.db, to feed a live copy."""
    source = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{sqlite}")
    study = optuna.create_study(study_name=STUDY, storage=InMemoryStorage(), directions=source.directions)
    for key, value in source.user_attrs.items():
        study.set_user_attr(key, value)
    study.add_trials(source.trials[:n_trials])
    return study


# Routing


DASHBOARD = [
    "/dashboard",
    "/dashboard/",
    "/dashboard/studies/3",
    "/static/bundle.js",
    "/favicon.ico",
    "/api/meta",
    "/api/studies",
    "/api/studies/",
    "/api/studies/3",
    "/api/studies/3/plot/slice",
    "/api/studies/3/param_importances",
    "/api/trials/5/tell",
    "/csv/3",
    "/artifacts/1/2/ab",
    "/api/artifacts/1",
    "/api/llm/trial_filter_query",
    "/incompatible-rdb-schema",
]
OURS = [
    "/",
    "/healthz",
    "/readyz",
    "/assets/app.css",
    "/api/optimize",
    "/api/jobs",
    "/api/jobs/abc/results",
    "/api/datasets",
    "/api/strategies",
    "/api/backtest",
    "/api/openapi.json",
    "/api/metadata",
    "/api/studies-export",
    "/api/trialsx",
    "/dashboards",
    "/statics/x",
    "/csvx",
    "/jobs/abc",
]


@pytest.mark.parametrize("path", DASHBOARD)
def test_the_dashboards_paths_go_to_the_dashboard(path):
    assert is_dashboard_path(path)


@pytest.mark.parametrize("path", OURS)
def test_our_paths_stay_with_flask(path):
    assert not is_dashboard_path(path)


def _sample(rule: str) -> str:
    """A concrete path a route rule matches: its literal head, plus a segment if it ends in '/'."""
    head = rule.split("<", 1)[0]
    return head + "1" if head.endswith("/") else head


def test_every_route_of_the_installed_dashboard_is_routed_to_it(tmp_path):
    dashboard = optuna_dashboard.wsgi(ReadOnlyRunsStorage(tmp_path))
    rules = {route.rule for route in dashboard.routes} - {"/"}  # its "/" redirect: Flask keeps "/"
    assert rules and all(is_dashboard_path(_sample(rule)) for rule in rules), [
        rule for rule in rules if not is_dashboard_path(_sample(rule))
    ]
    assert {_sample(rule).split("/")[1] for rule in rules} >= {p.split("/")[1] for p in DASHBOARD_PATHS}


def test_no_flask_route_is_shadowed_by_the_dashboard(client):
    rules = [rule.rule for rule in client.application.url_map.iter_rules()]
    assert "/healthz" in rules
    assert not [rule for rule in rules if is_dashboard_path(_sample(rule))]


def test_flask_still_answers_its_own_paths(client):
    assert client.get("/healthz").json == {"status": "ok"}
    for method in ("get", "post"):
        response = getattr(client, method)("/api/jobs-nope")
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
    assert client.get("/").status_code in (200, 404)  # Flask's (a page, or none yet), not the dashboard's redirect
    assert client.post("/healthz").json["error"]["code"] == "method_not_allowed"


# Pages, assets, API


def test_the_page_and_its_assets_are_served(client):
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'src="/static/bundle.js"' in page.data
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/dashboard/studies/2").data == page.data  # client-side routes get the same page
    head = client.head("/dashboard")
    assert head.status_code == 200 and head.data == b""
    bundle = client.get("/static/bundle.js")  # no Accept-Encoding, like curl
    assert bundle.status_code == 200 and "javascript" in bundle.mimetype and len(bundle.data) > 100_000
    gzipped = client.get("/static/bundle.js", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert client.get("/favicon.ico").status_code == 200
    assert client.get("/api/meta").json["artifact_is_available"] is False


def test_every_run_is_listed_under_its_run_id(client, runs):
    assert listed(client) == {run.run_id: i for i, run in enumerate(runs, start=1)}
    summaries = client.get("/api/studies").json["study_summaries"]
    assert all(s["directions"] == ["maximize"] for s in summaries)
    assert all({"key": "strategy", "value": "sma_cross"} in s["user_attrs"] for s in summaries)


def test_study_details_match_each_runs_study_db(client, runs):
    for run in runs:
        study_id = listed(client)[run.run_id]
        expected = sqlite_trials(run.sqlite)
        detail = client.get(f"/api/studies/{study_id}").json
        assert detail["name"] == run.run_id
        assert len(detail["trials"]) == len(expected) == TRIALS
        assert [(t["number"], t["values"]) for t in detail["trials"]] == [(t.number, t.values) for t in expected]
        params = [{p["name"]: p["param_external_value"] for p in t["params"]} for t in detail["trials"]]
        assert params == [{k: str(v) for k, v in t.params.items()} for t in expected]
        best = max(t.value for t in expected if t.state == TrialState.COMPLETE)
        assert [t["values"] for t in detail["best_trials"]] == [[best]]
        assert client.get(f"/api/studies/{study_id}?after=5").json["trials"] == detail["trials"][5:]


def test_dashboard_views_that_load_the_study_work(client, runs):
    study_id = listed(client)[runs[0].run_id]
    csv = client.get(f"/csv/{study_id}")
    assert csv.status_code == 200 and len(csv.data.decode().strip().splitlines()) == TRIALS + 1
    importances = client.get(f"/api/studies/{study_id}/param_importances")
    assert importances.status_code == 200
    assert {p["name"] for p in importances.json["param_importances"][0]} == {"n1", "n2"}
    assert client.get("/api/studies/999").status_code == 404


# Read-only


WRITES = [
    ("post", "/api/studies"),
    ("post", "/api/studies/1/rename"),
    ("delete", "/api/studies/1"),
    ("put", "/api/studies/1/note"),
    ("put", "/api/studies/1/0/note"),
    ("post", "/api/studies/1/preference"),
    ("post", "/api/trials/4294967296/tell"),
    ("post", "/api/trials/4294967296/user-attrs"),
    ("post", "/incompatible-rdb-schema"),
    ("patch", "/api/studies/1"),
    ("options", "/api/studies"),
    ("post", "/api/artifacts/1"),
]


@pytest.mark.parametrize("method, path", WRITES)
def test_writes_to_the_dashboard_get_405_in_our_error_shape(client, runs, method, path):
    before = listed(client)
    mtimes = [run.sqlite.stat().st_mtime_ns for run in runs]
    response = client.open(path, method=method.upper(), json={"study_name": "x", "state": "Complete", "values": [1]})
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed" and response.json["error"]["field"] is None
    assert response.headers["Allow"] == "GET, HEAD"
    assert listed(client) == before
    assert [run.sqlite.stat().st_mtime_ns for run in runs] == mtimes


@pytest.mark.parametrize(
    "write, args",
    [
        ("create_new_study", ([optuna.study.StudyDirection.MAXIMIZE], "x")),
        ("delete_study", (1,)),
        ("set_study_user_attr", (1, "k", 1)),
        ("set_study_system_attr", (1, "k", 1)),
        ("create_new_trial", (1,)),
        ("set_trial_state_values", (1 << 32, TrialState.FAIL)),
        ("set_trial_user_attr", (1 << 32, "k", 1)),
        ("set_trial_system_attr", (1 << 32, "k", 1)),
        ("set_trial_intermediate_value", (1 << 32, 0, 1.0)),
        ("set_trial_param", (1 << 32, "n1", 5.0, optuna.distributions.IntDistribution(5, 30))),
    ],
)
def test_the_runs_storage_refuses_every_write(home, runs, write, args):
    storage = ReadOnlyRunsStorage(home / "runs")
    with pytest.raises(ReadOnlyStorageError, match=write):
        getattr(storage, write)(*args)


def test_files_are_opened_read_only(home, runs):
    """Even a write that slipped past the runs storage could not change a run's file."""
    storage = ReadOnlyRunsStorage(home / "runs")
    storage.get_all_trials(storage.get_study_id_from_name(runs[0].run_id))
    opened = storage._open[runs[0].run_id]
    with pytest.raises(optuna.exceptions.StorageInternalError):
        opened._storage.set_study_user_attr(1, "k", 1)


def test_with_an_api_token_the_dashboard_needs_it_too(home, runs):
    """The dashboard bypasses Flask's request hooks, so the dispatcher checks the token itself."""
    client = create_app(
        {"home": home, "runs_dir": home / "runs", "data_dir": home / "data", "api_token": "s3cret"}
    ).test_client()
    for path in ("/api/studies", "/api/studies/1"):
        response = client.get(path)
        assert response.status_code == 401 and response.json["error"]["field"] == "Authorization"
    for path in ("/csv/1", "/dashboard"):  # pages: to the login page, as the app's own pages
        response = client.get(path)
        assert response.status_code == 303 and response.headers["Location"] == f"/login?next={path}"
    assert client.delete("/api/studies/1").status_code == 401
    signed = {"Authorization": "Bearer s3cret"}
    assert len(client.get("/api/studies", headers=signed).json["study_summaries"]) == 3
    assert client.delete("/api/studies/1", headers=signed).status_code == 405


# The runs storage as an Optuna storage


def test_trial_ids_are_unique_across_runs_and_map_back(home, runs):
    storage = ReadOnlyRunsStorage(home / "runs")
    studies = storage.get_all_studies()
    assert [s.study_name for s in studies] == [run.run_id for run in runs]
    trials = [t for s in studies for t in storage.get_all_trials(study_id_of(s))]
    assert len({trial_id_of(t) for t in trials}) == len(trials) == 3 * TRIALS
    for study, run in zip(studies, runs):
        expected = sqlite_trials(run.sqlite)
        for trial in expected:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id_of(study), trial.number)
            found = storage.get_trial(trial_id)
            assert (found.number, found.params, found.values, found.user_attrs) == (
                trial.number,
                trial.params,
                trial.values,
                trial.user_attrs,
            )
        assert storage.get_n_trials(study_id_of(study)) == TRIALS
        assert storage.get_best_trial(study_id_of(study)).value == max(t.value for t in expected)
        assert storage.get_study_name_from_id(study_id_of(study)) == run.run_id
        assert storage.get_study_id_from_name(run.run_id) == study_id_of(study)
        loaded = optuna.load_study(study_name=run.run_id, storage=storage)
        assert loaded.best_value == max(t.value for t in expected)
        assert loaded.user_attrs["run_id"] == run.run_id
    with pytest.raises(KeyError):
        storage.get_trial(99 << 32)
    with pytest.raises(KeyError):
        storage.get_study_id_from_name("no-such-run")


def _every_kind_of_trial(storage: RDBStorage, directions: list[str]) -> None:
    """Trials in every state, every distribution, infinite values, attributes of each kind."""
    study = optuna.create_study(study_name=STUDY, storage=storage, directions=directions)
    study.set_user_attr("run_id", "x")
    distributions = {
        "i": IntDistribution(1, 9, step=2),
        "f": FloatDistribution(1e-3, 1.0, log=True),
        "c": CategoricalDistribution(["SMA", "EMA", None, 3]),
        "b": CategoricalDistribution([True, False]),
    }
    values = [v[: len(directions)] for v in ([1.5, -2.0], [float("inf"), 3.0], [-float("inf"), 0.0])]
    for number in range(9):
        state = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL][number % 3]
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                values=values[number % 3] if state == TrialState.COMPLETE else None,
                params={
                    "i": 1 + 2 * (number % 5),
                    "f": 0.01 * (number + 1),
                    "c": ["SMA", "EMA", None, 3][number % 4],
                    "b": number % 2 == 0,
                },
                distributions=distributions,
                intermediate_values={0: 0.5, 5: -float("inf")} if state == TrialState.PRUNED else {},
                user_attrs={"metrics": {"sharpe": 1.0 * number, "trades": [number, None]}},
                system_attrs={"seed": number},
            )
        )
    running = study.ask({"i": distributions["i"]})
    running.set_user_attr("worker", 1)
    study.enqueue_trial({"i": 3})


@pytest.mark.parametrize("directions", [["maximize"], ["minimize", "maximize"]])
def test_trials_are_read_as_optunas_rdbstorage_builds_them(home, runs, directions):
    """The runs storage reads Optuna's tables itself (7x faster than its ORM): same trials, bar the ids."""
    run = runs[0]
    run.sqlite.unlink()
    storage = RDBStorage(f"sqlite:///{run.sqlite}")
    _every_kind_of_trial(storage, directions)
    expected = storage.get_all_trials(storage.get_study_id_from_name(STUDY))
    storage.engine.dispose()
    runs_storage = ReadOnlyRunsStorage(home / "runs")
    study_id = runs_storage.get_study_id_from_name(run.run_id)
    found = runs_storage.get_all_trials(study_id)

    def without_id(trial: FrozenTrial) -> dict:
        return {k: v for k, v in vars(trial).items() if k != "_trial_id"}

    assert [without_id(t) for t in found] == [without_id(t) for t in expected]
    assert [list(t.params) for t in found] == [list(t.params) for t in expected]  # the order shown
    assert [trial_id_of(t) for t in found] == [study_id << 32 | trial_id_of(t) for t in expected]
    assert [t.state for t in found][-2:] == [TrialState.RUNNING, TrialState.WAITING]
    assert runs_storage.get_study_directions(study_id) == [optuna.study.StudyDirection[d.upper()] for d in directions]


def test_a_replaced_study_db_is_reread(home, runs):
    """Resuming a run ends with a new study.db swapped in by os.replace."""
    run = runs[0]
    storage = ReadOnlyRunsStorage(home / "runs")
    study_id = storage.get_study_id_from_name(run.run_id)
    assert len(storage.get_all_trials(study_id)) == TRIALS
    resumed = _in_memory_copy(run.sqlite, TRIALS)
    resumed.add_trial(resumed.trials[0])
    dump_study(storage_of(resumed), STUDY, run.sqlite)
    assert [t.number for t in storage.get_all_trials(study_id)] == list(range(TRIALS + 1))


# Running runs and stable ids


def test_a_running_run_is_read_from_its_live_copy(client, home, runs):
    run = runs[1]
    source = _in_memory_copy(run.sqlite, 5)
    run.sqlite.unlink()  # a first run has no study.db until it ends
    run.update_state(status="running")
    storage = ReadOnlyRunsStorage(home / "runs")
    assert run.run_id not in listed(client)  # running, but no live copy yet
    with IncrementalDumper(storage_of(source), STUDY, run.live_sqlite) as dumper:
        dumper.sync()
        study_id = listed(client)[run.run_id]
        assert study_id == 2  # the id it was given at first sight, before it had a study
        assert [t["number"] for t in client.get(f"/api/studies/{study_id}").json["trials"]] == list(range(5))

        running = source.ask()
        dumper.sync()
        trials = storage.get_all_trials(study_id)
        assert [t.state for t in trials][-1] == TrialState.RUNNING
        source.tell(running, 1.5)
        source.add_trial(source.trials[0])
        dumper.sync()
        trials = storage.get_all_trials(study_id)
        assert [(t.number, t.state) for t in trials[5:]] == [(5, TrialState.COMPLETE), (6, TrialState.COMPLETE)]
        assert trials[5].value == 1.5
        assert len({trial_id_of(t) for t in trials}) == 7

    # The run ends: its coordinator removes live.db, then dumps study.db, then says "done".
    run.live_sqlite.unlink()
    assert len(storage.get_all_trials(study_id)) == 7  # the open live copy bridges the gap
    assert listed(client)[run.run_id] == study_id
    dump_study(storage_of(source), STUDY, run.sqlite)
    run.update_state(status="done")
    assert [t.number for t in storage.get_all_trials(study_id)] == list(range(7))
    assert storage._open[run.run_id].version.path == run.sqlite


def test_the_live_copy_counts_only_while_the_run_is_running(home, runs):
    """A resumed run has both files; a crashed one may leave its live copy behind."""
    run = runs[0]
    with IncrementalDumper(storage_of(_in_memory_copy(run.sqlite, 2)), STUDY, run.live_sqlite) as dumper:
        dumper.sync()
    storage = ReadOnlyRunsStorage(home / "runs")
    study_id = storage.get_study_id_from_name(run.run_id)
    assert len(storage.get_all_trials(study_id)) == TRIALS
    run.update_state(status="running")
    assert len(storage.get_all_trials(study_id)) == 2
    run.update_state(status="interrupted")
    assert len(storage.get_all_trials(study_id)) == TRIALS


def test_study_ids_stay_stable_as_runs_come_and_go(client, home, runs):
    before = listed(client)
    assert before == {run.run_id: i for i, run in enumerate(runs, start=1)}

    early = home / "runs" / "20000101-000000-sma-cross-000000"  # sorts before every other run
    shutil.copytree(runs[0].path, early)
    after = listed(client)
    assert {k: v for k, v in after.items() if k != early.name} == before
    assert after[early.name] == 4

    shutil.rmtree(runs[1].path)
    late = home / "runs" / "20991231-000000-sma-cross-ffffff"
    shutil.copytree(runs[0].path, late)
    after = listed(client)
    assert runs[1].run_id not in after and after[late.name] == 5  # id 2 is never given again

    restarted = create_app({"home": home, "runs_dir": home / "runs", "data_dir": home / "data"}).test_client()
    assert listed(restarted) == after
    assert dashboard_study_id(home / "runs", late.name) == 5
    assert (home / "runs" / INDEX_FILE).is_file()


def test_a_job_gets_its_id_before_it_has_a_study(home, runs):
    queued = RunDir(home / "runs" / "20991231-000000-queued-000000")
    queued.path.mkdir()
    queued.write_json(queued.state_file, {"status": "queued"})
    study_id = dashboard_study_id(home / "runs", queued.run_id)
    assert study_id == 1  # the first run the index ever saw
    storage = ReadOnlyRunsStorage(home / "runs")
    assert queued.run_id not in {s.study_name for s in storage.get_all_studies()}
    with pytest.raises(KeyError):
        storage.get_all_trials(study_id)
    shutil.copyfile(runs[0].sqlite, queued.sqlite)
    assert storage.get_study_id_from_name(queued.run_id) == study_id
    with pytest.raises(KeyError):
        dashboard_study_id(home / "runs", "no-such-run")


def test_a_finished_study_is_not_rescanned_on_every_request(client, runs, monkeypatch):
    """optuna-dashboard's per-study cache only moved past trials once it met an unfinished
    one, so every request rescanned a finished study (optuna_compat.install_finished_study_cursor)."""
    cursor = install_finished_study_cursor()
    scanned = []
    original = cursor._update_search_space
    monkeypatch.setattr(
        cursor, "_update_search_space", lambda self, trial: (scanned.append(trial.number), original(self, trial))
    )
    study_id = listed(client)[runs[0].run_id]
    first = client.get(f"/api/studies/{study_id}").json
    assert len(scanned) == TRIALS - sum(t["state"] == "Fail" for t in first["trials"])
    scanned.clear()
    second = client.get(f"/api/studies/{study_id}").json
    assert scanned == []
    assert second["union_search_space"] == first["union_search_space"]
    assert second["intersection_search_space"] == first["intersection_search_space"]


class CountingApp:
    """A WSGI app that answers every path with its own call count."""

    def __init__(self, status: str = "200 OK") -> None:
        self.calls = 0
        self.status = status

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, [("Content-Type", "application/json")])
        return [f'{{"call": {self.calls}}}'.encode()]


def call(app, path: str, method: str = "GET") -> tuple[str, bytes]:
    started = {}
    body = b"".join(
        app(
            {"PATH_INFO": path, "REQUEST_METHOD": method, "QUERY_STRING": ""},
            lambda status, headers, exc_info=None: started.update(status=status),
        )
    )
    return started["status"], body


def test_importances_are_served_again_until_the_cache_expires():
    from app.web.dashboard_cache import ImportanceCache

    now = [100.0]
    dashboard = CountingApp()
    cached = ImportanceCache(dashboard, ttl_s=30.0, clock=lambda: now[0])
    path = "/api/studies/3/param_importances"
    assert call(cached, path) == ("200 OK", b'{"call": 1}')
    now[0] += 29.0
    assert call(cached, path) == ("200 OK", b'{"call": 1}')
    assert call(cached, "/api/studies/4/param_importances")[1] == b'{"call": 2}'
    now[0] += 1.0
    assert call(cached, path)[1] == b'{"call": 3}'
    assert call(cached, "/api/studies/3")[1] == b'{"call": 4}'  # anything else passes through
    assert call(cached, path, method="HEAD")[1] == b'{"call": 5}'


def test_a_failed_importance_response_is_not_kept():
    from app.web.dashboard_cache import ImportanceCache

    dashboard = CountingApp(status="500 Internal Server Error")
    cached = ImportanceCache(dashboard)
    call(cached, "/api/studies/3/param_importances")
    call(cached, "/api/studies/3/param_importances")
    assert dashboard.calls == 2


def test_importances_through_the_cache_match_the_dashboards(client, runs):
    study_id = listed(client)[runs[0].run_id]
    first = client.get(f"/api/studies/{study_id}/param_importances")
    assert first.status_code == 200 and first.json["param_importances"]
    assert {i["name"] for i in first.json["param_importances"][0]} == {"n1", "n2"}
    assert client.get(f"/api/studies/{study_id}/param_importances").json == first.json
