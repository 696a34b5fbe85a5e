"""The jitted bar loop: one position at a time, long or short, with brackets and a trail.

Everything path-dependent happens here, once, for every strategy. Each bar runs, in order:
fills of orders placed on the previous bar (next-open mode), intrabar exits (trail, stop,
target), the holding-time limit, exit signals, then entry signals. An entry signal is
ignored on a bar during which a position was closed (no re-entry on an exit bar) unless
the rules reverse positions. ``cache=True`` keeps compiled code on disk so a fresh worker
process starts in milliseconds instead of compiling for seconds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Columns of the trade matrix the kernel returns.
T_DIR, T_ENTRY_IDX, T_EXIT_IDX, T_ENTRY_PRICE, T_EXIT_PRICE, T_SIZE, T_NET = range(7)
TRADE_COLUMNS = 7
# Fields of the open-position vector (direction 0 means flat).
P_DIR, P_ENTRY_IDX, P_ENTRY_PRICE, P_SIZE = range(4)


@njit(cache=True)
def _size(sizing, price, stop, direction, cash, risk_pct, lot_size, equity_fraction, commission):
    """Units to buy, or 0 when the order cannot be sized: too little equity, or a stop that is
    missing (risk sizing needs one) or already on the wrong side of the fill price."""
    dist = (price - stop) * direction
    if sizing == 0:
        if not dist > 0.0:
            return 0.0
        return np.floor(cash * risk_pct / 100.0 / dist / lot_size) * lot_size
    if dist <= 0.0:
        return 0.0
    # Not simplified to price * (1 + commission) on purpose: this is backtesting.py's own
    # expression (Broker._process_orders: adjusted_price + commission(order.size, price) /
    # abs(order.size), with the order's size the equity fraction), and multiplying then
    # dividing by the fraction rounds differently; at a boundary that changes the floor
    # below by one unit and breaks trade-for-trade parity (tests/test_sma_cross_parity.py).
    unit_cost = price + equity_fraction * price * commission / equity_fraction
    return ((cash * equity_fraction) // (unit_cost * lot_size)) * lot_size


@njit(cache=True)
def _close(trades, n_trades, direction, entry_idx, exit_idx, entry_price, exit_price, qty, commission, cash):
    """Book a closed trade; returns the new closed-trade equity and trade count."""
    gross = (exit_price - entry_price) * qty * direction
    exit_fee = exit_price * qty * commission
    row = trades[n_trades]
    row[T_DIR] = direction
    row[T_ENTRY_IDX] = entry_idx
    row[T_EXIT_IDX] = exit_idx
    row[T_ENTRY_PRICE] = entry_price
    row[T_EXIT_PRICE] = exit_price
    row[T_SIZE] = qty
    row[T_NET] = gross - exit_fee - entry_price * qty * commission
    return cash + gross - exit_fee, n_trades + 1


@njit(cache=True)
def _bracket_exit(
    direction, open_, high, low, entry_price, stop, target, trail_rr, trail, trail_active, level, gap_fills
):
    """Intrabar exit price (NaN: none) plus the updated trail state.

    Written for a long; a short runs the same logic on negated prices, so the mirror
    image can never drift from the original. With ``gap_fills`` a level the bar opens
    beyond fills at the open instead of the level.
    """
    d = float(direction)
    hi, lo = (high, low) if direction == 1 else (-low, -high)
    op = open_ * d
    entry, stp, tgt, trl, lvl = entry_price * d, stop * d, target * d, trail * d, level * d
    if not trail_active and hi >= entry + (entry - stp) * trail_rr:
        trail_active = True
    if trl > lvl:
        lvl = trl
    price = np.nan
    if trail_active:
        if lo <= lvl:
            price = min(lvl, op if gap_fills else hi)
    elif lo <= stp:
        price = min(stp, op) if gap_fills else stp
    elif hi >= tgt:
        price = max(tgt, op) if gap_fills else tgt
    return price * d, trail_active, lvl * d


@njit(cache=True)
def _open(
    direction,
    price,
    t,
    stop,
    target,
    cash,
    sizing,
    risk_pct,
    lot_size,
    equity_fraction,
    commission,
    trail_rr_long,
    trail_rr_short,
):
    """A new position's state (direction, qty, entry price and bar, stop, target, trail
    level and whether it is active, whether it is bracketed, cash after the entry fee),
    or direction 0 when it cannot be sized."""
    qty = _size(sizing, price, stop, direction, cash, risk_pct, lot_size, equity_fraction, commission)
    if not qty > 0.0:
        return 0, 0.0, 0.0, -1, np.nan, np.nan, np.nan, False, False, cash
    bracketed = _has_bracket(direction, stop, target, trail_rr_long, trail_rr_short)
    return direction, qty, price, t, stop, target, stop, False, bracketed, cash - price * qty * commission


@njit(cache=True)
def _has_bracket(direction, stop, target, trail_rr_long, trail_rr_short):
    """Whether a position can exit intrabar at all; most signal-only strategies cannot,
    and skipping the check for them halves the bar loop's cost."""
    trail_rr = trail_rr_long if direction == 1 else trail_rr_short
    return not (np.isnan(stop) and np.isnan(target) and np.isnan(trail_rr))


@njit(cache=True)
def simulate(
    time,
    open_,
    high,
    low,
    close,
    entry_long,
    entry_short,
    exit_long,
    exit_short,
    stop_long,
    stop_short,
    target_long,
    target_short,
    trail_long,
    trail_short,
    fill_next_open,
    sizing,
    risk_pct,
    lot_size,
    equity_fraction,
    alternate,
    reverse,
    reenter,
    gap_fills,
    trail_rr_long,
    trail_rr_short,
    max_hold_long,
    max_hold_short,
    trade_start,
    capital,
    commission,
):
    n = close.shape[0]
    trades = np.empty((n + 1, TRADE_COLUMNS))
    n_trades = 0
    equity = np.empty(n)
    closed_equity = np.empty(n)
    cash = capital  # closed-trade equity: realised PnL net of every commission paid so far

    pos = 0
    qty = 0.0
    entry_price = 0.0
    entry_idx = -1
    stop = np.nan
    target = np.nan
    trail_active = False
    bracketed = False
    level = np.nan
    last_dir = 0
    pending_entry = 0
    pending_exit = False
    pending_stop = np.nan
    pending_target = np.nan

    for t in range(n):
        if fill_next_open:
            if pending_exit and pos != 0:
                cash, n_trades = _close(
                    trades, n_trades, pos, entry_idx, t, entry_price, open_[t], qty, commission, cash
                )
                pos = 0
            if pending_entry != 0 and pos == 0:
                opened = _open(
                    pending_entry,
                    open_[t],
                    t,
                    pending_stop,
                    pending_target,
                    cash,
                    sizing,
                    risk_pct,
                    lot_size,
                    equity_fraction,
                    commission,
                    trail_rr_long,
                    trail_rr_short,
                )
                if opened[0] != 0:
                    pos, qty, entry_price, entry_idx, stop, target, level, trail_active, bracketed, cash = opened
                    last_dir = pos
            pending_entry = 0
            pending_exit = False

        exited = False
        if pos != 0:
            is_long = pos == 1
            exit_price = np.nan
            if bracketed:
                exit_price, trail_active, level = _bracket_exit(
                    pos,
                    open_[t],
                    high[t],
                    low[t],
                    entry_price,
                    stop,
                    target,
                    trail_rr_long if is_long else trail_rr_short,
                    trail_long[t] if is_long else trail_short[t],
                    trail_active,
                    level,
                    gap_fills,
                )
            max_hold = max_hold_long if is_long else max_hold_short
            exit_signal = exit_long[t] if is_long else exit_short[t]
            if np.isnan(exit_price) and max_hold > 0 and time[t] - time[entry_idx] >= max_hold:
                exit_price = close[t]
            if np.isnan(exit_price) and exit_signal:
                if fill_next_open:
                    pending_exit = True
                else:
                    exit_price = close[t]
            if not np.isnan(exit_price):
                cash, n_trades = _close(
                    trades, n_trades, pos, entry_idx, t, entry_price, exit_price, qty, commission, cash
                )
                pos = 0
                exited = True

        if t >= trade_start:
            want = 0
            if entry_long[t] and not (alternate and last_dir == 1):
                want = 1
            elif entry_short[t] and not (alternate and last_dir == -1):
                want = -1
            new_stop = stop_long[t] if want == 1 else stop_short[t]
            new_target = target_long[t] if want == 1 else target_short[t]
            if want != 0 and ((pos == 0 and not exited) or (pos == -want and reverse) or (pos == want and reenter)):
                if fill_next_open:
                    pending_exit = pending_exit or pos != 0
                    pending_entry, pending_stop, pending_target = want, new_stop, new_target
                else:
                    if pos != 0:
                        cash, n_trades = _close(
                            trades, n_trades, pos, entry_idx, t, entry_price, close[t], qty, commission, cash
                        )
                        pos = 0
                    opened = _open(
                        want,
                        close[t],
                        t,
                        new_stop,
                        new_target,
                        cash,
                        sizing,
                        risk_pct,
                        lot_size,
                        equity_fraction,
                        commission,
                        trail_rr_long,
                        trail_rr_short,
                    )
                    if opened[0] != 0:
                        pos, qty, entry_price, entry_idx, stop, target, level, trail_active, bracketed, cash = opened
                        last_dir = pos

        closed_equity[t] = cash
        equity[t] = cash + (close[t] - entry_price) * qty * pos if pos != 0 else cash

    position = np.zeros(4)
    if pos != 0:
        position[P_DIR] = pos
        position[P_ENTRY_IDX] = entry_idx
        position[P_ENTRY_PRICE] = entry_price
        position[P_SIZE] = qty
    return trades[:n_trades], equity, closed_equity, position
