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
from dataclasses import dataclass, field
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


class _Column:
    """One parameter (name and distribution): internal values by row, NaN where absent."""

    def __init__(self) -> None:
        self.values = np.full(64, np.nan)

    def set(self, row: int, value: float) -> None:
        if row >= len(self.values):
            grown = np.full(max(2 * len(self.values), row + 1), np.nan)
            grown[:len(self.values)] = self.values
            self.values = grown
        self.values[row] = value


@dataclass
class Finished:
    """Completed and pruned trials, one row each, in the order they were first seen finished."""

    numbers: list[int] = field(default_factory=list)
    states: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    pruned_keys: list[tuple[float, float]] = field(default_factory=list)
    infeasibility: list[float] = field(default_factory=list)
    columns: dict[tuple[str, BaseDistribution], _Column] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.numbers)

    def column(self, name: str, dist: BaseDistribution) -> np.ndarray:
        col = self.columns.get((name, dist))
        n = len(self.numbers)
        return col.values[:n] if col is not None and len(col.values) >= n else _padded(col, n)


def _padded(col: _Column | None, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    if col is not None:
        out[:len(col.values)] = col.values[:n]
    return out


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
        fin = self.finished
        row = len(fin.numbers)
        fin.numbers.append(trial.number)
        fin.states.append(COMPLETE if trial.state == TrialState.COMPLETE else PRUNED)
        fin.values.append(float(trial.value) if trial.state == TrialState.COMPLETE else math.nan)
        fin.pruned_keys.append(self._pruned_key(trial) if trial.state == TrialState.PRUNED else (0.0, 0.0))
        fin.infeasibility.append(sum(v for v in trial.constraints.values() if v > 0))
        for name, value in trial.params.items():
            dist = trial.distributions[name]
            column = fin.columns.get((name, dist))
            if column is None:
                column = fin.columns[(name, dist)] = _Column()
            column.set(row, dist.to_internal_repr(value))
        if self.search_space is None:
            self.search_space = dict(trial.distributions)
        else:
            self.search_space = {name: dist for name, dist in self.search_space.items()
                                 if trial.distributions.get(name) == dist}

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
