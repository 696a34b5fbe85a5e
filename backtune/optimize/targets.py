"""What a run optimises: named targets mapped to metrics, each with its direction."""

from __future__ import annotations

from dataclasses import dataclass

from backtune.errors import FieldError

SCORE = "score"


@dataclass(frozen=True)
class Target:
    name: str
    metric: str
    direction: str  # "maximize" | "minimize", as Optuna spells it


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(SCORE, SCORE, "maximize"),
        Target("net_profit", "net_profit_pct", "maximize"),
        Target("romad", "romad", "maximize"),
        Target("sharpe", "sharpe", "maximize"),
        Target("sortino", "sortino", "maximize"),
        Target("profit_factor", "profit_factor", "maximize"),
        Target("sqn", "sqn", "maximize"),
        Target("max_drawdown", "max_drawdown_pct", "minimize"),
    )
}


def parse_targets(names: object) -> tuple[Target, ...]:
    """One target, or 2-4 distinct targets for a multi-objective (Pareto) run."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not names:
        raise FieldError("target", "give a target name or a list of 2-4 names")
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise FieldError("target", f"unknown target {unknown[0]!r} (known: {', '.join(TARGETS)})")
    if len(set(names)) != len(names):
        raise FieldError("target", "targets must be distinct")
    if len(names) > 4:
        raise FieldError("target", f"at most 4 targets, got {len(names)}")
    return tuple(TARGETS[n] for n in names)
