"""Backtune's TPE: Optuna's algorithm and defaults, without redoing finished work.

What it keeps of Optuna's ``TPESampler`` (``optuna/samplers/_tpe/sampler.py``, Copyright
(c) 2018 Preferred Networks, Inc., MIT licence, whose logic this ports): start-up trials
sampled by a ``RandomSampler`` with the same seed; the intersection search space of
completed and pruned trials; gamma, weights, prior and bandwidth rules; the split into
good and bad trials (completed by value, then pruned by last step and value, then
infeasible by violation; running trials among the bad ones with the constant liar);
``n_ei_candidates`` draws from the good trials' mixture, the one with the highest
log l(x) - log g(x) wins; the same random stream, so a seed gives Optuna's proposals.

What it changes: a per-study ``TrialHistory`` converts each finished trial once, and the
mixtures are evaluated by compiled table look-ups (``parzen.py``). Multi-objective
studies are handed to Optuna's own sampler (its split needs non-domination ranks and
hypervolume subset selection); ``group`` decomposition is not offered. It does not
write the ``tpe:relative_params`` system attributes: Backtune's workers publish a trial's
parameters in one append right after suggesting them, so the constant liar sees running
trials without an extra journal write per trial; it reads them if another sampler wrote
them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

from backtune.optimize.tpe.history import TrialHistory, running_params, study_trials
from backtune.optimize.tpe.parzen import (
    EstimatorSettings,
    Mixture,
    checked_weights,
    default_gamma,
    default_weights,
    dims_of,
)
from backtune.optimize.tpe.split import below_rows


class TPESampler(BaseSampler):
    """Drop-in for ``optuna.samplers.TPESampler`` with the same keyword arguments and
    defaults (less the deprecated ``consider_prior``, ``constraints_func``,
    ``warn_independent_sampling`` and ``group``)."""

    def __init__(
        self,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        seed: int | None = None,
        multivariate: bool | None = None,
        constant_liar: bool = True,
        prior_weight: float = 1.0,
        consider_magic_clip: bool = True,
        consider_endpoints: bool = False,
        gamma: Callable[[int], int] | None = None,
        weights: Callable[[int], np.ndarray] = default_weights,
    ) -> None:
        self._n_startup_trials = n_startup_trials
        self._n_ei_candidates = n_ei_candidates
        self._seed = seed
        self._multivariate = multivariate
        self._constant_liar = constant_liar
        self._settings = EstimatorSettings(prior_weight, consider_magic_clip, consider_endpoints)
        self._gamma = gamma or default_gamma
        self._custom_gamma = gamma
        self._weights = weights
        self._rng = np.random.RandomState(seed)
        self._random_sampler = RandomSampler(seed=seed)
        self._histories: dict[str, TrialHistory] = {}
        self._optuna: optuna.samplers.TPESampler | None = None
        self._synced_for: tuple[str, int] | None = None

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._random_sampler.reseed_rng()
        if self._optuna is not None:
            self._optuna.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if self._multivariate is False:
            return {}
        if _multi_objective(study):
            return self._optuna_sampler().infer_relative_search_space(study, trial)
        history = self._history(study)
        self._synced_for = (study.study_name, trial.number)
        space = history.search_space or {}
        return {name: dist for name, dist in sorted(space.items()) if not dist.single()}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if _multi_objective(study):
            return self._optuna_sampler().sample_relative(study, trial, search_space)
        if not search_space:
            return {}
        # Optuna asks for the search space, then right away for the relative sample; the
        # history synced for the first serves the second (as Optuna's trial cache does).
        synced, self._synced_for = self._synced_for, None
        history = self._history(study, sync=synced != (study.study_name, trial.number))
        if history.n_observed() < self._n_startup_trials:
            return {}
        return self._sample(history, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        if _multi_objective(study):
            return self._optuna_sampler().sample_independent(study, trial, param_name, param_distribution)
        history = self._history(study)
        if history.n_observed() < self._n_startup_trials:
            return self._random_sampler.sample_independent(study, trial, param_name, param_distribution)
        return self._sample(history, trial, {param_name: param_distribution})[param_name]

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if _multi_objective(study):
            self._optuna_sampler().before_trial(study, trial)
        else:
            self._random_sampler.before_trial(study, trial)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        if _multi_objective(study):
            self._optuna_sampler().after_trial(study, trial, state, values)
        else:
            self._random_sampler.after_trial(study, trial, state, values)

    def _history(self, study: optuna.Study, sync: bool = True) -> TrialHistory:
        """The study's history, brought up to date (rebuilt if the trials are not a
        continuation of what it saw)."""
        history = self._histories.get(study.study_name)
        if history is not None and not sync:
            return history
        trials = study_trials(study)
        if history is None or not history.sync(trials):
            history = TrialHistory(minimize=study.direction == optuna.study.StudyDirection.MINIMIZE)
            history.sync(trials)
            self._histories[study.study_name] = history
        return history

    def _sample(
        self, history: TrialHistory, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        below, above = self._observations(history, trial, search_space)
        dims = dims_of(search_space)
        mpe_below = Mixture(dims, below, checked_weights(self._weights, len(below)), self._settings)
        mpe_above = Mixture(dims, above, checked_weights(self._weights, len(above)), self._settings)
        samples = mpe_below.sample(self._rng, self._n_ei_candidates)
        acquisition = mpe_below.log_pdf(samples) - mpe_above.log_pdf(samples)
        best = samples[int(np.argmax(acquisition))]
        return {name: dist.to_external_repr(best[j].item()) for j, (name, dist) in enumerate(search_space.items())}

    def _observations(
        self, history: TrialHistory, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Internal values of the good and the bad trials, each in trial-number order; only
        trials that have every parameter of ``search_space``."""
        fin = history.finished
        order = np.arange(len(fin)) if fin.in_number_order else np.argsort(fin.numbers, kind="stable")
        is_below = np.zeros(len(fin), dtype=bool)
        is_below[below_rows(fin, self._gamma(len(fin)), history.minimize, order)] = True
        x = np.empty((len(fin), len(search_space)))
        for j, (name, dist) in enumerate(search_space.items()):
            x[:, j] = fin.column(name, dist)
        x = x[order]
        is_below = is_below[order]
        running = [t for t in history.running if t.number != trial.number] if self._constant_liar else []
        above = x[~is_below]
        if running:
            run_x, run_numbers = self._running_rows(running, search_space)
            numbers = np.concatenate([fin.numbers[order][~is_below], run_numbers])
            above = np.vstack([above, run_x])[np.argsort(numbers, kind="stable")]
        return _with_every_param(x[is_below]), _with_every_param(above)

    def _running_rows(
        self, running: list[FrozenTrial], search_space: dict[str, BaseDistribution]
    ) -> tuple[np.ndarray, np.ndarray]:
        rows, numbers = [], []
        multivariate = self._multivariate is not False
        for t in running:
            params = running_params(t, multivariate)
            if search_space.keys() <= params.keys():
                rows.append([dist.to_internal_repr(params[name]) for name, dist in search_space.items()])
                numbers.append(t.number)
        return np.array(rows, dtype=float).reshape(len(rows), len(search_space)), np.array(numbers, dtype=np.int64)

    def _optuna_sampler(self) -> optuna.samplers.TPESampler:
        if self._optuna is None:
            self._optuna = optuna_twin(self)
        return self._optuna


def _with_every_param(x: np.ndarray) -> np.ndarray:
    missing = np.isnan(x).any(axis=1)
    return x[~missing] if missing.any() else x


def _multi_objective(study: optuna.Study) -> bool:
    return len(study.directions) > 1


def optuna_twin(sampler: TPESampler) -> optuna.samplers.TPESampler:
    """Optuna's TPE with this sampler's settings (deprecated keywords only when they differ
    from the defaults, so it warns no more than the caller's own choice)."""
    extra: dict[str, Any] = {}
    defaults = EstimatorSettings()
    for name in ("prior_weight", "consider_magic_clip", "consider_endpoints"):
        if getattr(sampler._settings, name) != getattr(defaults, name):
            extra[name] = getattr(sampler._settings, name)
    if sampler._custom_gamma is not None:
        extra["gamma"] = sampler._custom_gamma
    if sampler._weights is not default_weights:
        extra["weights"] = sampler._weights
    return optuna.samplers.TPESampler(
        n_startup_trials=sampler._n_startup_trials,
        n_ei_candidates=sampler._n_ei_candidates,
        seed=sampler._seed,
        multivariate=sampler._multivariate,
        constant_liar=sampler._constant_liar,
        **extra,
    )
