"""A study's trials as TPE needs them, kept up to date incrementally.

Optuna's TPE converts every trial's parameters to their internal representation on every
``ask`` (a Python loop over trials and parameters). A finished trial never changes, so
here it is converted once, when it is first seen finished, into columns of numbers;
each sync only looks at trials it has not seen before and at the few it saw unfinished
(running or waiting trials of this or another worker, which may finish, fail or be
pruned at any time). Running trials are read afresh at every sync.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

# Optuna's TPE shares a running trial's relatively sampled parameters through these
# system attributes (chunks of one JSON object); read so a study shared with Optuna's
# sampler sees them too.
RELATIVE_PARAMS_KEY = "tpe:relative_params"

COMPLETE = 0
PRUNED = 1


class _Grown:
    """A float or int vector that grows by doubling; ``view(n)`` is its first n entries."""

    def __init__(self, dtype: type, fill: float = 0) -> None:
        self.fill = fill
        self.data = np.full(64, fill, dtype=dtype)

    def set(self, row: int, value: float) -> None:
        if row >= len(self.data):
            grown = np.full(max(2 * len(self.data), row + 1), self.fill, dtype=self.data.dtype)
            grown[: len(self.data)] = self.data
            self.data = grown
        self.data[row] = value

    def view(self, n: int) -> np.ndarray:
        if len(self.data) < n:
            self.set(n - 1, self.fill)
        return self.data[:n]


class Finished:
    """Completed and pruned trials, one row each, in the order they were first seen
    finished; a parameter's column (by name and distribution) holds NaN where a trial
    does not have it."""

    def __init__(self) -> None:
        self.size = 0
        self.in_number_order = True
        self._numbers = _Grown(np.int64)
        self._states = _Grown(np.int64)
        self._values = _Grown(np.float64)
        self._pruned_step = _Grown(np.float64)
        self._pruned_value = _Grown(np.float64)
        self._infeasibility = _Grown(np.float64)
        self.columns: dict[str, list[tuple[BaseDistribution, _Grown]]] = {}

    def __len__(self) -> int:
        return self.size

    def append(self, trial: FrozenTrial, state: int, value: float, pruned_key: tuple[float, float]) -> None:
        row = self.size
        if row and trial.number < self._numbers.data[row - 1]:
            self.in_number_order = False
        self._numbers.set(row, trial.number)
        self._states.set(row, state)
        self._values.set(row, value)
        self._pruned_step.set(row, pruned_key[0])
        self._pruned_value.set(row, pruned_key[1])
        self._infeasibility.set(row, sum(v for v in trial.constraints.values() if v > 0))
        for name, param in trial.params.items():
            dist = trial.distributions[name]
            self._column(name, dist, create=True).set(row, dist.to_internal_repr(param))
        self.size += 1

    @property
    def numbers(self) -> np.ndarray:
        return self._numbers.view(self.size)

    @property
    def states(self) -> np.ndarray:
        return self._states.view(self.size)

    @property
    def values(self) -> np.ndarray:
        return self._values.view(self.size)

    @property
    def pruned_keys(self) -> tuple[np.ndarray, np.ndarray]:
        return self._pruned_step.view(self.size), self._pruned_value.view(self.size)

    @property
    def infeasibility(self) -> np.ndarray:
        return self._infeasibility.view(self.size)

    def column(self, name: str, dist: BaseDistribution) -> np.ndarray:
        column = self._column(name, dist, create=False)
        return column.view(self.size) if column is not None else np.full(self.size, np.nan)

    def _column(self, name: str, dist: BaseDistribution, create: bool) -> _Grown | None:
        """Columns are found by name, then distribution: hashing a distribution costs more
        than comparing two, and a parameter nearly always keeps its distribution."""
        for known, column in self.columns.get(name, ()):
            if known == dist:
                return column
        if not create:
            return None
        column = _Grown(np.float64, np.nan)
        self.columns.setdefault(name, []).append((dist, column))
        return column


class TrialHistory:
    """Everything one sampler knows about one study's trials."""

    def __init__(self, minimize: bool) -> None:
        self.minimize = minimize
        self.finished = Finished()
        self.n_failed = 0
        self.search_space: dict[str, BaseDistribution] | None = None
        self.running: list[FrozenTrial] = []
        self._scanned = 0
        self._last_number = -1
        self._pending: dict[int, int] = {}  # list position -> trial number, for unfinished trials

    def sync(self, trials: list[FrozenTrial]) -> bool:
        """Take in what changed since the last sync; False if ``trials`` is not a
        continuation of what was seen (another study, or a rewritten history)."""
        if len(trials) < self._scanned or (self._scanned and trials[self._scanned - 1].number != self._last_number):
            return False
        for pos, number in list(self._pending.items()):
            trial = trials[pos]
            if trial.number != number:
                return False
            if trial.state.is_finished():
                self._add_finished(trial)
                del self._pending[pos]
        for pos in range(self._scanned, len(trials)):
            trial = trials[pos]
            if trial.state.is_finished():
                self._add_finished(trial)
            else:
                self._pending[pos] = trial.number
        if len(trials) > self._scanned:
            self._scanned = len(trials)
            self._last_number = trials[-1].number
        self.running = [trials[pos] for pos in self._pending if trials[pos].state == TrialState.RUNNING]
        return True

    def _add_finished(self, trial: FrozenTrial) -> None:
        if trial.state == TrialState.FAIL:
            self.n_failed += 1
            return
        complete = trial.state == TrialState.COMPLETE
        self.finished.append(
            trial,
            COMPLETE if complete else PRUNED,
            float(trial.value) if complete else math.nan,
            (0.0, 0.0) if complete else self._pruned_key(trial),
        )
        if self.search_space is None:
            self.search_space = dict(trial.distributions)
        else:
            self.search_space = {
                name: dist for name, dist in self.search_space.items() if trial.distributions.get(name) == dist
            }

    def _pruned_key(self, trial: FrozenTrial) -> tuple[float, float]:
        """Optuna's order of pruned trials: later last step first, then better last value."""
        if not trial.intermediate_values:
            return 1.0, 0.0
        step, value = max(trial.intermediate_values.items())
        if math.isnan(value):
            return -step, math.inf
        return -step, value if self.minimize else -value

    def n_observed(self) -> int:
        """Completed and pruned trials: what TPE learns from (and its start-up count)."""
        return len(self.finished)


def running_params(trial: FrozenTrial, multivariate: bool) -> dict[str, Any]:
    """A running trial's parameters: those already set plus, in multivariate mode, those
    Optuna's TPE announced in its system attributes."""
    if not multivariate:
        return trial.params
    chunks = []
    i = 0
    while chunk := trial.system_attrs.get(f"{RELATIVE_PARAMS_KEY}:{i}"):
        chunks.append(chunk)
        i += 1
    if not chunks:
        return trial.params
    try:
        params = json.loads("".join(chunks))
    except json.JSONDecodeError:
        return trial.params
    params.update(trial.params)
    return params


def study_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False)
