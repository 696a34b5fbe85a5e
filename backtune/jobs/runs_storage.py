"""Every run's study behind one read-only Optuna storage, so one dashboard lists all runs.

Each run keeps its own SQLite study (``live.db`` while it runs, ``study.db`` once done), all
named "backtune". optuna-dashboard takes a single storage, and copying every run into one
database would mean a second writer per run and a copy that lags behind.
``ReadOnlyRunsStorage`` instead presents the files as one storage:

- study ids are stable integers, one per run, never reused (``backtune.jobs.study_ids``),
  so a link such as ``/dashboard/studies/7`` keeps pointing at the same run as runs come
  and go;
- the study name is the run id, unique where every run's own name is "backtune";
- trial ids carry the study id in their high bits, unique across runs and mapped back by
  ``get_trial``;
- every write raises ``ReadOnlyStorageError``: a run changes only through its coordinator.

It stays cheap enough to poll next to a running optimisation: a listing costs a couple of
``stat`` calls per run (study summaries are cached per file version), each file is opened
once read-only and kept while it is the same file (device and inode: ``study.db`` is replaced
by ``os.replace``, ``live.db`` changes in place), and trials are read incrementally, as
Optuna's own ``_CachedStorage`` does: finished trials never change, so each refresh fetches
only new and still-unfinished ones, straight from Optuna's tables rather than through
its ORM (``backtune.optimize.trial_rows.read_trials``, about seven times cheaper per trial,
which is most of what following a running optimisation costs).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import sqlalchemy.exc
from optuna.exceptions import OptunaError
from optuna.storages import BaseStorage, RDBStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from backtune.jobs.store import RUNNING, JobStore
from backtune.jobs.study_ids import TRIAL_ID_BITS, StudyIds, dashboard_trial_id
from backtune.optimize.optuna_compat import FrozenStudy, set_trial_id, study_id_of, trial_id_of
from backtune.optimize.rundir import RunDir
from backtune.optimize.trial_rows import read_trials
from backtune.walkforward.runner import find_window_run, study_runs

log = logging.getLogger("backtune.jobs")

# Open files kept (each holds a connection and the trials read so far); summaries of every
# run are cached regardless, so listing many runs reopens nothing.
MAX_OPEN_FILES = 16

# What a study file that is being created, damaged or swapped mid-read raises on opening.
_UNREADABLE = (sqlalchemy.exc.SQLAlchemyError, OptunaError, OSError)


class ReadOnlyStorageError(RuntimeError):
    """A write reached the runs storage: runs change only through their own coordinator."""


@dataclass(frozen=True)
class _FileVersion:
    """Which file a run's study is in now; ``same_file`` decides whether an open one still is."""

    path: Path
    device: int
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> _FileVersion | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        return cls(path, stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def same_file(self, other: _FileVersion) -> bool:
        return (self.path, self.device, self.inode) == (other.path, other.device, other.inode)


def _study_file(run: RunDir) -> _FileVersion | None:
    """``live.db`` while the run is running and has one, else ``study.db``; None before either.

    state.json is read only when a live copy exists: a finished run costs two ``stat`` calls.
    """
    live = _FileVersion.of(run.live_sqlite)
    if live is not None and _status(run) == RUNNING:
        return live
    return _FileVersion.of(run.sqlite)


def _status(run: RunDir) -> str | None:
    try:
        return run.read_json(run.state_file).get("status")
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class _LocalStudy:
    study_id: int
    directions: list[StudyDirection]
    user_attrs: dict[str, Any]
    system_attrs: dict[str, Any]


class _OpenStudy:
    """One run's study file, opened read-only, with the trials read from it so far."""

    def __init__(self, version: _FileVersion, study_id: int) -> None:
        self.version = version
        self._study_id = study_id
        # mode=ro: even Optuna's own bookkeeping on opening cannot write to a run's file.
        self._storage = RDBStorage(
            f"sqlite:///file:{quote(str(version.path))}?mode=ro&uri=true",
            skip_compatibility_check=True,
            skip_table_creation=True,
        )
        self._lock = threading.Lock()
        self._trials: dict[int, FrozenTrial] = {}
        self._by_id: dict[int, FrozenTrial] = {}
        self._sorted: list[FrozenTrial] = []
        self._unfinished: set[int] = set()
        self._last_finished = -1
        try:
            self._local_id = self._summary().study_id
        except BaseException:
            self.close()
            raise

    def summary(self, run_id: str) -> FrozenStudy:
        """The study as the dashboard shows it: the run id as its name, the stable id."""
        with self._lock:
            local = self._summary()
        return FrozenStudy(
            run_id, None, local.user_attrs, local.system_attrs, self._study_id, directions=local.directions
        )

    def _summary(self) -> _LocalStudy:
        """A run's file holds its one study (the dump and the live copy create exactly one)."""
        studies = self._storage.get_all_studies()
        if not studies:
            raise LookupError(f"{self.version.path}: no study yet")
        first = min(studies, key=study_id_of)
        return _LocalStudy(study_id_of(first), first.directions, first.user_attrs, first.system_attrs)

    def trials(self) -> list[FrozenTrial]:
        """Every trial by number; only new and unfinished ones are read from the file.

        The trials are shared between callers (``deepcopy=False``); a refresh replaces the
        list rather than changing it, so a caller's list never moves under it.
        """
        with self._lock:
            with self._storage.engine.connect() as conn:
                fresh = read_trials(conn, self._local_id, self._last_finished, sorted(self._unfinished))
            if fresh:
                finished = [-1]
                for trial in fresh:
                    local_id = trial_id_of(trial)
                    set_trial_id(trial, dashboard_trial_id(self._study_id, local_id))
                    self._trials[trial.number] = trial
                    self._by_id[trial_id_of(trial)] = trial
                    if trial.state.is_finished():
                        self._unfinished.discard(local_id)
                        finished.append(local_id)
                    else:
                        self._unfinished.add(local_id)
                # Only after the whole batch: an unfinished trial below it is still in _unfinished.
                self._last_finished = max(self._last_finished, *finished)
                self._sorted = sorted(self._trials.values(), key=lambda t: t.number)
            return self._sorted

    def trial(self, trial_id: int) -> FrozenTrial:
        self.trials()
        try:
            return self._by_id[trial_id]
        except KeyError:
            raise KeyError(f"no trial with id {trial_id}") from None

    def close(self) -> None:
        """Give back the connections: the file may be gone (live.db) or replaced (study.db)."""
        self._storage.remove_session()
        self._storage.engine.dispose()


def _read_only(name: str) -> Callable[..., NoReturn]:
    def refuse(self: ReadOnlyRunsStorage, *args: Any, **kwargs: Any) -> NoReturn:
        raise ReadOnlyStorageError(
            f"{name}: the runs storage is read-only; a run's study changes only through its own optimisation"
        )

    refuse.__name__ = name
    return refuse


class ReadOnlyRunsStorage(BaseStorage):
    """A read-only Optuna storage over every run under ``runs_dir`` (see the module docstring).

    Thread-safe: the web server calls it from many threads at once.
    """

    def __init__(self, runs_dir: Path, max_open_files: int = MAX_OPEN_FILES) -> None:
        self.runs_dir = Path(runs_dir)
        self._store = JobStore(self.runs_dir)
        self._ids = StudyIds(self.runs_dir)
        self._max_open = max_open_files
        self._lock = threading.Lock()
        self._open: OrderedDict[str, _OpenStudy] = OrderedDict()
        self._summaries: dict[str, tuple[_FileVersion, FrozenStudy]] = {}
        self._unreadable: dict[str, _FileVersion] = {}

    # Studies

    def get_all_studies(self) -> list[FrozenStudy]:
        runs = study_runs(self._store.all())  # a walk-forward's windows each have a study
        ids = self._ids.assign(run.run_id for run in runs)
        studies = [self._summary(run, ids[run.run_id]) for run in runs]
        self._forget_except({run.run_id for run in runs})
        return sorted((s for s in studies if s is not None), key=study_id_of)

    def get_study_id_from_name(self, study_name: str) -> int:
        run = self._store.run(study_name) or find_window_run(self.runs_dir, study_name)
        if run is not None:
            study_id = self._ids.assign([study_name])[study_name]
            if self._summary(run, study_id) is not None:
                return study_id
        raise KeyError(f"no study named {study_name!r}")

    def get_study_name_from_id(self, study_id: int) -> str:
        return self._study(study_id).study_name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return list(self._study(study_id).directions)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return copy.deepcopy(self._study(study_id).user_attrs)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return copy.deepcopy(self._study(study_id).system_attrs)

    # Trials (get_n_trials, get_best_trial and the trial-number lookups are BaseStorage's,
    # on top of these two and the cached trial list)

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        trials = self._opened(study_id).trials()
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else list(trials)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return copy.deepcopy(self._opened(trial_id >> TRIAL_ID_BITS).trial(trial_id))

    # Writes

    create_new_study = _read_only("create_new_study")
    delete_study = _read_only("delete_study")
    set_study_user_attr = _read_only("set_study_user_attr")
    set_study_system_attr = _read_only("set_study_system_attr")
    create_new_trial = _read_only("create_new_trial")
    set_trial_param = _read_only("set_trial_param")
    set_trial_state_values = _read_only("set_trial_state_values")
    set_trial_intermediate_value = _read_only("set_trial_intermediate_value")
    set_trial_user_attr = _read_only("set_trial_user_attr")
    set_trial_system_attr = _read_only("set_trial_system_attr")

    # Files

    def _study(self, study_id: int) -> FrozenStudy:
        run = self._run(study_id)
        study = self._summary(run, study_id) if run is not None else None
        if study is None:
            raise KeyError(f"no study with id {study_id}")
        return study

    def _run(self, study_id: int) -> RunDir | None:
        run_id = self._ids.run_id(study_id)
        if run_id is None:
            return None
        return self._store.run(run_id) or find_window_run(self.runs_dir, run_id)

    def _summary(self, run: RunDir, study_id: int) -> FrozenStudy | None:
        """The run's study, re-read only when its file changed (``live.db`` every few seconds).

        A change within the file system's timestamp tick of the last read can go unseen
        until the next one; study attributes are set when a run is prepared, so in practice
        this affects nothing.
        """
        version = self._file_of(run)
        if version is None:
            return None
        with self._lock:
            cached = self._summaries.get(run.run_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        opened = self._open_file(run.run_id, version, study_id)
        if opened is None:
            return None
        try:
            study = opened.summary(run.run_id)
        except _UNREADABLE + (LookupError,) as exc:
            self._unreadable_now(run.run_id, version, exc)
            return None
        with self._lock:
            self._summaries[run.run_id] = (version, study)
        return study

    def _opened(self, study_id: int) -> _OpenStudy:
        run = self._run(study_id)
        version = self._file_of(run) if run is not None else None
        opened = self._open_file(run.run_id, version, study_id) if version is not None else None
        if opened is None:
            raise KeyError(f"no study with id {study_id}")
        return opened

    def _file_of(self, run: RunDir) -> _FileVersion | None:
        """The run's study file; at the end of a run, the live copy it has just removed.

        The coordinator removes ``live.db`` before its final dump writes ``study.db``; in
        between, the live copy already open here (an unlinked file stays readable through
        its open connection) keeps the run on the dashboard instead of a 404.
        """
        version = _study_file(run)
        if version is None:
            with self._lock:
                opened = self._open.get(run.run_id)
            if opened is not None and opened.version.path == run.live_sqlite and _status(run) == RUNNING:
                return opened.version
        return version

    def _open_file(self, run_id: str, version: _FileVersion, study_id: int) -> _OpenStudy | None:
        """The run's open file if it is still the same file, else the newly opened one."""
        with self._lock:
            opened = self._open.get(run_id)
            if opened is not None and opened.version.same_file(version):
                self._open.move_to_end(run_id)
                return opened
            if self._unreadable.get(run_id) == version:
                return None
            if opened is not None:
                self._close(run_id)
            try:
                opened = _OpenStudy(version, study_id)
            except _UNREADABLE + (LookupError,) as exc:
                self._unreadable[run_id] = version
                log.log(
                    logging.DEBUG if isinstance(exc, LookupError) else logging.WARNING,
                    "dashboard: cannot read %s yet: %s",
                    version.path,
                    exc,
                )
                return None
            self._unreadable.pop(run_id, None)
            self._open[run_id] = opened
            while len(self._open) > self._max_open:
                self._close(next(iter(self._open)))
            return opened

    def _unreadable_now(self, run_id: str, version: _FileVersion, exc: BaseException) -> None:
        """A file that opened but cannot be read any more: drop it and retry on its next change."""
        log.warning("dashboard: cannot read %s: %s", version.path, exc)
        with self._lock:
            self._unreadable[run_id] = version
            if run_id in self._open:
                self._close(run_id)

    def _forget_except(self, run_ids: set[str]) -> None:
        """Drop what was kept for deleted runs."""
        with self._lock:
            for run_id in [r for r in self._open if r not in run_ids]:
                self._close(run_id)
            for cache in (self._summaries, self._unreadable):
                for run_id in [r for r in cache if r not in run_ids]:
                    del cache[run_id]

    def _close(self, run_id: str) -> None:
        self._open.pop(run_id).close()
