"""One optimisation run's request: validated once, at the edge, and stored as run.json.

``RunConfig.parse`` takes the canonical JSON form (what run.json holds); the CLI and the
web API translate their own inputs into it, so there is exactly one validator.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backtune.engine.backtest import EngineSettings
from backtune.errors import FieldError
from backtune.metrics import METRIC_KEYS
from backtune.optimize.score import ScoreConfig
from backtune.optimize.space import SearchSpace
from backtune.optimize.storage_url import parse_storage
from backtune.optimize.targets import Target, parse_targets
from backtune.registry import get_strategy
from backtune.robustness.cscv import BLOCK_RANGE, DEFAULT_BLOCKS, MIN_TRIALS, check_blocks
from backtune.window import DataWindow

SAMPLERS = ("tpe", "tpe-optuna", "random", "nsga2", "cmaes", "gp", "qmc")
PRUNERS = ("none", "median", "percentile")
BUDGET_MODES = ("trials", "time", "convergence")
MAX_WORKERS = 32
MAX_SEED = 2**32 - 1  # numpy's and Optuna's samplers take seeds below 2**32
MAX_SEED_PARAMS = 1_000
CONVERGENCE_TRIALS = 10_000  # a convergence run's trial cap when none is given
CONSTRAINT_OPS = (">=", "<=")
# The run-end plateau step backtests up to 729 neighbours of each of these best trials.
MAX_PLATEAU_TOP = 20
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def default_workers() -> int:
    return min(os.cpu_count() or 1, 4)


@dataclass(frozen=True)
class Budget:
    """When the run stops. ``trials`` also caps a convergence run; ``seconds`` caps any run."""

    mode: str = "trials"
    trials: int | None = 100
    seconds: float | None = None
    patience: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "trials": self.trials, "seconds": self.seconds, "patience": self.patience}


@dataclass(frozen=True)
class Constraint:
    """A feasibility rule for multi-objective runs, e.g. total_trades >= 30."""

    metric: str
    op: str
    value: float

    def violation(self, metrics: Mapping[str, Any]) -> float:
        """Optuna's convention: <= 0 is feasible, larger is more infeasible."""
        actual = metrics.get(self.metric)
        if actual is None or (isinstance(actual, float) and math.isnan(actual)):
            return math.inf
        return self.value - actual if self.op == ">=" else actual - self.value

    @property
    def label(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def as_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class RunConfig:
    data: str
    strategy: str
    space: SearchSpace
    window: DataWindow = DataWindow()
    settings: EngineSettings = EngineSettings()
    targets: tuple[Target, ...] = ()
    budget: Budget = Budget()
    sampler: str = "tpe"
    pruner: str = "none"
    workers: int = 1
    min_profit: float | None = None
    score: ScoreConfig = ScoreConfig()
    constraints: tuple[Constraint, ...] = ()
    study_name: str = "backtune"
    seed: int | None = None
    seed_params: tuple[Mapping[str, Any], ...] = ()
    warmup_trials: int = 20
    storage: str | None = None
    keep_journal: bool = False
    cscv_blocks: int = 16
    cscv_max_trials: int = 1000
    plateau_top: int = 5
    window_text: Mapping[str, Any] = field(default_factory=dict)

    @property
    def directions(self) -> list[str]:
        return [t.direction for t in self.targets]

    @property
    def multi_objective(self) -> bool:
        return len(self.targets) > 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "strategy": self.strategy,
            "space": self.space.as_dict(),
            "window": dict(self.window_text),
            "capital": self.settings.initial_capital,
            "commission": self.settings.commission,
            "target": [t.name for t in self.targets],
            "budget": self.budget.as_dict(),
            "sampler": self.sampler,
            "pruner": self.pruner,
            "workers": self.workers,
            "min_profit": self.min_profit,
            "score": self.score.as_dict(),
            "constraints": [c.as_dict() for c in self.constraints],
            "study_name": self.study_name,
            "seed": self.seed,
            "seed_params": [dict(p) for p in self.seed_params],
            "warmup_trials": self.warmup_trials,
            "storage": self.storage,
            "keep_journal": self.keep_journal,
            "cscv_blocks": self.cscv_blocks,
            "cscv_max_trials": self.cscv_max_trials,
            "plateau_top": self.plateau_top,
        }

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> RunConfig:
        """Validate the canonical form; every error names the field it is about."""
        known = set(cls.__dataclass_fields__) - {"targets", "settings", "window_text"}
        known |= {"target", "capital", "commission"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise FieldError(unknown[0], "unknown setting")
        data = raw.get("data")
        if not isinstance(data, str) or not data:
            raise FieldError("data", "give the path of the OHLCV CSV")
        strategy = get_strategy(_text(raw, "strategy", None))
        window_text = raw.get("window") or {}
        if not isinstance(window_text, Mapping):
            raise FieldError("window", "expected an object with start, end, warmup_bars")
        window = DataWindow.parse(window_text.get("start"), window_text.get("end"), window_text.get("warmup_bars", 0))
        defaults = EngineSettings()
        settings = EngineSettings.checked(
            _float(raw, "capital", defaults.initial_capital), _float(raw, "commission", defaults.commission)
        )
        targets = parse_targets(raw.get("target", "score"))
        budget = parse_budget(raw.get("budget") or {}, len(targets) > 1)
        sampler = _choice(raw, "sampler", SAMPLERS, "nsga2" if len(targets) > 1 else "tpe")
        if sampler == "gp" and importlib.util.find_spec("torch") is None:
            # PyTorch is several GB, so Backtune does not install it by default.
            raise FieldError("sampler", "the gp sampler needs PyTorch (pip install torch); pick another or install it")
        if len(targets) > 1 and sampler in ("cmaes", "gp"):
            raise FieldError("sampler", f"{sampler} handles a single target; use nsga2, tpe, tpe-optuna, random or qmc")
        pruner = _choice(raw, "pruner", PRUNERS, "none")
        if len(targets) > 1 and pruner != "none":
            raise FieldError("pruner", "Optuna prunes single-target runs only; use none with several targets")
        space_spec = raw.get("space")
        if space_spec is not None and not isinstance(space_spec, Mapping):
            raise FieldError("space", "expected an object of parameter -> range or value")
        space = SearchSpace.parse(strategy, space_spec)
        seed_params = raw.get("seed_params") or []
        if not isinstance(seed_params, list):
            raise FieldError("seed_params", "expected a list of parameter objects")
        for params in seed_params:
            if not isinstance(params, Mapping):
                raise FieldError("seed_params", "each entry must be an object of parameter values")
            strategy.validate({**space.fixed, **params})
        seed_params = [space.seed(params) for params in seed_params]
        _check_seed_count(len(seed_params), budget)
        study_name = _text(raw, "study_name", "backtune")
        if not STUDY_NAME.match(study_name):
            raise FieldError("study_name", "use letters, digits, '.', '_' or '-' (at most 100)")
        return cls(
            data=data,
            strategy=strategy.id,
            space=space,
            window=window,
            settings=settings,
            targets=targets,
            budget=budget,
            sampler=sampler,
            pruner=pruner,
            workers=_workers(raw.get("workers", default_workers())),
            min_profit=None if raw.get("min_profit") is None else _float(raw, "min_profit", 0.0),
            score=ScoreConfig.parse(raw.get("score")),
            constraints=_constraints(raw.get("constraints") or []),
            study_name=study_name,
            seed=_optional_int(raw, "seed", minimum=0, maximum=MAX_SEED),
            seed_params=tuple(seed_params),
            warmup_trials=_optional_int(raw, "warmup_trials", minimum=0, default=20),
            storage=None if raw.get("storage") is None else parse_storage(raw["storage"]).url,
            keep_journal=bool(raw.get("keep_journal", False)),
            cscv_blocks=_cscv_blocks(raw),
            cscv_max_trials=_optional_int(raw, "cscv_max_trials", minimum=MIN_TRIALS, default=1000),
            plateau_top=_optional_int(raw, "plateau_top", minimum=0, maximum=MAX_PLATEAU_TOP, default=5),
            window_text={k: window_text.get(k) for k in ("start", "end", "warmup_bars") if k in window_text},
        )


def _cscv_blocks(raw: Mapping[str, Any]) -> int:
    """CSCV splits the window into this many blocks; C(S, S/2) splits, so 32 is already 601M."""
    blocks = _optional_int(raw, "cscv_blocks", minimum=BLOCK_RANGE[0], default=DEFAULT_BLOCKS)
    try:
        check_blocks(blocks)
    except ValueError as exc:
        raise FieldError("cscv_blocks", str(exc)) from None
    return blocks


def _workers(value: Any) -> int:
    """1..32; a count outside is refused, never quietly changed (a server may allow fewer:
    RunLimits)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise FieldError("workers", f"expected a whole number of worker processes, got {value!r}")
    if not 1 <= value <= MAX_WORKERS:
        raise FieldError("workers", f"expected 1 to {MAX_WORKERS} worker processes, got {int(value)}")
    return int(value)


def _check_seed_count(count: int, budget: Budget) -> None:
    """Seeds run within the trial budget (they are its first trials), so more seeds than
    trials would leave some waiting for ever; a list is bounded even without a trial budget."""
    if count > MAX_SEED_PARAMS:
        raise FieldError("seed_params", f"at most {MAX_SEED_PARAMS} parameter sets, got {count}")
    if budget.trials is not None and count > budget.trials:
        raise FieldError(
            "seed_params",
            f"{count} parameter sets but a budget of {budget.trials} trials; "
            f"give at most {budget.trials}, or more trials",
        )


@dataclass(frozen=True)
class RunLimits:
    """A server's bounds on one run, so that no job can hold a slot for ever
    (BACKTUNE_MAX_WORKERS, BACKTUNE_MAX_TRIALS, BACKTUNE_MAX_RUN_S); the CLI has none."""

    workers: int = MAX_WORKERS
    trials: int | None = None
    seconds: float | None = None

    def check(self, config: RunConfig) -> None:
        if config.workers > self.workers:
            raise FieldError(
                "workers",
                f"at most {self.workers} worker processes on this server (BACKTUNE_MAX_WORKERS), got {config.workers}",
            )
        self.check_budget(config.budget)

    def check_budget(self, budget: Budget) -> None:
        if self.trials is not None and budget.trials is not None and budget.trials > self.trials:
            raise FieldError(
                "budget.trials",
                f"at most {self.trials} trials on this server (BACKTUNE_MAX_TRIALS), got {budget.trials}",
            )
        if self.seconds is not None and budget.seconds is not None and budget.seconds > self.seconds:
            raise FieldError(
                "budget.seconds",
                f"at most {self.seconds:g} s on this server (BACKTUNE_MAX_RUN_S), got {budget.seconds:g}",
            )


def parse_budget(raw: Any, multi: bool) -> Budget:
    """A run's budget, or a resume's (which is checked on its own: the run's seeds were
    spent by its first budget)."""
    if not isinstance(raw, Mapping):
        raise FieldError("budget", "expected an object with mode, trials, seconds, patience")
    mode = _choice(raw, "mode", BUDGET_MODES, "trials", field="budget.mode")
    trials = _optional_int(raw, "trials", minimum=1, field="budget.trials")
    seconds = None if raw.get("seconds") is None else _float(raw, "seconds", 0.0, field="budget.seconds")
    if seconds is not None and seconds <= 0:
        raise FieldError("budget.seconds", f"must be positive, got {seconds}")
    patience = _optional_int(raw, "patience", minimum=1, field="budget.patience")
    if mode == "trials" and trials is None:
        trials = Budget().trials
    if mode == "time" and seconds is None:
        raise FieldError("budget.seconds", "a time budget needs a number of seconds")
    if mode == "convergence":
        if multi:
            raise FieldError("budget.mode", "convergence needs a single target")
        if patience is None:
            raise FieldError("budget.patience", "a convergence budget needs a patience (trials without improvement)")
        trials = trials or CONVERGENCE_TRIALS
    return Budget(mode, trials, seconds, patience)


def _constraints(raw: Any) -> tuple[Constraint, ...]:
    if not isinstance(raw, list):
        raise FieldError("constraints", "expected a list of {metric, op, value}")
    found = []
    for entry in raw:
        if not isinstance(entry, Mapping) or entry.get("metric") not in METRIC_KEYS:
            raise FieldError("constraints", f"each needs a metric from the metric list, got {entry!r}")
        if entry.get("op") not in CONSTRAINT_OPS:
            raise FieldError("constraints", f"op must be one of {', '.join(CONSTRAINT_OPS)}, got {entry.get('op')!r}")
        found.append(Constraint(entry["metric"], entry["op"], _float(entry, "value", 0.0, field="constraints")))
    return tuple(found)


def _choice(raw: Mapping[str, Any], key: str, options: tuple[str, ...], default: str, field: str | None = None) -> str:
    value = raw.get(key) or default
    if value not in options:
        raise FieldError(field or key, f"unknown {key} {value!r} (choose from {', '.join(options)})")
    return value


def _text(raw: Mapping[str, Any], key: str, default: str | None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise FieldError(key, f"expected a non-empty text, got {value!r}")
    return value


def _float(raw: Mapping[str, Any], key: str, default: float, field: str | None = None) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldError(field or key, f"expected a number, got {value!r}")
    return float(value)


def _optional_int(
    raw: Mapping[str, Any],
    key: str,
    minimum: int,
    field: str | None = None,
    default: int | None = None,
    maximum: int | None = None,
) -> int | None:
    value = raw.get(key)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value != int(value)
    ):
        raise FieldError(field or key, f"expected a whole number, got {value!r}")
    if value < minimum:
        raise FieldError(field or key, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise FieldError(field or key, f"must be <= {maximum}, got {value}")
    return int(value)
