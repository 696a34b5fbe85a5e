"""Truncated-normal arithmetic for the Parzen estimators, compiled with numba.

Ported from Optuna's ``optuna/samplers/_tpe/_truncnorm.py`` (Copyright (c) 2018 Preferred
Networks, Inc., MIT licence; that file itself adapts SciPy's, Copyright (c) 2001-2002
Enthought, Inc. 2003-2022, SciPy Developers, BSD-3-Clause): the same formulas, so samples
drawn from the same uniforms land on the same points, but scalar and compiled instead of
numpy passes over temporary arrays (Optuna evaluates ``log_ndtr`` in the tails through a
Python function per element). The normal CDF uses the C library's ``erfc`` rather than
Optuna's port of FreeBSD's ``erf``; the two agree to a few units in the last place.
"""

from __future__ import annotations

import math

from numba import njit

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_LOGISTIC_C = math.sqrt(3) / math.pi


@njit(cache=True)
def ndtr(x: float) -> float:
    return 0.5 * math.erfc(-x * _SQRT_HALF)


@njit(cache=True)
def log_ndtr(x: float) -> float:
    """log Phi(x); below -20 Optuna's asymptotic series, where Phi underflows."""
    if x > 6.0:
        return -ndtr(-x)
    if x > -20.0:
        return math.log(ndtr(x))
    log_lhs = -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI
    last_total = 0.0
    rhs = 1.0
    numerator = 1.0
    denom_factor = 1.0
    denom_cons = 1.0 / (x * x)
    sign = 1.0
    i = 0
    while abs(last_total - rhs) > 2.220446049250313e-16:
        i += 1
        last_total = rhs
        sign = -sign
        denom_factor *= denom_cons
        numerator *= 2 * i - 1
        rhs += sign * numerator * denom_factor
    return log_lhs + math.log(rhs)


@njit(cache=True)
def _log_diff(log_p: float, log_q: float) -> float:
    """log(exp(log_p) - exp(log_q)). Below exp(-60) the correction is under a double's
    precision; skipping it also skips exp's slow underflow path, which far-tail kernels
    would otherwise take for most pairs."""
    if log_q - log_p < -60.0:
        return log_p
    return log_p + math.log1p(-math.exp(log_q - log_p))


@njit(cache=True)
def log_gauss_mass(a: float, b: float) -> float:
    """log(Phi(b) - Phi(a)), computed in whichever tail is accurate."""
    if b <= 0.0:
        return _log_diff(log_ndtr(b), log_ndtr(a))
    if a > 0.0:
        return _log_diff(log_ndtr(-a), log_ndtr(-b))
    return math.log1p(-ndtr(a) - ndtr(-b))


@njit(cache=True)
def _ndtri_exp(y: float) -> float:
    """x with log Phi(x) = y, by Newton's method from Optuna's starting guesses."""
    flipped = y > -1e-2
    z = math.log(-math.expm1(y)) if flipped else y
    if z < -5.0:
        x = -math.sqrt(-2.0 * (z + _LOG_SQRT_2PI))
    else:
        x = -_LOGISTIC_C * math.log(math.expm1(-z))
    for _ in range(100):
        log_ndtr_x = log_ndtr(x)
        log_norm_pdf_x = -0.5 * x * x - _LOG_SQRT_2PI
        dx = (log_ndtr_x - z) * math.exp(log_ndtr_x - log_norm_pdf_x)
        x -= dx
        if abs(dx) < 1e-8 * abs(x):
            break
    return -x if flipped else x


@njit(cache=True)
def ppf(q: float, a: float, b: float) -> float:
    """The standardised point with mass q between a and it, of N(0, 1) truncated to [a, b]."""
    if a == b:
        return math.nan
    if q == 0.0:
        return a
    if q == 1.0:
        return b
    log_mass = log_gauss_mass(a, b)
    if a < 0.0:
        return _ndtri_exp(_log_sum(log_ndtr(a), math.log(q) + log_mass))
    return -_ndtri_exp(_log_sum(log_ndtr(-b), math.log1p(-q) + log_mass))


@njit(cache=True)
def _log_sum(log_p: float, log_q: float) -> float:
    high = max(log_p, log_q)
    return high + math.log1p(math.exp(min(log_p, log_q) - high))
