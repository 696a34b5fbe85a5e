# Adapted from Optuna v5.0.0-rc1, tests/samplers_tests/tpe_tests/test_truncnorm.py.
# Copyright (c) 2018 Preferred Networks, Inc. MIT licence (tests/optuna_tpe/LICENSE).
# Changes: the functions under test are Backtune's compiled scalar ports
# (backtune/optimize/tpe/truncnorm.py) and the truncated-normal log density inside
# ``parzen._numerical_table``; (0, 0) is left out of the log-density cases, as a
# zero-width domain never reaches it (bandwidths are positive, low < high).
from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.special import ndtri_exp as ndtri_exp_scipy
from scipy.stats import truncnorm as truncnorm_scipy
from scipy.stats._continuous_distns import _log_gauss_mass as _log_gauss_mass_scipy

from backtune.optimize.tpe import truncnorm as truncnorm_ours
from backtune.optimize.tpe.parzen import _numerical_table


def logpdf(x: float, a: float, b: float, loc: float, scale: float) -> float:
    """One kernel's log density at one point, through the sampler's own table code."""
    table = _numerical_table(np.array([float(x)]), np.array([float(loc)]), np.array([float(scale)]), 0.0,
                             loc + a * scale, loc + b * scale, False)
    return table[0, 0]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "a,b",
    [(-np.inf, np.inf), (-10, +10), (-1, +1), (-1e-3, +1e-3), (10, 100), (-100, -10), (0, 0)],
)
def test_ppf(a: float, b: float) -> None:
    for x in np.concatenate(
        [np.linspace(0, 1, num=100), np.array([sys.float_info.min, 1 - sys.float_info.epsilon])]
    ):
        assert truncnorm_ours.ppf(x, a, b) == pytest.approx(
            truncnorm_scipy.ppf(x, a, b), nan_ok=True
        ), f"ppf({x=}, {a=}, {b=})"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "a,b",
    [(-np.inf, np.inf), (-10, +10), (-1, +1), (-1e-3, +1e-3), (10, 100), (-100, -10)],
)
@pytest.mark.parametrize("loc", [-10, 0, 10])
@pytest.mark.parametrize("scale", [0.1, 1, 10])
def test_logpdf(a: float, b: float, loc: float, scale: float) -> None:
    for x in np.concatenate(
        [np.linspace(np.max([a, -100]), np.min([b, 100]), num=1000), np.array([-2000.0, +2000.0])]
    ):
        assert logpdf(x, a, b, loc, scale) == pytest.approx(
            truncnorm_scipy.logpdf(x, a, b, loc, scale), nan_ok=True
        ), f"logpdf({x=}, {a=}, {b=})"


@pytest.mark.parametrize(
    "a,b",
    # we don't test (0, 0) as SciPy returns the incorrect value.
    [(-np.inf, np.inf), (-10, +10), (-1, +1), (-1e-3, +1e-3), (10, 100), (-100, -10)],
)
def test_log_gass_mass(a: float, b: float) -> None:
    a_arr, b_arr = np.array([a]), np.array([b])
    assert truncnorm_ours.log_gauss_mass(a, b) == pytest.approx(
        _log_gauss_mass_scipy(a_arr, b_arr)[0], nan_ok=True
    ), f"_log_gauss_mass({a=}, {b=})"


def test_ndtri_exp() -> None:
    y = np.asarray([-sys.float_info.min] + [-(10**i) for i in range(-300, 10)])
    x = np.array([truncnorm_ours._ndtri_exp(v) for v in y])
    ans = ndtri_exp_scipy(y)
    assert np.allclose(x, ans), f"Failed with {y[~np.isclose(x, ans)]}."
