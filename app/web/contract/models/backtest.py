"""``POST /api/backtest``: one strategy, one parameter set, one dataset."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.web.contract.base import Body, FiniteFloat, ParamValue, Reply, Time
from app.web.contract.models.common import MetricsReply
from backtune.engine.backtest import EngineSettings

DEFAULTS = EngineSettings()


class DataSourceFields(Body):
    """Give exactly one of ``dataset`` and ``csvPath`` (``file`` too in a multipart request)."""

    dataset: str | None = Field(None, description="A dataset id from GET /api/datasets")
    csvPath: str | None = Field(
        None,
        description="A CSV path on the server, inside BACKTUNE_CSV_ROOTS (relative paths are tried against each root)",
    )


class BacktestRequest(DataSourceFields):
    keyed_fields = frozenset({"params"})

    strategy: str = Field(min_length=1, description="A strategy id from GET /api/strategies")
    params: dict[str, ParamValue] | None = Field(None, description="Parameter values; missing ones take their defaults")
    start: str | None = Field(None, description="First tradable bar (UTC, inclusive), e.g. 2025-06-15")
    end: str | None = Field(None, description="Last bar (UTC, inclusive)")
    warmup_bars: int = Field(0, ge=0, description="Bars before start lent to indicators, never traded")
    capital: FiniteFloat = Field(DEFAULTS.initial_capital, description="Starting equity, > 0")
    commission: FiniteFloat = Field(DEFAULTS.commission, description="Fraction of notional, per side")


class Trade(Reply):
    direction: Literal["long", "short"]
    entry_time: Time
    exit_time: Time
    entry_price: float
    exit_price: float
    size: float
    net_pnl: float
    pnl_pct: float
    bars: int


class OpenPosition(Reply):
    direction: Literal["long", "short"]
    entry_time: Time
    entry_price: float
    size: float
    mark_price: float
    unrealized_pnl: float
    bars: int


class Window(Reply):
    start: Time
    end: Time
    warmup_bars: int
    first_bar: Time
    bars: int


class BacktestReport(Reply):
    strategy: str
    params: dict[str, ParamValue]
    window: Window
    metrics: MetricsReply  # type: ignore[valid-type]
    trades: list[Trade]
    open_position: OpenPosition | None
    equity: list[tuple[Time, float, float]] = Field(
        max_length=1000, description="[iso_time, equity, drawdown_pct] over the trading window; drawdown_pct <= 0"
    )
