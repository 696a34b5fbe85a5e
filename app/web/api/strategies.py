"""Strategies and their parameter declarations, from which the UI builds its forms."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.web.contract.models.strategies import Strategy, StrategyList
from app.web.contract.registry import operation
from app.web.errors import ApiError
from backtune.registry import UnknownStrategyError, all_strategies, get_strategy

bp = Blueprint("strategies", __name__, url_prefix="/api/strategies")


@bp.get("")
@operation("strategies", "Strategies and their parameters", replies={200: StrategyList})
def list_strategies():
    strategies = [s.as_dict() for s in all_strategies().values()]
    return jsonify({"strategies": strategies, "total": len(strategies)})


@bp.get("/<strategy_id>")
@operation(
    "strategies",
    "One strategy's parameter declarations",
    replies={200: Strategy},
    errors=(404,),
    path_params={"strategy_id": "Strategy id"},
)
def get_strategy_declaration(strategy_id: str):
    """404 here, unlike the 400 for a bad ``strategy`` field in a request body: the URL
    itself names a resource that does not exist."""
    try:
        strategy = get_strategy(strategy_id)
    except UnknownStrategyError as exc:
        raise ApiError(404, "unknown_strategy", exc.message, "strategy") from None
    return jsonify(strategy.as_dict())
