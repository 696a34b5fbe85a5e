"""The data window and warm-up, as the trailing_ma spec defines them for every strategy."""

from __future__ import annotations

import numpy as np
import pytest

from backtune.data.ohlcv import OHLCV
from backtune.window import DataWindow, WindowError, resolve_window

HOUR = 3_600 * 10**9
T0 = 1_750_000_000 * 10**9  # 2025-06-15T15:06:40Z


def hourly(n: int) -> OHLCV:
    ones = np.ones(n)
    return OHLCV(T0 + np.arange(n, dtype=np.int64) * HOUR, ones, ones, ones, ones, ones)


def test_no_start_or_end_means_whole_file_trading_from_bar_zero():
    span = resolve_window(hourly(10), DataWindow(warmup_bars=5))
    assert (span.first, span.last, span.trade_start) == (0, 9, 0)


def test_start_end_are_inclusive_and_warmup_is_lent_before_start():
    bars = hourly(20)
    span = resolve_window(bars, DataWindow(start=T0 + 8 * HOUR, end=T0 + 15 * HOUR, warmup_bars=3))
    assert (span.first, span.last, span.trade_start) == (5, 15, 3)


def test_start_between_bars_picks_the_next_bar_and_warmup_is_clipped_at_file_start():
    span = resolve_window(hourly(20), DataWindow(start=T0 + 2 * HOUR + 1, warmup_bars=100))
    assert (span.first, span.trade_start) == (0, 3)


def test_parse_accepts_dates_and_iso_times_as_utc():
    window = DataWindow.parse("2025-06-15", "2025-06-16T12:30:00+02:00", 7)
    assert window.start == 1_749_945_600 * 10**9
    assert window.end == (1_750_069_800) * 10**9
    assert window.warmup_bars == 7


@pytest.mark.parametrize(
    "start, end, warmup, field",
    [
        ("yesterday-ish", None, 0, "start"),
        (None, "2025-13-45", 0, "end"),
        ("2025-07-01", "2025-06-01", 0, "end"),
        (None, None, -1, "warmup_bars"),
    ],
)
def test_bad_window_values_name_the_field(start, end, warmup, field):
    with pytest.raises(WindowError) as info:
        DataWindow.parse(start, end, warmup)
    assert info.value.field == field


def test_window_outside_the_data_is_an_error():
    with pytest.raises(WindowError, match="no bars"):
        resolve_window(hourly(5), DataWindow(start=T0 + 100 * HOUR))
