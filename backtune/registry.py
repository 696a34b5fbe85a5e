"""Strategy discovery: every module in the top-level ``strategies`` package that defines
``STRATEGY`` is available by its id, so adding a strategy means adding one file."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from backtune.strategy import Strategy


class UnknownStrategyError(KeyError):
    def __init__(self, strategy_id: str, known: list[str]) -> None:
        super().__init__(strategy_id)
        self.strategy_id = strategy_id
        self.message = f"unknown strategy {strategy_id!r} (known: {', '.join(known)})"

    def __str__(self) -> str:
        return self.message


@lru_cache(maxsize=1)
def all_strategies() -> dict[str, Strategy]:
    """Strategies by id, in id order."""
    import strategies

    found: dict[str, Strategy] = {}
    for module_info in pkgutil.iter_modules(strategies.__path__):
        module = importlib.import_module(f"strategies.{module_info.name}")
        strategy = getattr(module, "STRATEGY", None)
        if isinstance(strategy, Strategy):
            if strategy.id in found:
                raise RuntimeError(f"two strategies share the id {strategy.id!r}")
            found[strategy.id] = strategy
    return dict(sorted(found.items()))


def get_strategy(strategy_id: str) -> Strategy:
    strategies = all_strategies()
    try:
        return strategies[strategy_id]
    except KeyError:
        raise UnknownStrategyError(strategy_id, list(strategies)) from None
