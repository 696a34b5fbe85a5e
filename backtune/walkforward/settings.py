"""A walk-forward run's own settings (the ``walkforward`` object), validated at the edge.

The rest of a walk-forward request is an ordinary optimisation request (``RunConfig``): it
is the study every window runs, with the window's in-sample range as its data window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backtune.errors import FieldError
from backtune.optimize.config import MAX_PLATEAU_TOP, RunConfig
from backtune.window import parse_time

MODES = ("rolling", "anchored")
SELECTIONS = ("best", "forward", "robust")
# TradeStation's walk-forward pass criteria plus a minimum trade count; see docs/walkforward.md.
DEFAULT_THRESHOLDS: Mapping[str, float] = {
    "wfe": 50.0,
    "profitable_windows_pct": 50.0,
    "largest_window_profit_share": 50.0,
    "max_drawdown_pct": 40.0,
    "total_trades": 30.0,
}
FIELD = "walkforward"


@dataclass(frozen=True)
class WalkForwardSettings:
    """Windows by calendar (``is_days``/``oos_days``) or by count (``windows`` with
    ``oos_fraction``); ``gap_bars`` purges bars between each in-sample end and its
    out-of-sample start; the holdout is the last ``holdout_days`` or from ``holdout_from``."""

    mode: str = "rolling"
    is_days: float | None = None
    oos_days: float | None = None
    windows: int | None = None
    oos_fraction: float = 0.25
    gap_bars: int = 0
    holdout_days: float | None = None
    holdout_from: str | None = None
    select: str = "best"
    top_k: int = 10
    forward_fraction: float = 0.25
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))

    @property
    def by_calendar(self) -> bool:
        return self.windows is None

    def as_dict(self) -> dict[str, Any]:
        return {
            name: (dict(value) if isinstance(value, Mapping) else value)
            for name, value in ((f, getattr(self, f)) for f in self.__dataclass_fields__)
        }

    @classmethod
    def parse(cls, raw: Any) -> WalkForwardSettings:
        if not isinstance(raw, Mapping):
            raise FieldError(FIELD, "expected an object of walk-forward settings")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise FieldError(f"{FIELD}.{unknown[0]}", "unknown walk-forward setting")
        mode = _choice(raw, "mode", MODES)
        select = _choice(raw, "select", SELECTIONS)
        is_days, oos_days = _number(raw, "is_days"), _number(raw, "oos_days")
        windows = _whole(raw, "windows", minimum=2)
        if windows is None and (is_days is None or oos_days is None):
            raise FieldError(f"{FIELD}.is_days", "give is_days and oos_days (calendar windows) or windows (a count)")
        if windows is not None and (is_days is not None or oos_days is not None):
            raise FieldError(f"{FIELD}.windows", "give either windows or is_days/oos_days, not both")
        oos_fraction = _number(raw, "oos_fraction", 0.25)
        if not 0 < oos_fraction < 1:
            raise FieldError(f"{FIELD}.oos_fraction", f"must be between 0 and 1, got {oos_fraction}")
        holdout_days, holdout_from = _number(raw, "holdout_days"), raw.get("holdout_from")
        if holdout_days is not None and holdout_from is not None:
            raise FieldError(f"{FIELD}.holdout_days", "give holdout_days or holdout_from, not both")
        if holdout_from is not None:
            parse_time(f"{FIELD}.holdout_from", holdout_from)
        top_k = _whole(raw, "top_k", minimum=1) or 10
        if select == "robust" and top_k > MAX_PLATEAU_TOP:
            # Each window backtests up to 729 neighbours of every one of them.
            raise FieldError(f"{FIELD}.top_k", f"at most {MAX_PLATEAU_TOP} with select robust, got {top_k}")
        forward_fraction = _number(raw, "forward_fraction", 0.25)
        if not 0 < forward_fraction < 1:
            raise FieldError(f"{FIELD}.forward_fraction", f"must be between 0 and 1, got {forward_fraction}")
        return cls(
            mode=mode,
            is_days=is_days,
            oos_days=oos_days,
            windows=windows,
            oos_fraction=oos_fraction,
            gap_bars=_whole(raw, "gap_bars", minimum=0) or 0,
            holdout_days=holdout_days,
            holdout_from=holdout_from,
            select=select,
            top_k=top_k,
            forward_fraction=forward_fraction,
            thresholds=_thresholds(raw.get("thresholds")),
        )


@dataclass(frozen=True)
class WalkForwardRequest:
    """The study each window runs (``base``) and how the windows are laid out."""

    base: RunConfig
    settings: WalkForwardSettings

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> WalkForwardRequest:
        """The canonical form: an optimisation request plus a ``walkforward`` object."""
        base_raw = {k: v for k, v in raw.items() if k != FIELD}
        settings = WalkForwardSettings.parse(raw.get(FIELD))
        base = RunConfig.parse(base_raw)
        if base.multi_objective:
            raise FieldError("target", "walk-forward carries one parameter set per window: give a single target")
        return cls(base, settings)

    def as_dict(self) -> dict[str, Any]:
        return {**self.base.as_dict(), FIELD: self.settings.as_dict()}


def _choice(raw: Mapping[str, Any], key: str, options: tuple[str, ...]) -> str:
    value = raw.get(key) or options[0]
    if value not in options:
        raise FieldError(f"{FIELD}.{key}", f"unknown {key} {value!r} (choose from {', '.join(options)})")
    return value


def _number(raw: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise FieldError(f"{FIELD}.{key}", f"expected a positive number, got {value!r}")
    return float(value)


def _whole(raw: Mapping[str, Any], key: str, minimum: int) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < minimum:
        raise FieldError(f"{FIELD}.{key}", f"expected a whole number >= {minimum}, got {value!r}")
    return int(value)


def _thresholds(raw: Any) -> dict[str, float]:
    if raw is None:
        return dict(DEFAULT_THRESHOLDS)
    if not isinstance(raw, Mapping):
        raise FieldError(f"{FIELD}.thresholds", "expected an object of criterion -> threshold")
    out = dict(DEFAULT_THRESHOLDS)
    for name, value in raw.items():
        if name not in DEFAULT_THRESHOLDS:
            raise FieldError(
                f"{FIELD}.thresholds.{name}", f"unknown criterion (choose from {', '.join(DEFAULT_THRESHOLDS)})"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise FieldError(f"{FIELD}.thresholds.{name}", f"expected a number, got {value!r}")
        out[name] = float(value)
    return out
