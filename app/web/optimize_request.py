"""Translating the optimise request our clients send into the engine's canonical run config.

Clients speak the seed's vocabulary (``worker_processes``, ``param_ranges``,
``optuna_n_trials`` ...); the engine validates one canonical dict (docs/optimization.md).
Errors found by the engine are reported back under the client's own field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backtune.errors import FieldError
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
KNOWN_KEYS = {
    "worker_processes", "enabled_params", "param_ranges", "fixed_params", "filter_min_profit",
    "min_profit_threshold", "score_config", "optuna_target", "optuna_budget_mode", "optuna_n_trials",
    "optuna_time_limit", "optuna_convergence", "optuna_sampler", "optuna_pruner", "optuna_warmup_trials",
    "optuna_save_study", "seed", "capital", "commission", "seed_params", "constraints",
}


def client_field(field: str) -> str:
    """The name the client used for a canonical field."""
    return CLIENT_FIELDS.get(field, field)


def canonical_config(strategy: Strategy, options: Mapping[str, Any], data_path: str, warmup_bars: Any,
                     max_workers: int) -> dict[str, Any]:
    """The canonical dict for ``RunConfig.parse``; shape errors raise FieldError with client names."""
    unknown = sorted(set(options) - KNOWN_KEYS)
    if unknown:
        raise FieldError(unknown[0], f"unknown setting (known: {', '.join(sorted(KNOWN_KEYS))})")
    fixed = _mapping(options, "fixed_params")
    workers = options.get("worker_processes", min(2, max_workers))
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 32:
        raise FieldError("worker_processes", f"expected a whole number from 1 to 32, got {workers!r}")
    raw: dict[str, Any] = {
        "data": data_path,
        "strategy": strategy.id,
        "space": _space(strategy, options, fixed),
        "window": _window(fixed, warmup_bars),
        "workers": min(workers, max_workers),
        "target": options.get("optuna_target", "score"),
        "budget": _budget(options),
        "sampler": options.get("optuna_sampler"),
        "pruner": options.get("optuna_pruner"),
        "warmup_trials": options.get("optuna_warmup_trials"),
        "seed": options.get("seed"),
        "score": _score(options.get("score_config")),
        "seed_params": options.get("seed_params") or [],
        "constraints": options.get("constraints") or [],
    }
    for key in ("capital", "commission"):
        if key in options:
            raw[key] = options[key]
    if options.get("filter_min_profit"):
        raw["min_profit"] = options.get("min_profit_threshold", 0.0)
    return raw


def _space(strategy: Strategy, options: Mapping[str, Any], fixed: Mapping[str, Any]) -> dict[str, Any]:
    declared = {p.name: p for p in strategy.params}
    enabled = options.get("enabled_params")
    if isinstance(enabled, Mapping):
        enabled = [name for name, on in enabled.items() if on]
    if enabled is not None and not isinstance(enabled, list):
        raise FieldError("enabled_params", "expected a list of parameter names")
    enabled_set = set(enabled) if enabled is not None else {p.name for p in strategy.params if p.optimize}
    ranges = _mapping(options, "param_ranges")
    for name in [*enabled_set, *ranges]:
        if name not in declared:
            raise FieldError(name, f"unknown parameter (known: {', '.join(declared)})")
    space: dict[str, Any] = {}
    for name, param in declared.items():
        if name in enabled_set:
            space[name] = _range(name, ranges.get(name))
        else:
            space[name] = {"enabled": False, "value": fixed.get(name, param.default)}
    return space


def _range(name: str, given: Any) -> dict[str, Any]:
    if given is None:
        return {}
    if isinstance(given, Mapping) and given.get("type") == "select":
        return {"choices": given.get("values")}
    if isinstance(given, (list, tuple)) and len(given) in (2, 3):
        low, high, *step = given
        return {"low": low, "high": high, **({"step": step[0]} if step else {})}
    raise FieldError(name, 'a range is [from, to, step] or {"type": "select", "values": [...]}')


def _window(fixed: Mapping[str, Any], warmup_bars: Any) -> dict[str, Any]:
    window: dict[str, Any] = {"warmup_bars": _whole(warmup_bars, "warmupBars") if warmup_bars not in (None, "")
                              else 0}
    if fixed.get("dateFilter"):
        window.update(start=fixed.get("start") or None, end=fixed.get("end") or None)
    return window


def _budget(options: Mapping[str, Any]) -> dict[str, Any]:
    mode = options.get("optuna_budget_mode", "trials")
    budget = {"mode": mode, "trials": options.get("optuna_n_trials", 100 if mode == "trials" else None),
              "seconds": options.get("optuna_time_limit"), "patience": options.get("optuna_convergence")}
    return {key: value for key, value in budget.items() if value is not None}


def _score(score_config: Any) -> Any:
    """``{metric: weight}`` as the engine takes it, or the seed's ``{"weights": ..., "bounds": ...}``."""
    if not isinstance(score_config, Mapping) or "weights" not in score_config:
        return score_config
    bounds = score_config.get("bounds") or {}
    return {metric: {"weight": weight, **bounds.get(metric, {})} for metric, weight in score_config["weights"].items()}


def _mapping(options: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = options.get(key) or {}
    if not isinstance(value, Mapping):
        raise FieldError(key, "expected an object")
    return value


def _whole(value: Any, field: str) -> int:
    """Multipart forms send text; JSON sends numbers. Both must hold a whole number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise FieldError(field, f"expected a whole number, got {value!r}")
