"""Indicators for the optimiser's hot loop, implemented as the strategy specs define them.

Every public kernel is ``@njit(cache=True)``: a call from Python costs one dispatch, a call
from other jitted code costs nothing extra, and a fresh worker process loads machine code
from disk instead of compiling. Inputs are float64 1-D arrays; each kernel returns a new
float64 array of the input's length. Window sums slide in O(1) per bar whatever the length.
SMA and VWMA reproduce pandas' rolling arithmetic bit for bit, because crossover strategies
compare two SMAs with ``<``/``>`` and must agree with pandas-based references even at exact
ties. The other sums (WMA, KAMA's noise, rolling_std, VWAP) are carried to about twice
working precision (Neumaier), so they stay within an ulp or two of exact however many
values have entered and left.

NaN conventions, one per family, so compositions (HMA, TMA, DEMA, T3) behave predictably:

- Window kernels (SMA, WMA, VWMA, ALMA, rolling_std, donchian) give NaN until ``n`` bars
  exist and wherever the window holds a NaN, as pandas' ``rolling(n)`` does. A run of
  leading NaNs (the inner WMA of an HMA, the inner SMA of a TMA) only delays the first
  value. VWMA/VWAP treat a bar with a NaN price or volume as missing, and give NaN where
  the volume sum is 0.
- Recursive kernels (EMA, DEMA, T3, KAMA, VWAP, ATR, RSI) seed on the first non-NaN input;
  a NaN input gives NaN at that bar and leaves the state untouched, so the recursion
  resumes from where it was. An EMA of a series with leading NaNs therefore starts at its
  first number, exactly as an EMA of the trimmed series would.
- KAMA additionally carries its previous value wherever the efficiency ratio is undefined
  (fewer than ``n`` earlier bars, or a NaN among the ``n + 1`` prices it looks at).
- ``rolling_min``/``rolling_max`` use fewer bars at the slice start and give NaN wherever
  their (possibly shorter) window holds a NaN.
- A length below 1 gives all NaN (VWAP has no length).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MA_TYPES = ("SMA", "EMA", "WMA", "HMA", "DEMA", "TMA", "VWMA", "ALMA", "KAMA", "T3", "VWAP")
_SMA, _EMA, _WMA, _HMA, _DEMA, _TMA, _VWMA, _ALMA, _KAMA, _T3, _VWAP = range(len(MA_TYPES))

# Veltkamp's splitter for float64: 2**27 + 1.
_SPLITTER = 134217729.0


def ma_code(name: str) -> int:
    """The integer ``moving_average`` takes for ``name``; jitted code cannot look up strings cheaply."""
    try:
        return MA_TYPES.index(name)
    except ValueError:
        raise ValueError(f"unknown moving-average type {name!r}; expected one of {', '.join(MA_TYPES)}") from None


# --- Shared building blocks -------------------------------------------------------------


@njit(cache=True)
def _add(s: float, c: float, v: float) -> tuple[float, float]:
    """Neumaier's step: ``c`` collects the exact rounding error of each addition, so ``s + c``
    stays within an ulp of the true sum however many values have entered and left."""
    t = s + v
    if abs(s) >= abs(v):
        c += (s - t) + v
    else:
        c += (v - t) + s
    return t, c


@njit(cache=True)
def _slide(s: float, c: float, v: float) -> tuple[float, float]:
    """Add ``v`` unless it is NaN: windows count a NaN as 0 and track NaNs separately, so one
    missing bar cannot poison the running sum after it has left the window."""
    if v != v:
        return s, c
    return _add(s, c, v)


@njit(cache=True)
def _product_error(k: float, v: float, p: float) -> float:
    """The exact rounding error of ``p = k * v`` (Dekker) for an integer ``k < 2**26``, which
    needs no split; WMA's running sum adds ``n * x`` every bar and would drift without it."""
    big = _SPLITTER * v
    hi = big - (big - v)
    lo = v - hi
    return (k * hi - p) + k * lo


@njit(cache=True)
def _kahan(total: float, comp: float, v: float) -> tuple[float, float]:
    """pandas' compensated step for rolling sums and means, operation for operation."""
    y = v - comp
    t = total + y
    return t, t - total - y


# A rolling window's state in pandas' terms: (sum, compensation of additions,
# compensation of removals, count of numbers, count of negative numbers).
_EMPTY_WINDOW = (0.0, 0.0, 0.0, 0, 0)


@njit(cache=True, inline="always")
def _window_remove(window: tuple, old: float) -> tuple:
    total, comp_add, comp_remove, nobs, negative = window
    if old == old:
        nobs -= 1
        total, comp_remove = _kahan(total, comp_remove, -old)
        negative -= np.signbit(old)
    return total, comp_add, comp_remove, nobs, negative


@njit(cache=True, inline="always")
def _window_add(window: tuple, v: float) -> tuple:
    total, comp_add, comp_remove, nobs, negative = window
    nobs += 1
    total, comp_add = _kahan(total, comp_add, v)
    negative += np.signbit(v)
    return total, comp_add, comp_remove, nobs, negative


@njit(cache=True, inline="always")
def _equal_run(same: int, prev: float, v: float) -> tuple[int, float]:
    """How many consecutive numbers equal the latest, which pandas tracks per series."""
    return (same + 1 if v == prev else 1), v


@njit(cache=True, inline="always")
def _window_value(window: tuple, n: int, same: int, prev: float, mean: bool) -> float:
    """The window's sum or mean, NaN until it holds ``n`` numbers, with pandas' refinements:
    a window of identical values gives that value exactly (so ``close == MA`` holds on a
    flat market), and a mean of values all of one sign cannot cross zero."""
    total, _, _, nobs, negative = window
    if nobs < n:
        return np.nan
    if not mean:
        return prev * nobs if same >= nobs else total
    if same >= nobs:
        return prev
    r = total / nobs
    if (negative == 0 and r < 0.0) or (negative == nobs and r > 0.0):
        r = 0.0
    return r


@njit(cache=True)
def _pandas_rolling(x: np.ndarray, n: int, mean: bool) -> np.ndarray:
    """pandas' ``Series.rolling(n).sum()`` or ``.mean()`` (min_periods n), bit for bit.

    backtesting.py and most Python references compute SMAs this way, and two SMAs of FX or
    crypto prices are often exactly tied: anything but the same arithmetic flips some of
    their strict ``<``/``>`` comparisons.
    """
    size = x.shape[0]
    if n < 1:
        return np.full(size, np.nan)
    out = np.empty(size)
    window = _EMPTY_WINDOW
    same = 0
    prev = x[0] if size else np.nan
    for t in range(size):
        if t >= n:
            window = _window_remove(window, x[t - n])
        v = x[t]
        if v == v:
            window = _window_add(window, v)
            same, prev = _equal_run(same, prev, v)
        out[t] = _window_value(window, n, same, prev, mean)
    return out


@njit(cache=True)
def _pandas_rolling_mean_pair(x: np.ndarray, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """Two of pandas' rolling means of one series in one pass.

    A compensated sum is latency-bound: each bar waits about a dozen cycles for the
    previous bar's compensation. Two independent windows advanced side by side fill each
    other's wait, so the pair costs little more than one average.
    """
    size = x.shape[0]
    first = np.empty(size)
    second = np.empty(size)
    window1 = window2 = _EMPTY_WINDOW
    same = 0
    prev = x[0] if size else np.nan
    for t in range(size):
        if t >= n1:
            window1 = _window_remove(window1, x[t - n1])
        if t >= n2:
            window2 = _window_remove(window2, x[t - n2])
        v = x[t]
        if v == v:
            window1 = _window_add(window1, v)
            window2 = _window_add(window2, v)
            same, prev = _equal_run(same, prev, v)
        first[t] = _window_value(window1, n1, same, prev, True)
        second[t] = _window_value(window2, n2, same, prev, True)
    return first, second


@njit(cache=True)
def _wma_into(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """Linear weights 1..n in O(1) per bar: ``W[t] = W[t-1] + n*x[t] - S[t-1]`` with ``S`` the
    plain window sum, both compensated (the product's error included) so ``W`` never drifts."""
    norm = n * (n + 1) / 2.0
    s = sc = 0.0
    wsum = wc = 0.0
    last_nan = -1
    for t in range(x.shape[0]):
        v = x[t]
        wsum, wc = _add(wsum, wc, -s)
        wc -= sc
        if v != v:
            last_nan = t
        else:
            p = n * v
            wsum, wc = _add(wsum, wc, p)
            wc += _product_error(float(n), v, p)
        s, sc = _slide(s, sc, v)
        if t >= n:
            s, sc = _slide(s, sc, -x[t - n])
        out[t] = (wsum + wc) / norm if t - last_nan >= n else np.nan
    return out


@njit(cache=True)
def _ema_into(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """``out`` may be ``x``: each bar is read before it is written, so chains reuse buffers."""
    a = 2.0 / (n + 1.0)
    b = 1.0 - a
    e = np.nan
    for t in range(x.shape[0]):
        v = x[t]
        if v != v:
            out[t] = np.nan
            continue
        e = v if e != e else a * v + b * e
        out[t] = e
    return out


@njit(cache=True)
def _gd_into(y: np.ndarray, n: int, p: float, q: float, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """``p*EMA(y) - q*EMA(EMA(y))``: DEMA is (2, 1), T3's generalised DEMA is (1.7, 0.7)."""
    _ema_into(y, n, out)
    _ema_into(out, n, tmp)
    for t in range(out.shape[0]):
        out[t] = p * out[t] - q * tmp[t]
    return out


@njit(cache=True)
def _wilder(prev: float, v: float, n: int) -> float:
    """Wilder's smoothing in the spec's form, shared by ATR and RSI."""
    return prev + (v - prev) / n


@njit(cache=True)
def _window_extreme(x: np.ndarray, n: int, want_max: bool, partial: bool, lag: int) -> np.ndarray:
    """Max/min of ``x[t-n+1..t]`` written to ``out[t+lag]``, in O(1) amortised per bar.

    A monotonic deque of indices (in a power-of-two ring) keeps the candidates; ``partial``
    accepts the shorter windows at the slice start, ``lag=1`` gives "the previous n bars".
    """
    size = x.shape[0]
    out = np.full(size, np.nan)
    if n < 1:
        return out
    cap = 1
    while cap < n:
        cap *= 2
    mask = cap - 1
    ring = np.empty(cap, dtype=np.int64)
    head = tail = 0
    last_nan = -1
    for t in range(size):
        lo = t - n + 1
        if head < tail and ring[head & mask] < lo:
            head += 1
        v = x[t]
        if v != v:
            last_nan = t
        else:
            while head < tail:
                back = x[ring[(tail - 1) & mask]]
                if (back > v) if want_max else (back < v):
                    break
                tail -= 1
            ring[tail & mask] = t
            tail += 1
        if partial and lo < 0:
            lo = 0
        if last_nan < lo and t + lag < size:
            out[t + lag] = x[ring[head & mask]]
    return out


# --- Moving averages ----------------------------------------------------------------------


@njit(cache=True)
def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Bit-identical to pandas' ``rolling(n).mean()``, so crossovers agree with it even at ties."""
    return _pandas_rolling(x, n, True)


@njit(cache=True)
def sma_pair(x: np.ndarray, n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sma(x, n1), sma(x, n2))``, bit for bit, in about the time of one (crossover strategies' hot path)."""
    if n1 < 1 or n2 < 1:
        return sma(x, n1), sma(x, n2)
    return _pandas_rolling_mean_pair(x, n1, n2)


@njit(cache=True)
def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Seeded with the first (non-NaN) value, not an SMA, as the spec requires."""
    if n < 1:
        return np.full(x.shape[0], np.nan)
    return _ema_into(x, n, np.empty(x.shape[0]))


@njit(cache=True)
def wma(x: np.ndarray, n: int) -> np.ndarray:
    """Weights 1..n, newest heaviest."""
    if n < 1:
        return np.full(x.shape[0], np.nan)
    return _wma_into(x, n, np.empty(x.shape[0]))


@njit(cache=True)
def hma(x: np.ndarray, n: int) -> np.ndarray:
    """Hull MA; the inner series' leading NaNs just delay the outer WMA."""
    if n < 1:
        return np.full(x.shape[0], np.nan)
    half = wma(x, max(1, n // 2))
    full = wma(x, n)
    for t in range(half.shape[0]):
        half[t] = 2.0 * half[t] - full[t]
    return _wma_into(half, max(1, int(math.sqrt(n))), full)


@njit(cache=True)
def dema(x: np.ndarray, n: int) -> np.ndarray:
    """``2*EMA - EMA(EMA)``: defined from the first bar, like the EMA it is built on."""
    if n < 1:
        return np.full(x.shape[0], np.nan)
    return _gd_into(x, n, 2.0, 1.0, np.empty(x.shape[0]), np.empty(x.shape[0]))


@njit(cache=True)
def t3(x: np.ndarray, n: int) -> np.ndarray:
    """Tillson's T3 with volume factor 0.7: the generalised DEMA applied three times."""
    if n < 1:
        return np.full(x.shape[0], np.nan)
    out = np.empty(x.shape[0])
    tmp = np.empty(x.shape[0])
    _gd_into(x, n, 1.7, 0.7, out, tmp)
    _gd_into(out, n, 1.7, 0.7, out, tmp)
    return _gd_into(out, n, 1.7, 0.7, out, tmp)


@njit(cache=True)
def tma(x: np.ndarray, n: int) -> np.ndarray:
    """Triangular MA as the spec composes it: ``SMA(SMA(x, ceil(n/2)), floor(n/2) + 1)``."""
    if n < 1:
        return np.full(x.shape[0], np.nan)
    return sma(sma(x, (n + 1) // 2), n // 2 + 1)


@njit(cache=True)
def vwma(close: np.ndarray, volume: np.ndarray, n: int) -> np.ndarray:
    """``sum(close*volume, n) / sum(volume, n)`` with pandas' rolling sums; NaN where the
    window traded nothing."""
    out = _pandas_rolling(close * volume, n, False)
    out /= _pandas_rolling(volume, n, False)
    return out


@njit(cache=True)
def vwap(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Anchored at the slice start (no session resets), on the typical price ``(h+l+c)/3``."""
    size = close.shape[0]
    out = np.full(size, np.nan)
    pv = pvc = vs = vc = 0.0
    for t in range(size):
        p = (high[t] + low[t] + close[t]) / 3.0 * volume[t]
        if p != p:
            continue
        pv, pvc = _add(pv, pvc, p)
        vs, vc = _add(vs, vc, volume[t])
        den = vs + vc
        if den != 0.0:
            out[t] = (pv + pvc) / den
    return out


@njit(cache=True)
def _dot(weights: np.ndarray, x: np.ndarray, start: int) -> float:
    acc = 0.0
    for i in range(weights.shape[0]):
        acc += weights[i] * x[start + i]
    return acc


@njit(cache=True)
def alma(x: np.ndarray, n: int) -> np.ndarray:
    """Arnaud Legoux MA (offset 0.85, sigma n/6, weight index 0 on the oldest bar).

    Gaussian weights have no recurrence, so this is the one O(n * length) average. Four
    outputs are summed side by side, which the compiler vectorises while each sum keeps the
    plain oldest-first order: results are bit-identical to the textbook loop on any CPU.
    """
    size = x.shape[0]
    out = np.full(size, np.nan)
    if n < 1:
        return out
    m = 0.85 * (n - 1)
    s = n / 6.0
    weights = np.empty(n)
    for i in range(n):
        weights[i] = math.exp(-((i - m) ** 2) / (2.0 * s * s))
    norm = weights.sum()
    t = n - 1
    while t + 3 < size:
        start = t - n + 1
        a0 = a1 = a2 = a3 = 0.0
        for i in range(n):
            wi = weights[i]
            j = start + i
            a0 += wi * x[j]
            a1 += wi * x[j + 1]
            a2 += wi * x[j + 2]
            a3 += wi * x[j + 3]
        out[t] = a0 / norm
        out[t + 1] = a1 / norm
        out[t + 2] = a2 / norm
        out[t + 3] = a3 / norm
        t += 4
    for rest in range(t, size):
        out[rest] = _dot(weights, x, rest - n + 1) / norm
    return out


@njit(cache=True)
def kama(x: np.ndarray, n: int) -> np.ndarray:
    """Kaufman's adaptive MA (fast 2, slow 30), seeded with the first price.

    The noise sum ``sum(|x[i]-x[i-1]|, n)`` slides in O(1) like the SMA's.
    """
    size = x.shape[0]
    out = np.full(size, np.nan)
    if n < 1:
        return out
    fast = 2.0 / 3.0
    slow = 2.0 / 31.0
    s = c = 0.0
    last_nan = 0  # bar 0 has no change, so it counts as a missing one
    k = np.nan
    for t in range(size):
        v = x[t]
        if t > 0:
            d = abs(v - x[t - 1])
            if d != d:
                last_nan = t
            s, c = _slide(s, c, d)
            if t > n:
                s, c = _slide(s, c, -abs(x[t - n] - x[t - n - 1]))
        if v != v:
            continue
        if k != k:
            k = v
        elif t - last_nan >= n:
            noise = s + c
            er = abs(v - x[t - n]) / noise if noise > 0.0 else 0.0
            sc = (er * (fast - slow) + slow) ** 2
            k = sc * v + (1.0 - sc) * k
        out[t] = k
    return out


@njit(cache=True)
def moving_average(
    kind: int, close: np.ndarray, volume: np.ndarray, high: np.ndarray, low: np.ndarray, length: int
) -> np.ndarray:
    """One entry point for a strategy whose MA type is a parameter; ``kind`` is ``ma_code(name)``.

    Takes every input any type needs so callers need not branch; VWAP ignores ``length``.
    """
    if kind == _SMA:
        return sma(close, length)
    if kind == _EMA:
        return ema(close, length)
    if kind == _WMA:
        return wma(close, length)
    if kind == _HMA:
        return hma(close, length)
    if kind == _DEMA:
        return dema(close, length)
    if kind == _TMA:
        return tma(close, length)
    if kind == _VWMA:
        return vwma(close, volume, length)
    if kind == _ALMA:
        return alma(close, length)
    if kind == _KAMA:
        return kama(close, length)
    if kind == _T3:
        return t3(close, length)
    if kind == _VWAP:
        return vwap(high, low, close, volume)
    raise ValueError("unknown moving-average code; use ma_code(name)")


# --- Volatility, momentum, channels ---------------------------------------------------------


@njit(cache=True)
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Average true range, seeded with the first bar's ``h - l`` so it is defined from bar 0.

    A bar whose previous close is NaN takes ``h - l`` as its true range, like the first bar.
    """
    size = close.shape[0]
    out = np.full(size, np.nan)
    if period < 1:
        return out
    r = np.nan
    for t in range(size):
        h = high[t]
        lo = low[t]
        tr = h - lo
        if tr != tr:
            continue
        if t > 0 and close[t - 1] == close[t - 1]:
            pc = close[t - 1]
            tr = max(tr, abs(h - pc), abs(lo - pc))
        r = tr if r != r else _wilder(r, tr, period)
        out[t] = r
    return out


@njit(cache=True)
def rsi(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI as TradingView computes it: averages seeded with the mean of the first
    ``n`` changes (so defined from bar ``n``), 100 when there were no losses, 0 when no gains.

    A NaN change (either price NaN) is skipped without touching the averages.
    """
    size = x.shape[0]
    out = np.full(size, np.nan)
    if n < 1:
        return out
    up = down = 0.0
    seen = 0
    for t in range(1, size):
        change = x[t] - x[t - 1]
        if change != change:
            continue
        gain = max(change, 0.0)
        loss = max(-change, 0.0)
        if seen < n:
            up += gain
            down += loss
            seen += 1
            if seen < n:
                continue
            up /= n
            down /= n
        else:
            up = _wilder(up, gain, n)
            down = _wilder(down, loss, n)
        if down == 0.0:
            out[t] = 100.0
        elif up == 0.0:
            out[t] = 0.0
        else:
            out[t] = 100.0 - 100.0 / (1.0 + up / down)
    return out


@njit(cache=True)
def _deviation_sums(x: np.ndarray, first: int, last: int, shift: float) -> tuple[float, float, float, float]:
    """Compensated sums of ``x - shift`` and of its square over ``x[first..last]``, NaNs skipped."""
    s1 = c1 = s2 = c2 = 0.0
    for i in range(first, last + 1):
        d = x[i] - shift
        s1, c1 = _slide(s1, c1, d)
        s2, c2 = _slide(s2, c2, d * d)
    return s1, c1, s2, c2


@njit(cache=True)
def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """Population standard deviation over the last ``n`` bars (Bollinger bands' ddof=0).

    ``E[d^2] - E[d]^2`` loses digits in proportion to ``(mean - shift)^2 / variance``, so the
    sums run on deviations from a recent price and are rebuilt around a new one every ``n``
    bars (O(1) amortised): prices may wander far from where the series started without the
    error growing. A window of identical values gives exactly 0.
    """
    size = x.shape[0]
    out = np.full(size, np.nan)
    if n < 1:
        return out
    shift = 0.0
    s1 = c1 = s2 = c2 = 0.0
    last_nan = -1
    run = 0
    for t in range(size):
        v = x[t]
        if v != v:
            last_nan = t
        if t % n == 0:
            if v == v:
                shift = v
            s1, c1, s2, c2 = _deviation_sums(x, max(0, t - n + 1), t, shift)
        else:
            d = v - shift
            s1, c1 = _slide(s1, c1, d)
            s2, c2 = _slide(s2, c2, d * d)
            if t >= n:
                d = x[t - n] - shift
                s1, c1 = _slide(s1, c1, -d)
                s2, c2 = _slide(s2, c2, -(d * d))
        run = run + 1 if t > 0 and v == x[t - 1] else 1
        if t - last_nan >= n:
            if run >= n:
                out[t] = 0.0
            else:
                mean = (s1 + c1) / n
                out[t] = math.sqrt(max((s2 + c2) / n - mean * mean, 0.0))
    return out


@njit(cache=True)
def rolling_min(x: np.ndarray, n: int) -> np.ndarray:
    """Lowest of the last ``n`` bars including ``t``, over fewer bars at the slice start
    (the spec's swing low for stops, usable from the first bar)."""
    return _window_extreme(x, n, False, True, 0)


@njit(cache=True)
def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    """Highest of the last ``n`` bars including ``t``, over fewer bars at the slice start."""
    return _window_extreme(x, n, True, True, 0)


@njit(cache=True)
def donchian(high: np.ndarray, low: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower channel over the ``n`` bars before ``t`` (NaN until ``n`` exist).

    Excluding bar ``t`` lets a breakout test ``close[t] > upper[t]`` without comparing a bar
    against itself.
    """
    return _window_extreme(high, n, True, False, 1), _window_extreme(low, n, False, False, 1)
