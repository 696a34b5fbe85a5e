"""Walk-forward window schedules, against window positions worked out by hand on a
regular daily grid, and their invariants on real data."""

from __future__ import annotations

import numpy as np
import pytest

from backtune.data.loader import load_csv
from backtune.errors import FieldError
from backtune.walkforward.schedule import NS_PER_DAY, build_schedule
from backtune.walkforward.settings import WalkForwardSettings
from backtune.window import DataWindow, parse_time
from tests.conftest import backtesting_csv

DAY0 = parse_time("t", "2024-01-01")


def daily(days: int) -> np.ndarray:
    return DAY0 + np.arange(days, dtype=np.int64) * NS_PER_DAY


def spans(schedule):
    return [
        (w.in_sample.first, w.in_sample.last, w.out_of_sample.first, w.out_of_sample.last) for w in schedule.windows
    ]


def schedule_of(time, warmup=10, start=None, end=None, **settings):
    return build_schedule(time, DataWindow(start, end, warmup), WalkForwardSettings.parse(settings))


def test_rolling_calendar_windows_step_by_the_out_of_sample_length():
    # 100 daily bars, 10 of warm-up: trading from day 10; in-sample 30 days, out-of-sample 10.
    schedule = schedule_of(daily(100), is_days=30, oos_days=10)
    assert spans(schedule) == [(10 + 10 * k, 39 + 10 * k, 40 + 10 * k, 49 + 10 * k) for k in range(6)]
    assert schedule.holdout is None


def test_anchored_calendar_windows_start_at_the_first_tradable_bar():
    schedule = schedule_of(daily(100), is_days=30, oos_days=10, mode="anchored")
    assert spans(schedule) == [(10, 39 + 10 * k, 40 + 10 * k, 49 + 10 * k) for k in range(6)]


def test_a_tail_shorter_than_one_step_stays_unused():
    schedule = schedule_of(daily(105), is_days=30, oos_days=10)
    assert spans(schedule)[-1][3] == 99


def test_the_gap_is_purged_from_the_in_sample_end_and_out_of_sample_stays_contiguous():
    plain = schedule_of(daily(100), is_days=30, oos_days=10)
    gapped = schedule_of(daily(100), is_days=30, oos_days=10, gap_bars=3)
    for a, b in zip(plain.windows, gapped.windows):
        assert b.out_of_sample == a.out_of_sample
        assert b.in_sample.first == a.in_sample.first and b.in_sample.last == a.in_sample.last - 3


def test_holdout_days_is_cut_off_before_any_window():
    schedule = schedule_of(daily(100), is_days=30, oos_days=10, holdout_days=25)
    assert (schedule.holdout.first, schedule.holdout.last) == (75, 99)
    # Searchable: days 10..74, so windows end at day 69 (the next would need day 79).
    assert spans(schedule) == [(10 + 10 * k, 39 + 10 * k, 40 + 10 * k, 49 + 10 * k) for k in range(3)]


def test_holdout_from_a_date():
    schedule = schedule_of(daily(100), is_days=30, oos_days=10, holdout_from="2024-03-21")  # day 80
    assert (schedule.holdout.first, schedule.holdout.last) == (80, 99)
    assert max(w.out_of_sample.last for w in schedule.windows) < 80


def test_start_and_end_bound_the_windows():
    time = daily(100)
    schedule = schedule_of(time, warmup=5, start=int(time[20]), end=int(time[79]), is_days=20, oos_days=10)
    assert spans(schedule) == [(20 + 10 * k, 39 + 10 * k, 40 + 10 * k, 49 + 10 * k) for k in range(4)]


def test_count_windows_share_the_data_and_end_at_the_last_bar():
    # 90 tradable bars, 4 windows, out-of-sample a quarter: O = 90 // (4 + 3) = 12, I = 90 - 48 = 42.
    schedule = schedule_of(daily(100), windows=4, oos_fraction=0.25)
    assert spans(schedule) == [(10 + 12 * k, 51 + 12 * k, 52 + 12 * k, 63 + 12 * k) for k in range(4)]
    anchored = schedule_of(daily(100), windows=4, oos_fraction=0.25, mode="anchored", gap_bars=2)
    # With a 2-bar gap: O = 88 // 7 = 12, I = 88 - 48 = 40, the gap between them.
    assert spans(anchored) == [(10, 49 + 12 * k, 52 + 12 * k, 63 + 12 * k) for k in range(4)]


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"is_days": 95, "oos_days": 10}, "walkforward.is_days"),
        ({"is_days": 60, "oos_days": 30}, "walkforward.oos_days"),  # one window only
        ({"windows": 200}, "walkforward.windows"),
        ({"is_days": 30, "oos_days": 10, "gap_bars": 40}, "walkforward.gap_bars"),
        ({"is_days": 30, "oos_days": 10, "holdout_days": 95}, "walkforward.holdout_days"),
        ({"is_days": 30, "oos_days": 10, "holdout_from": "2030-01-01"}, "walkforward.holdout_from"),
        ({"is_days": 30}, "walkforward.is_days"),
        ({"windows": 3, "is_days": 30, "oos_days": 10}, "walkforward.windows"),
        ({"windows": 1}, "walkforward.windows"),
        ({"windows": 3, "oos_fraction": 1.5}, "walkforward.oos_fraction"),
        ({"is_days": 30, "oos_days": 10, "mode": "sideways"}, "walkforward.mode"),
        ({"is_days": 30, "oos_days": 10, "thresholds": {"wfe": "high"}}, "walkforward.thresholds.wfe"),
    ],
)
def test_impossible_settings_name_the_setting(settings, field):
    with pytest.raises(FieldError) as error:
        schedule_of(daily(100), **settings)
    assert error.value.field == field


def test_a_warm_up_longer_than_the_data_names_the_warm_up():
    with pytest.raises(FieldError) as error:
        schedule_of(daily(100), warmup=100, is_days=30, oos_days=10)
    assert error.value.field == "window.warmup_bars"


@pytest.mark.parametrize("mode", ["rolling", "anchored"])
def test_invariants_on_goog_trading_days(mode):
    time = load_csv(backtesting_csv("GOOG")).bars.time
    schedule = schedule_of(time, warmup=50, is_days=365, oos_days=180, gap_bars=5, holdout_days=200, mode=mode)
    windows = schedule.windows
    assert len(windows) >= 2
    for before, after in zip(windows, windows[1:]):
        assert after.out_of_sample.first == before.out_of_sample.last + 1  # contiguous, no overlap
    first_oos = int(time[windows[0].out_of_sample.first])
    for k, w in enumerate(windows):
        oos_start = int(time[50]) + 365 * NS_PER_DAY + k * 180 * NS_PER_DAY
        assert time[w.out_of_sample.first] >= oos_start > time[w.out_of_sample.first - 1]
        assert time[w.out_of_sample.last] < oos_start + 180 * NS_PER_DAY
        assert w.in_sample.last == w.out_of_sample.first - 6
        if mode == "anchored":
            assert w.in_sample.first == 50
        else:
            assert time[w.in_sample.first] >= oos_start - 365 * NS_PER_DAY > time[w.in_sample.first - 1]
        assert w.out_of_sample.last < schedule.holdout.first
    assert first_oos >= int(time[50]) + 365 * NS_PER_DAY
    assert time[schedule.holdout.first] >= time[-1] + NS_PER_DAY - 200 * NS_PER_DAY > time[schedule.holdout.first - 1]
