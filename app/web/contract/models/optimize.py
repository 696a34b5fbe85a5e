"""``POST /api/optimize``: the seed's vocabulary, which the UI and existing clients speak.

What each option means is in docs/optimization.md; how they map to the engine's run
config is app/web/optimize_request.py. Ranges against a strategy's declared bounds and
the window against the data are checked by the core, not here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from app.web.contract.base import Body, FiniteFloat, Form, Number, ParamValue
from app.web.contract.models.backtest import DataSourceFields
from backtune.metrics import METRIC_KEYS
from backtune.optimize.config import (
    BUDGET_MODES,
    CONSTRAINT_OPS,
    MAX_PLATEAU_TOP,
    MAX_SEED,
    MAX_SEED_PARAMS,
    MAX_WORKERS,
    PRUNERS,
    SAMPLERS,
)
from backtune.optimize.targets import TARGETS

TargetName = Literal[tuple(TARGETS)]  # type: ignore[valid-type]
MetricName = Literal[tuple(METRIC_KEYS)]  # type: ignore[valid-type]
NumericRange = Annotated[list[Number], Field(min_length=2, max_length=3, description="[from, to, step]; step optional")]


class SelectRange(Body):
    type: Literal["select"]
    values: list[ParamValue] = Field(min_length=1)


class FixedParams(Body):
    """Values of the parameters not searched (by name), and the date window."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ParamValue]  # type: ignore[assignment]

    dateFilter: bool = Field(False, description="Apply start and end")
    start: str | None = Field(None, description="First tradable bar (UTC), e.g. 2025-06-15")
    end: str | None = Field(None, description="Last bar (UTC, inclusive)")


class ScoreBounds(Body):
    low: FiniteFloat | None = None
    high: FiniteFloat | None = None


class ScoreTermSpec(ScoreBounds):
    weight: FiniteFloat


class SeedScoreConfig(Body):
    """The seed's form: weights and, optionally, bounds per metric."""

    weights: dict[str, FiniteFloat]
    bounds: dict[str, ScoreBounds] = Field(default_factory=dict)


class Constraint(Body):
    metric: MetricName
    op: Literal[CONSTRAINT_OPS]  # type: ignore[valid-type]
    value: FiniteFloat


class OptimizeOptions(Body):
    """The optimisation options: a JSON body's top level, or the ``config`` field of a form."""

    keyed_fields = frozenset({"param_ranges", "fixed_params"})

    worker_processes: int | None = Field(
        None,
        ge=1,
        le=MAX_WORKERS,
        description="Worker processes; refused above BACKTUNE_MAX_WORKERS (default: 2, or fewer on a smaller server)",
    )
    enabled_params: list[str] | dict[str, bool] | None = Field(
        None, description="Parameters to search (default: those declared optimize=true); the others stay fixed"
    )
    param_ranges: dict[str, NumericRange | SelectRange] = Field(
        default_factory=dict, description="Search range per parameter (default: the declared range)"
    )
    fixed_params: FixedParams = Field(default_factory=FixedParams)
    filter_min_profit: bool = Field(False, description="Prune trials whose net profit % is below the threshold")
    min_profit_threshold: FiniteFloat = Field(0.0, description="Net profit % (with filter_min_profit)")
    score_config: dict[str, FiniteFloat | ScoreTermSpec] | SeedScoreConfig | None = Field(
        None, description="Composite score: {metric: weight} or {metric: {weight, low, high}}"
    )
    optuna_target: TargetName | list[TargetName] = Field("score", description="One target, or 2-4 for a Pareto search")
    optuna_budget_mode: Literal[BUDGET_MODES] = "trials"  # type: ignore[valid-type]
    optuna_n_trials: int | None = Field(None, ge=1, description="Trials (default 100); at most BACKTUNE_MAX_TRIALS")
    optuna_time_limit: FiniteFloat | None = Field(None, gt=0, description="Seconds; at most BACKTUNE_MAX_RUN_S")
    optuna_convergence: int | None = Field(None, ge=1, description="Patience: trials without improvement")
    optuna_sampler: Literal[SAMPLERS] | None = None  # type: ignore[valid-type]
    optuna_pruner: Literal[PRUNERS] | None = None  # type: ignore[valid-type]
    optuna_warmup_trials: int | None = Field(None, ge=0, description="Random trials before the sampler learns")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="Makes a one-worker run reproducible")
    seed_params: list[dict[str, ParamValue]] = Field(
        default_factory=list,
        max_length=MAX_SEED_PARAMS,
        description="Parameter sets tried first; they count within the trial budget, so at most that many",
    )
    constraints: list[Constraint] = Field(
        default_factory=list, description="Feasibility rules for multi-objective runs"
    )
    plateau_top: int | None = Field(
        None,
        ge=0,
        le=MAX_PLATEAU_TOP,
        description="At the end, test the K best trials' parameter neighbours for the robust-best order "
        "(default 5; 0 skips)",
    )
    capital: FiniteFloat | None = Field(None, description="Starting equity, > 0 (default 10,000)")
    commission: FiniteFloat | None = Field(None, description="Fraction of notional, per side (default 0.0005)")


class OptimizeRequest(OptimizeOptions, DataSourceFields):
    """The JSON form: the options and the request's own fields at the top level."""

    strategy: str = Field(min_length=1, description="A strategy id from GET /api/strategies")
    warmupBars: int = Field(0, ge=0, description="Bars before the window's start lent to indicators")


class OptimizeForm(Form):
    """The multipart form: give exactly one of ``file``, ``dataset`` and ``csvPath``."""

    file: bytes | None = Field(None, description="An OHLCV CSV (kept in the dataset store if the run is accepted)")
    dataset: str | None = Field(None, description="A dataset id from GET /api/datasets")
    csvPath: str | None = Field(None, description="A CSV path on the server, inside BACKTUNE_CSV_ROOTS")
    strategy: str = Field(min_length=1)
    warmupBars: int = Field(0, ge=0)
    config: str = Field(
        "{}",
        description="OptimizeOptions as a JSON string",
        json_schema_extra={
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/OptimizeOptions"},
        },
    )


class OptimizeQuery(Form):
    wait: Literal["true", "false"] = Field(
        "false", description="Block until the job ends (at most BACKTUNE_WAIT_LIMIT_S)"
    )
