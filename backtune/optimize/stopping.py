"""Global stop rules, checked by every worker before it starts a trial.

Each rule reads the shared study (or the run directory), never a worker's own counters,
so budgets hold across all workers: the trial budget overshoots by at most workers - 1
(trials started in the same instant), the time budget by at most one trial, and
convergence counts improvements made by any worker.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from backtune.optimize.rundir import RunDir

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass
class Convergence:
    """Tracks the best value and the finished trials since it, reading only new trials.

    Trials are scanned by number from the first one not yet finished, so each check costs
    the handful of trials still running plus the new ones, not the whole study.
    """

    patience: int
    maximize: bool
    cursor: int = 0
    best: float = math.nan
    best_number: int = -1
    since_best: int = 0

    def update(self, trials: list[optuna.trial.FrozenTrial]) -> None:
        pending = []
        for trial in trials[self.cursor:]:
            if trial.state not in FINISHED:
                pending.append(trial)
                continue
            if pending:
                continue
            self.cursor = trial.number + 1
            self._finish(trial)
        self.since_best = sum(1 for t in trials[self.best_number + 1:] if t.state in FINISHED)

    def _finish(self, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state != TrialState.COMPLETE or trial.value is None:
            return
        better = trial.value > self.best if self.maximize else trial.value < self.best
        if math.isnan(self.best) or better:
            self.best, self.best_number = trial.value, trial.number

    @property
    def converged(self) -> bool:
        return self.best_number >= 0 and self.since_best >= self.patience


class StopRules:
    """Why a worker should not start another trial, or None to go on."""

    def __init__(self, run: RunDir, trial_limit: int | None, deadline: float | None,
                 convergence: Convergence | None) -> None:
        self.run = run
        self.trial_limit = trial_limit
        self.deadline = deadline
        self.convergence = convergence

    def reason(self, study: optuna.Study) -> str | None:
        if self.run.stop_requested:
            return "cancelled"
        if self.deadline is not None and time.time() >= self.deadline:
            return "time"
        if self.trial_limit is not None and self._trial_exists(study, self.trial_limit - 1):
            return "trials"
        if self.convergence is not None:
            self.convergence.update(study.get_trials(deepcopy=False))
            if self.convergence.converged:
                return "converged"
        return None

    @staticmethod
    def _trial_exists(study: optuna.Study, number: int) -> bool:
        """Whether the study holds trial ``number``, without listing every trial (the
        journal answers this in constant time; listing grows with the study)."""
        try:
            study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        except KeyError:
            return False
        return True
