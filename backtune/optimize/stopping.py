"""Global stop rules, checked by every worker before it starts a trial.

Each rule reads the shared study (or the run directory), never a worker's own counters,
so budgets hold across all workers: the trial budget overshoots by at most workers - 1
(trials started in the same instant), the time budget by at most one trial, and
convergence counts improvements made by any worker.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime

import optuna
from optuna.trial import TrialState

from backtune.optimize.optuna_compat import trial_exists
from backtune.optimize.rundir import RunDir

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class TrialLimitReached(Exception):
    """Raised by a storage that enforces the trial budget itself (``BatchedDatabaseStorage``):
    the study already holds its budget, so no trial was created."""


@dataclass
class Convergence:
    """The best value and how many trials have finished since it last improved.

    Trials count in the order they finish, not by number: a trial numbered early can
    finish late (a slow worker's), and "no improvement for ``patience`` trials" means the
    last ``patience`` trials to finish did not beat the best. Each check reads only trials
    from the first unfinished one on, so it costs the trials still running plus the new.
    """

    patience: int
    maximize: bool
    cursor: int = 0
    best: float = math.nan
    since_best: int = 0
    counted: set[int] = field(default_factory=set)

    def update(self, trials: list[optuna.trial.FrozenTrial]) -> None:
        fresh = [t for t in trials[self.cursor :] if t.state in FINISHED and t.number not in self.counted]
        for trial in sorted(fresh, key=lambda t: (t.datetime_complete or datetime.min, t.number)):
            self.counted.add(trial.number)
            self._finish(trial)
        while self.cursor < len(trials) and self.cursor in self.counted:
            self.counted.discard(self.cursor)
            self.cursor += 1

    def _finish(self, trial: optuna.trial.FrozenTrial) -> None:
        value = trial.value if trial.state == TrialState.COMPLETE else None
        if value is not None and (math.isnan(self.best) or (value > self.best if self.maximize else value < self.best)):
            self.best, self.since_best = value, 0
        elif not math.isnan(self.best):
            self.since_best += 1

    @property
    def converged(self) -> bool:
        return not math.isnan(self.best) and self.since_best >= self.patience


class StopRules:
    """Why a worker should not start another trial, or None to go on."""

    def __init__(
        self, run: RunDir, trial_limit: int | None, deadline: float | None, convergence: Convergence | None
    ) -> None:
        self.run = run
        self.trial_limit = trial_limit
        self.deadline = deadline
        self.convergence = convergence

    def reason(self, study: optuna.Study) -> str | None:
        if (local := self.local_reason()) is not None:
            return local
        if self.trial_limit is not None and trial_exists(study, self.trial_limit - 1):
            return "trials"
        if self.convergence is not None:
            self.convergence.update(study.get_trials(deepcopy=False))
            if self.convergence.converged:
                return "converged"
        return None

    def local_reason(self) -> str | None:
        """The rules that need no study (a cancel, the deadline): all a worker can check
        while its database is out of reach."""
        if self.run.stop_requested:
            return "cancelled"
        if self.deadline is not None and time.time() >= self.deadline:
            return "time"
        return None
