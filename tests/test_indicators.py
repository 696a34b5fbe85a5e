"""Indicators against deliberately naive references written straight from the spec's formulas.

The references loop in plain Python, recompute every window from scratch and encode the NaN
conventions documented in ``backtune.indicators`` as simply as possible, so any shortcut the
jitted kernels take (running sums, deques, shared buffers) has to reproduce them.
"""

from __future__ import annotations

import functools
import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from numba import njit

from backtune import indicators as ind
from tests.conftest import LINK_15M, ROOT, backtesting_csv

NAN = math.nan


# --- References ---------------------------------------------------------------------------


def _nan(v: float) -> bool:
    return v != v


def ref_sma(x, n):
    out = np.full(len(x), NAN)
    for t in range(n - 1, len(x)) if n >= 1 else ():
        out[t] = sum(x[t - n + 1 : t + 1]) / n
    return out


def ref_ema(x, n):
    out = np.full(len(x), NAN)
    if n < 1:
        return out
    a = 2 / (n + 1)
    e = None
    for t, v in enumerate(x):
        if not _nan(v):
            e = v if e is None else a * v + (1 - a) * e
            out[t] = e
    return out


def ref_wma(x, n):
    out = np.full(len(x), NAN)
    for t in range(n - 1, len(x)) if n >= 1 else ():
        window = x[t - n + 1 : t + 1]
        out[t] = sum((i + 1) * v for i, v in enumerate(window)) / (n * (n + 1) / 2)
    return out


def ref_hma(x, n):
    if n < 1:
        return np.full(len(x), NAN)
    inner = 2 * ref_wma(x, max(1, n // 2)) - ref_wma(x, n)
    return ref_wma(inner, max(1, math.isqrt(n)))


def ref_dema(x, n):
    e = ref_ema(x, n)
    return 2 * e - ref_ema(e, n)


def ref_t3(x, n):
    def gd(y):
        e = ref_ema(y, n)
        return 1.7 * e - 0.7 * ref_ema(e, n)

    return gd(gd(gd(x)))


def ref_tma(x, n):
    if n < 1:
        return np.full(len(x), NAN)
    return ref_sma(ref_sma(x, math.ceil(n / 2)), n // 2 + 1)


def ref_vwma(c, v, n):
    out = np.full(len(c), NAN)
    for t in range(n - 1, len(c)) if n >= 1 else ():
        den = sum(v[t - n + 1 : t + 1])
        num = sum(c[i] * v[i] for i in range(t - n + 1, t + 1))
        if den != 0:
            out[t] = num / den
    return out


def ref_vwap(h, l, c, v):
    out = np.full(len(c), NAN)
    num = den = 0.0
    for t in range(len(c)):
        pv = (h[t] + l[t] + c[t]) / 3 * v[t]
        if _nan(pv):
            continue
        num += pv
        den += v[t]
        if den != 0:
            out[t] = num / den
    return out


def ref_alma(x, n):
    out = np.full(len(x), NAN)
    if n < 1:
        return out
    w = [math.exp(-((i - 0.85 * (n - 1)) ** 2) / (2 * (n / 6) ** 2)) for i in range(n)]
    for t in range(n - 1, len(x)):
        out[t] = sum(w[i] * x[t - n + 1 + i] for i in range(n)) / sum(w)
    return out


def ref_kama(x, n):
    out = np.full(len(x), NAN)
    if n < 1:
        return out
    k = None
    for t, v in enumerate(x):
        if _nan(v):
            continue
        if k is None:
            k = v
        elif t >= n and not any(_nan(x[i]) for i in range(t - n, t + 1)):
            noise = sum(abs(x[i] - x[i - 1]) for i in range(t - n + 1, t + 1))
            er = abs(v - x[t - n]) / noise if noise != 0 else 0.0
            sc = (er * (2 / 3 - 2 / 31) + 2 / 31) ** 2
            k = sc * v + (1 - sc) * k
        out[t] = k
    return out


REFERENCES = {
    "SMA": lambda c, v, h, l, n: ref_sma(c, n),
    "EMA": lambda c, v, h, l, n: ref_ema(c, n),
    "WMA": lambda c, v, h, l, n: ref_wma(c, n),
    "HMA": lambda c, v, h, l, n: ref_hma(c, n),
    "DEMA": lambda c, v, h, l, n: ref_dema(c, n),
    "TMA": lambda c, v, h, l, n: ref_tma(c, n),
    "VWMA": lambda c, v, h, l, n: ref_vwma(c, v, n),
    "ALMA": lambda c, v, h, l, n: ref_alma(c, n),
    "KAMA": lambda c, v, h, l, n: ref_kama(c, n),
    "T3": lambda c, v, h, l, n: ref_t3(c, n),
    "VWAP": lambda c, v, h, l, n: ref_vwap(h, l, c, v),
}
DIRECT = {
    "SMA": lambda c, v, h, l, n: ind.sma(c, n),
    "EMA": lambda c, v, h, l, n: ind.ema(c, n),
    "WMA": lambda c, v, h, l, n: ind.wma(c, n),
    "HMA": lambda c, v, h, l, n: ind.hma(c, n),
    "DEMA": lambda c, v, h, l, n: ind.dema(c, n),
    "TMA": lambda c, v, h, l, n: ind.tma(c, n),
    "VWMA": lambda c, v, h, l, n: ind.vwma(c, v, n),
    "ALMA": lambda c, v, h, l, n: ind.alma(c, n),
    "KAMA": lambda c, v, h, l, n: ind.kama(c, n),
    "T3": lambda c, v, h, l, n: ind.t3(c, n),
    "VWAP": lambda c, v, h, l, n: ind.vwap(h, l, c, v),
}


def ref_atr(h, l, c, p):
    out = np.full(len(c), NAN)
    if p < 1:
        return out
    r = None
    for t in range(len(c)):
        tr = h[t] - l[t]
        if _nan(tr):
            continue
        if t > 0 and not _nan(c[t - 1]):
            tr = max(tr, abs(h[t] - c[t - 1]), abs(l[t] - c[t - 1]))
        r = tr if r is None else r + (tr - r) / p
        out[t] = r
    return out


def ref_extreme(x, n, pick, partial=True, lag=0):
    out = np.full(len(x), NAN)
    for t in range(len(x)) if n >= 1 else ():
        last = t - lag
        first = last - n + 1
        if last < 0 or (first < 0 and not partial):
            continue
        window = x[max(0, first) : last + 1]
        if not any(_nan(v) for v in window):
            out[t] = pick(window)
    return out


def ref_rsi(x, n):
    """Wilder's textbook form ``(prev*(n-1) + new)/n``, seeded with the first n changes' mean."""
    out = np.full(len(x), NAN)
    if n < 1:
        return out
    gains, losses = [], []
    up = down = None
    for t in range(1, len(x)):
        change = x[t] - x[t - 1]
        if _nan(change):
            continue
        gain, loss = max(change, 0.0), max(-change, 0.0)
        if up is None:
            gains.append(gain)
            losses.append(loss)
            if len(gains) < n:
                continue
            up, down = sum(gains) / n, sum(losses) / n
        else:
            up = (up * (n - 1) + gain) / n
            down = (down * (n - 1) + loss) / n
        out[t] = 100.0 if down == 0 else 0.0 if up == 0 else 100 - 100 / (1 + up / down)
    return out


def ref_std(x, n):
    out = np.full(len(x), NAN)
    for t in range(n - 1, len(x)) if n >= 1 else ():
        window = x[t - n + 1 : t + 1]
        mean = sum(window) / n
        out[t] = math.sqrt(sum((v - mean) ** 2 for v in window) / n)
    return out


# --- Data ---------------------------------------------------------------------------------


def _random_bars(size=300, seed=7, nans=()):
    rng = np.random.default_rng(seed)
    close = 100 + rng.normal(0, 1, size).cumsum()
    high = close + rng.exponential(0.5, size)
    low = close - rng.exponential(0.5, size)
    volume = rng.uniform(0, 1000, size)
    volume[rng.choice(size, size // 10, replace=False)] = 0.0
    volume[40:46] = 0.0  # a whole zero-volume window for short VWMAs
    for i in nans:
        close[i] = NAN
        high[i] = NAN
        low[i] = NAN
    return close, volume, high, low


@functools.cache
def _csv_bars(path, names, rows=None):
    df = pd.read_csv(path, nrows=rows)
    return tuple(df[name].to_numpy(dtype=np.float64) for name in names)


def _link(rows=None):
    return _csv_bars(LINK_15M, ("close", "Volume", "high", "low"), rows)


def _goog():
    return _csv_bars(backtesting_csv("GOOG"), ("Close", "Volume", "High", "Low"))


DATASETS = {
    "random": lambda: _random_bars(),
    "random_with_nans": lambda: _random_bars(nans=(0, 1, 2, 60, 61, 150)),
    "link": lambda: _link(rows=2500),
    "goog": _goog,
}
RANDOM_LENGTHS = (0, 1, 2, 3, 7, 20, 299, 300, 305)
REAL_LENGTHS = (1, 2, 14, 45, 200)
CASES = [(data, n) for data in DATASETS for n in (RANDOM_LENGTHS if data.startswith("random") else REAL_LENGTHS)]


def _close_enough(got, want, scale):
    """Relative 1e-12, plus an absolute floor for values (HMA's, DEMA's) near a cancellation."""
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)


# --- Moving averages ----------------------------------------------------------------------


@pytest.mark.parametrize("data,n", CASES)
@pytest.mark.parametrize("kind", ind.MA_TYPES)
def test_moving_average_matches_reference(kind, data, n):
    c, v, h, l = DATASETS[data]()
    got = ind.moving_average(ind.ma_code(kind), c, v, h, l, n)
    assert got.dtype == np.float64 and got.shape == c.shape
    _close_enough(got, REFERENCES[kind](c, v, h, l, n), np.nanmax(np.abs(c)))


@pytest.mark.parametrize("kind", ind.MA_TYPES)
def test_dispatcher_is_the_named_function(kind):
    c, v, h, l = _random_bars()
    for n in (1, 9, 40):
        np.testing.assert_array_equal(ind.moving_average(ind.ma_code(kind), c, v, h, l, n), DIRECT[kind](c, v, h, l, n))


@pytest.mark.parametrize("kind", ind.MA_TYPES)
def test_leading_nans_only_delay_the_result(kind):
    """What an HMA, TMA or T3 feeds its inner averages: leading NaNs must act as a later start."""
    c, v, h, l = _random_bars()
    pad = np.full(25, NAN)
    padded = [np.concatenate([pad, a]) for a in (c, v, h, l)]
    for n in (1, 4, 30):
        got = ind.moving_average(ind.ma_code(kind), *padded, n)
        np.testing.assert_array_equal(got[:25], pad)
        np.testing.assert_array_equal(got[25:], ind.moving_average(ind.ma_code(kind), c, v, h, l, n))


@pytest.mark.parametrize("kind", [k for k in ind.MA_TYPES if k != "VWAP"])
def test_length_below_one_is_all_nan(kind):
    c, v, h, l = _random_bars()
    for n in (0, -3):
        assert np.isnan(ind.moving_average(ind.ma_code(kind), c, v, h, l, n)).all()


def test_vwap_ignores_length():
    c, v, h, l = _random_bars()
    code = ind.ma_code("VWAP")
    np.testing.assert_array_equal(ind.moving_average(code, c, v, h, l, 0), ind.moving_average(code, c, v, h, l, 50))


def test_ema_and_kama_seed_with_the_first_price():
    c, *_ = _random_bars()
    assert ind.ema(c, 45)[0] == c[0]
    np.testing.assert_array_equal(ind.kama(c, 10)[:10], np.full(10, c[0]))


def test_ema_skips_a_nan_and_resumes_from_its_state():
    x = np.array([1.0, 2.0, NAN, 4.0])
    a = 2 / 3
    e1 = a * 2.0 + (1 - a) * 1.0
    np.testing.assert_array_equal(ind.ema(x, 2), [1.0, e1, NAN, a * 4.0 + (1 - a) * e1])


def test_window_with_nan_is_nan_until_it_leaves():
    x = np.arange(10.0)
    x[4] = NAN
    got = ind.sma(x, 3)
    assert np.isnan(got[:2]).all() and np.isnan(got[4:7]).all()
    assert got[3] == 2.0 and got[7] == 6.0


def test_vwma_is_nan_where_the_window_traded_nothing():
    c = np.array([1.0, 2.0, 3.0, 4.0])
    v = np.array([1.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(ind.vwma(c, v, 2), [NAN, 1.0, NAN, 4.0])


def test_vwma_zero_volume_is_exact_after_extreme_volumes():
    """Volumes 30 decades apart leave a rounding residue in a compensated sum; a window with no
    volume must still be NaN rather than residue / residue."""
    c = np.full(6, 10.0)
    c[:4] = (1.0, 2.0, 3.0, 4.0)
    v = np.array([1.0, 3e-10, 5e-20, 5e10, 0.0, 0.0])
    assert np.isnan(ind.vwma(c, v, 2)[5])


def test_flat_window_gives_the_price_exactly():
    """The trend counter's ``close == MA`` branch must be reachable on a flat market, though
    ``(20 * 12.81) / 20 != 12.81`` in floating point."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(10, 30, 500), np.full(40, 12.81), rng.uniform(10, 30, 50)])
    assert (ind.sma(x, 20)[519:540] == 12.81).all()
    assert (ind.rolling_std(x, 20)[519:540] == 0.0).all()


def _exact_wma(x, n):
    """Exact rational WMA: a running sum cannot drift when every step is exact."""
    fx = [Fraction(v) for v in x]
    out = np.full(len(x), NAN)
    s = w = Fraction(0)
    for t, v in enumerate(fx):
        w += n * v - s
        s += v - (fx[t - n] if t >= n else 0)
        if t >= n - 1:
            out[t] = float(w / (n * (n + 1) // 2))
    return out


@pytest.mark.parametrize("n", (2, 3, 14, 200))
def test_wma_stays_within_an_ulp_of_exact_on_a_long_real_series(n):
    """A plain running weighted sum drifts by tens of ulps over 20k bars; the compensated one must not."""
    close = _link()[0]
    got, want = ind.wma(close, n), _exact_wma(close, n)
    defined = ~np.isnan(want)
    assert np.max(np.abs(got[defined] - want[defined]) / want[defined]) < 2.5e-16


# --- SMA parity with pandas -----------------------------------------------------------------


@pytest.mark.parametrize("n", (1, 2, 3, 10, 20, 50, 300, 500))
def test_sma_and_rolling_sums_are_bit_identical_to_pandas_on_real_data(n):
    """Stronger than "relative error below 1e-13": no rounding difference at all."""
    for close, volume, *_ in (_link(), _goog()):
        np.testing.assert_array_equal(ind.sma(close, n), pd.Series(close).rolling(n).mean().to_numpy())
        want = (pd.Series(close * volume).rolling(n).sum() / pd.Series(volume).rolling(n).sum()).to_numpy()
        np.testing.assert_array_equal(ind.vwma(close, volume, n), want)


def test_sma_is_bit_identical_to_pandas_with_nans_zeros_and_negatives():
    rng = np.random.default_rng(11)
    x = np.round(rng.normal(0, 1, 3000) * 1e3, 1)
    x[rng.random(x.size) < 0.02] = NAN
    x[rng.random(x.size) < 0.05] = 0.0
    for n in (1, 2, 5, 30):
        np.testing.assert_array_equal(ind.sma(x, n), pd.Series(x).rolling(n).mean().to_numpy())


@pytest.mark.parametrize("n1, n2", [(10, 20), (20, 10), (1, 7), (50, 300), (5, 5), (0, 10), (10, -1)])
def test_sma_pair_is_two_smas_bit_for_bit(n1, n2):
    """The fused pass must not change a single bit of either average, NaNs, zeros, negatives
    and flat runs included, whichever length is the longer."""
    rng = np.random.default_rng(12)
    noisy = np.round(rng.normal(0, 1, 3000) * 1e3, 1)
    noisy[rng.random(noisy.size) < 0.02] = NAN
    noisy[rng.random(noisy.size) < 0.05] = 0.0
    for x in (_link()[0], noisy, np.full(40, 12.81), np.empty(0)):
        first, second = ind.sma_pair(x, n1, n2)
        np.testing.assert_array_equal(first, ind.sma(x, n1))
        np.testing.assert_array_equal(second, ind.sma(x, n2))
        if n1 >= 1:
            np.testing.assert_array_equal(first, pd.Series(x, dtype=float).rolling(n1).mean().to_numpy())


@pytest.mark.parametrize("name, fast, slow", [("GOOG", 10, 20), ("EURUSD", 5, 30), ("EURUSD", 20, 60)])
def test_sma_crossover_sign_matches_pandas(name, fast, slow):
    """The EURUSD pairs hit exact ties (equal decimal means) that pandas itself rounds unequally."""
    close = pd.read_csv(backtesting_csv(name))["Close"].to_numpy(dtype=np.float64)
    series = pd.Series(close)
    want = np.sign(series.rolling(fast).mean() - series.rolling(slow).mean()).to_numpy()
    np.testing.assert_array_equal(np.sign(ind.sma(close, fast) - ind.sma(close, slow)), want)


# --- Dispatch ---------------------------------------------------------------------------------


def test_ma_code_follows_ma_types_and_rejects_unknown_names():
    assert [ind.ma_code(name) for name in ind.MA_TYPES] == list(range(len(ind.MA_TYPES)))
    for bad in ("SMMA", "sma", ""):
        with pytest.raises(ValueError, match="unknown moving-average type"):
            ind.ma_code(bad)


def test_moving_average_rejects_unknown_codes():
    c, v, h, l = _random_bars()
    with pytest.raises(ValueError, match="unknown moving-average code"):
        ind.moving_average(len(ind.MA_TYPES), c, v, h, l, 5)


@njit
def _spread(kind, c, v, h, l, fast, slow):
    return ind.moving_average(kind, c, v, h, l, fast) - ind.moving_average(kind, c, v, h, l, slow)


def test_moving_average_is_callable_from_jitted_code():
    c, v, h, l = _random_bars()
    code = ind.ma_code("HMA")
    want = ind.moving_average(code, c, v, h, l, 5) - ind.moving_average(code, c, v, h, l, 20)
    np.testing.assert_array_equal(_spread(code, c, v, h, l, 5, 20), want)


# --- ATR, extremes, RSI, standard deviation ----------------------------------------------------


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("p", (0, 1, 2, 14, 50))
def test_atr_matches_reference(data, p):
    c, _, h, l = DATASETS[data]()
    _close_enough(ind.atr(h, l, c, p), ref_atr(h, l, c, p), np.nanmax(np.abs(c)))


def test_atr_is_seeded_with_the_first_bar_range():
    c, _, h, l = _random_bars()
    got = ind.atr(h, l, c, 14)
    tr1 = max(h[1] - l[1], abs(h[1] - c[0]), abs(l[1] - c[0]))
    assert got[0] == h[0] - l[0]
    assert got[1] == got[0] + (tr1 - got[0]) / 14


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("n", (0, 1, 2, 3, 6, 55, 400))
def test_rolling_extremes_match_reference(data, n):
    c, _, h, l = DATASETS[data]()
    np.testing.assert_array_equal(ind.rolling_min(l, n), ref_extreme(l, n, min))
    np.testing.assert_array_equal(ind.rolling_max(h, n), ref_extreme(h, n, max))
    upper, lower = ind.donchian(h, l, n)
    np.testing.assert_array_equal(upper, ref_extreme(h, n, max, partial=False, lag=1))
    np.testing.assert_array_equal(lower, ref_extreme(l, n, min, partial=False, lag=1))


def test_extremes_use_fewer_bars_at_the_slice_start():
    x = np.array([5.0, 3.0, 4.0, 6.0, 1.0])
    np.testing.assert_array_equal(ind.rolling_min(x, 3), [5.0, 3.0, 3.0, 3.0, 1.0])
    np.testing.assert_array_equal(ind.rolling_max(x, 3), [5.0, 5.0, 5.0, 6.0, 6.0])
    upper, lower = ind.donchian(x, x, 3)
    np.testing.assert_array_equal(upper, [NAN, NAN, NAN, 5.0, 6.0])
    np.testing.assert_array_equal(lower, [NAN, NAN, NAN, 3.0, 3.0])


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("n", (0, 1, 2, 14, 100))
def test_rsi_matches_reference(data, n):
    c, *_ = DATASETS[data]()
    np.testing.assert_allclose(ind.rsi(c, n), ref_rsi(c, n), rtol=1e-10, atol=1e-10, equal_nan=True)


def test_rsi_edges():
    rising = np.arange(1.0, 30.0)
    got = ind.rsi(rising, 14)
    assert np.isnan(got[:14]).all() and (got[14:] == 100.0).all()
    assert (ind.rsi(rising[::-1].copy(), 14)[14:] == 0.0).all()


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("n", (0, 1, 2, 20, 100))
def test_rolling_std_matches_reference(data, n):
    c, *_ = DATASETS[data]()
    want = ref_std(c, n)
    np.testing.assert_allclose(
        ind.rolling_std(c, n), want, rtol=1e-12, atol=1e-13 * np.nanmax(np.abs(c)), equal_nan=True
    )
    if n > 1 and data.startswith("random"):
        defined = ~np.isnan(want)
        want_pd = pd.Series(c).rolling(n).std(ddof=0).to_numpy()
        np.testing.assert_allclose(want[defined], want_pd[defined], rtol=1e-9)


# --- Compiled-code cache ---------------------------------------------------------------------

_CACHE_PROBE = """
import numpy as np
from backtune import indicators as ind
x = np.linspace(1.0, 2.0, 64)
for code in range(len(ind.MA_TYPES)):
    ind.moving_average(code, x, x, x, x, 5)
for f, args in ((ind.atr, (x, x, x, 14)), (ind.rsi, (x, 14)), (ind.rolling_std, (x, 20)),
                (ind.rolling_min, (x, 3)), (ind.rolling_max, (x, 3)), (ind.donchian, (x, x, 20)),
                (ind.sma, (x, 5)), (ind.sma_pair, (x, 5, 10))):
    f(*args)
kernels = (ind.moving_average, ind.atr, ind.rsi, ind.rolling_std, ind.rolling_min, ind.rolling_max,
           ind.donchian, ind.sma, ind.sma_pair)
print(sum(len(k.stats.cache_hits) for k in kernels), sum(len(k.stats.cache_misses) for k in kernels))
"""


@pytest.mark.slow
def test_fresh_process_loads_kernels_from_cache():
    """Optimisation workers start often; a recompile would cost seconds each time."""

    def probe():
        done = subprocess.run(
            [sys.executable, "-c", _CACHE_PROBE], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return tuple(int(field) for field in done.stdout.split())

    probe()  # warms the on-disk cache if this checkout has never compiled these kernels
    hits, misses = probe()
    assert hits == 9 and misses == 0
