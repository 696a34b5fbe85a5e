"""The probabilistic and the deflated Sharpe ratio (formulas and sources: docs/robustness.md).

Plain functions of a Sharpe ratio and the moments of the returns behind it, so any
returns series can use them: a trial's per-bar returns here, the stitched out-of-sample
returns of a walk-forward run elsewhere. All Sharpe ratios are per observation (per bar),
never annualised: the formulas' sampling variance is in those units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from backtune.robustness.values import finite_or_none

EULER_MASCHERONI = 0.5772156649015329


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normal_ppf(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's rational approximation refined by one
    Halley step: accurate to ~1e-15), so the worker-side code needs no scipy."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {p}")
    a = (
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    )
    b = (
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    )
    c = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    )
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    low = 0.02425
    if p < low or p > 1.0 - low:
        q = math.sqrt(-2.0 * math.log(p if p < low else 1.0 - p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        )
        x = x if p < low else -x
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        )
    e = _normal_cdf(x) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


def probabilistic_sharpe(sharpe: float, n: int, skew: float, kurtosis: float, benchmark: float = 0.0) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-bar ``sharpe`` over ``n``
    returns with skewness ``skew`` and raw ``kurtosis`` (normal = 3). NaN when undefined
    (fewer than two returns, or moments for which the variance term is not positive)."""
    if n < 2 or not all(math.isfinite(v) for v in (sharpe, skew, kurtosis, benchmark)):
        return math.nan
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    if spread <= 0.0:
        return math.nan
    return _normal_cdf((sharpe - benchmark) * math.sqrt(n - 1) / math.sqrt(spread))


def expected_max_sharpe(sharpe_variance: float, n_trials: int) -> float:
    """The Sharpe ratio the best of ``n_trials`` independent trials with true Sharpe 0 is
    expected to reach by luck, for trials whose Sharpe ratios vary by ``sharpe_variance``."""
    if n_trials < 2 or not math.isfinite(sharpe_variance) or sharpe_variance < 0.0:
        return math.nan
    g = EULER_MASCHERONI
    return math.sqrt(sharpe_variance) * (
        (1.0 - g) * _normal_ppf(1.0 - 1.0 / n_trials) + g * _normal_ppf(1.0 - 1.0 / (n_trials * math.e))
    )


def deflated_sharpe(
    sharpe: float, n: int, skew: float, kurtosis: float, sharpe_variance: float, n_trials: int
) -> float:
    """The PSR against the expected maximum Sharpe ratio of ``n_trials`` lucky trials."""
    return probabilistic_sharpe(sharpe, n, skew, kurtosis, expected_max_sharpe(sharpe_variance, n_trials))


def sharpe_variance(sharpes: Sequence[float]) -> float:
    """Sample variance (n - 1) of the trials' finite per-bar Sharpe ratios; NaN below two."""
    values = np.asarray([s for s in sharpes if s is not None and math.isfinite(s)], dtype=float)
    return float(np.var(values, ddof=1)) if values.shape[0] >= 2 else math.nan


def psr_dsr(
    sharpe: float, n: int, skew: float, kurtosis: float, sharpe_variance: float, n_trials: int
) -> dict[str, float | None]:
    """``{"psr", "dsr"}`` as reported (None where undefined)."""
    return {
        "psr": finite_or_none(probabilistic_sharpe(sharpe, n, skew, kurtosis)),
        "dsr": finite_or_none(deflated_sharpe(sharpe, n, skew, kurtosis, sharpe_variance, n_trials)),
    }
