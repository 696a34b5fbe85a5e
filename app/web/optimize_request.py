"""Translating the optimise request our clients send into the engine's canonical run config.

Clients speak the seed's vocabulary (``worker_processes``, ``param_ranges``,
``optuna_n_trials`` ...), whose shapes the contract's models have already checked; the
engine validates one canonical dict (docs/optimization.md), rules across fields
included. Errors found by the engine are reported back under the client's own field names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.settings import Settings
from app.web.contract.models.optimize import (
    OptimizeOptions,
    SeedScoreConfig,
    SelectRange,
)
from app.web.errors import ApiError
from backtune.errors import FieldError
from backtune.optimize.config import CONVERGENCE_TRIALS, MAX_WORKERS, RunLimits
from backtune.strategy import Strategy

CLIENT_FIELDS = {
    "workers": "worker_processes",
    "target": "optuna_target",
    "budget.mode": "optuna_budget_mode",
    "budget.trials": "optuna_n_trials",
    "budget.seconds": "optuna_time_limit",
    "budget.patience": "optuna_convergence",
    "sampler": "optuna_sampler",
    "pruner": "optuna_pruner",
    "warmup_trials": "optuna_warmup_trials",
    "min_profit": "min_profit_threshold",
    "warmup_bars": "warmupBars",
}
DEFAULT_WORKERS = 2


def run_limits(settings: Settings) -> RunLimits:
    """The server's bounds on one job (docs/deployment.md)."""
    return RunLimits(
        workers=min(MAX_WORKERS, settings.max_workers), trials=settings.max_trials, seconds=settings.max_run_s
    )


def client_field(field: str) -> str:
    """The name the client used for a canonical field."""
    return CLIENT_FIELDS.get(field, field)


@contextmanager
def client_names() -> Iterator[None]:
    """The engine names its canonical fields; the client knows its own."""
    try:
        yield
    except FieldError as exc:
        field = client_field(exc.field)
        raise ApiError(400, "invalid_field", f"{field}: {exc.reason}", field) from None


def canonical_config(
    strategy: Strategy, options: OptimizeOptions, data: str, warmup_bars: int, limits: RunLimits
) -> dict[str, Any]:
    """The canonical dict for ``RunConfig.parse``; defaults stay within the server's ``limits``."""
    fixed = options.fixed_params
    window: dict[str, Any] = {"warmup_bars": warmup_bars}
    if fixed.dateFilter:
        window.update(start=fixed.start or None, end=fixed.end or None)
    raw: dict[str, Any] = {
        "data": data,
        "strategy": strategy.id,
        "space": _space(strategy, options),
        "window": window,
        "workers": options.worker_processes or min(DEFAULT_WORKERS, limits.workers),
        "target": options.optuna_target,
        "budget": _budget(options, limits),
        "sampler": options.optuna_sampler,
        "pruner": options.optuna_pruner,
        "warmup_trials": options.optuna_warmup_trials,
        "seed": options.seed,
        "score": _score(options.score_config),
        "seed_params": options.seed_params,
        "constraints": [c.model_dump() for c in options.constraints],
        "plateau_top": options.plateau_top,
    }
    for key in ("capital", "commission"):
        if getattr(options, key) is not None:
            raw[key] = getattr(options, key)
    if options.filter_min_profit:
        raw["min_profit"] = options.min_profit_threshold
    return raw


def _space(strategy: Strategy, options: OptimizeOptions) -> dict[str, Any]:
    """Every declared parameter plus any name the client gave, so that the engine refuses
    an unknown name instead of this translation dropping it."""
    enabled = options.enabled_params
    if isinstance(enabled, dict):
        enabled = [name for name, on in enabled.items() if on]
    searched = set(enabled) if enabled is not None else {p.name for p in strategy.params if p.optimize}
    fixed = options.fixed_params.model_extra or {}
    defaults = {p.name: p.default for p in strategy.params}
    names = [*defaults, *(n for n in [*searched, *options.param_ranges, *fixed] if n not in defaults)]
    space: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        if name in searched:
            space[name] = _range(options.param_ranges.get(name))
        else:
            space[name] = {"enabled": False, "value": fixed.get(name, defaults.get(name))}
    return space


def _range(given: list[float] | SelectRange | None) -> dict[str, Any]:
    if given is None:
        return {}
    if isinstance(given, SelectRange):
        return {"choices": given.values}
    low, high, *step = given
    return {"low": low, "high": high, **({"step": step[0]} if step else {})}


def _budget(options: OptimizeOptions, limits: RunLimits) -> dict[str, Any]:
    mode = options.optuna_budget_mode
    defaults = {"trials": 100, "convergence": min(CONVERGENCE_TRIALS, limits.trials or CONVERGENCE_TRIALS)}
    trials = options.optuna_n_trials if options.optuna_n_trials is not None else defaults.get(mode)
    budget = {
        "mode": mode,
        "trials": trials,
        "seconds": options.optuna_time_limit,
        "patience": options.optuna_convergence,
    }
    return {key: value for key, value in budget.items() if value is not None}


def _score(score_config: Any) -> Any:
    """``{metric: weight}`` as the engine takes it, or the seed's ``{"weights": ..., "bounds": ...}``."""
    if score_config is None:
        return None
    if isinstance(score_config, SeedScoreConfig):
        return {
            metric: {"weight": weight, **_bounds(score_config.bounds.get(metric))}
            for metric, weight in score_config.weights.items()
        }
    return {
        metric: term if isinstance(term, float) else term.model_dump(exclude_none=True)
        for metric, term in score_config.items()
    }


def _bounds(bounds: Any) -> dict[str, float]:
    return bounds.model_dump(exclude_none=True) if bounds is not None else {}
