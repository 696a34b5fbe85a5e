# Adapted from Optuna v5.0.0-rc1, tests/samplers_tests/tpe_tests/test_parzen_estimator.py.
# Copyright (c) 2018 Preferred Networks, Inc. MIT licence (tests/optuna_tpe/LICENSE).
# Changes: the estimator under test is Backtune's ``Mixture``; the small shims below give
# it the interface of Optuna's ``_ParzenEstimator`` and spell the expected mixtures with
# the field names of Optuna's batched distributions, so the test bodies are Optuna's.
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest

from optuna import distributions

from backtune.optimize.tpe.parzen import EstimatorSettings, Mixture, checked_weights, default_weights, dims_of


class _ParzenEstimatorParameters(NamedTuple):
    prior_weight: float
    consider_magic_clip: bool
    consider_endpoints: bool
    weights: Callable[[int], np.ndarray]
    multivariate: bool


class _BatchedCategoricalDistributions(NamedTuple):
    weights: np.ndarray


class _BatchedTruncNormDistributions(NamedTuple):
    mu: np.ndarray
    sigma: np.ndarray
    low: float
    high: float


class _BatchedTruncLogNormDistributions(_BatchedTruncNormDistributions):
    pass


class _BatchedDiscreteTruncNormDistributions(NamedTuple):
    mu: np.ndarray
    sigma: np.ndarray
    low: float
    high: float
    step: float


class _BatchedDiscreteTruncLogNormDistributions(_BatchedDiscreteTruncNormDistributions):
    pass


class _MixtureOfProductDistribution(NamedTuple):
    weights: np.ndarray
    distributions: list[Any]


class _ParzenEstimator:
    """Backtune's mixture behind Optuna's estimator interface."""

    def __init__(self, observations: dict[str, np.ndarray], search_space: dict, parameters: _ParzenEstimatorParameters) -> None:
        n = len(next(iter(observations.values())))
        x = np.column_stack([np.asarray(observations[name], dtype=float) for name in search_space]).reshape(n, len(search_space))
        self._names = list(search_space)
        self._mixture = Mixture(dims_of(search_space), x, checked_weights(parameters.weights, n),
                                EstimatorSettings(parameters.prior_weight, parameters.consider_magic_clip,
                                                  parameters.consider_endpoints))

    @property
    def _mixture_distribution(self) -> _MixtureOfProductDistribution:
        m = self._mixture
        out = []
        for j, d in enumerate(m.dims):
            if d.categorical:
                i = m.cat.index(j)
                out.append(_BatchedCategoricalDistributions(m.cat_rows[i][m.cat_class[i]]))
                continue
            i = m.num.index(j)
            if d.step:
                kind = _BatchedDiscreteTruncLogNormDistributions if d.log else _BatchedDiscreteTruncNormDistributions
                out.append(kind(m.mu[:, i], m.sigma[:, i], d.low, d.high, d.step))
            else:
                kind = _BatchedTruncLogNormDistributions if d.log else _BatchedTruncNormDistributions
                out.append(kind(m.mu[:, i], m.sigma[:, i], d.low, d.high))
        return _MixtureOfProductDistribution(m.weights, out)

    def sample(self, rng: np.random.RandomState, size: int) -> dict[str, np.ndarray]:
        samples = self._mixture.sample(rng, size)
        return {name: samples[:, j] for j, name in enumerate(self._names)}


def assert_distribution_almost_equal(
    d1: _MixtureOfProductDistribution, d2: _MixtureOfProductDistribution
) -> None:
    np.testing.assert_almost_equal(d1.weights, d2.weights)
    for d1_, d2_ in zip(d1.distributions, d2.distributions):
        assert type(d1_) is type(d2_)
        for field1, field2 in zip(d1_, d2_):
            np.testing.assert_almost_equal(np.array(field1), np.array(field2))


SEARCH_SPACE = {
    "a": distributions.FloatDistribution(1.0, 100.0),
    "b": distributions.FloatDistribution(1.0, 100.0, log=True),
    "c": distributions.FloatDistribution(1.0, 100.0, step=3.0),
    "d": distributions.IntDistribution(1, 100),
    "e": distributions.IntDistribution(1, 100, log=True),
    "f": distributions.CategoricalDistribution(["x", "y", "z"]),
    "g": distributions.CategoricalDistribution([0.0, float("inf"), float("nan"), None]),
}

SAMPLES = {
    "a": np.array([1.0]),
    "b": np.array([1.0]),
    "c": np.array([1.0]),
    "d": np.array([1]),
    "e": np.array([1]),
    "f": np.array([1]),
    "g": np.array([1]),
}


def test_init_parzen_estimator() -> None:
    parameters = _ParzenEstimatorParameters(
        prior_weight=1.0,
        consider_magic_clip=False,
        consider_endpoints=False,
        weights=lambda x: np.arange(x) + 1.0,
        multivariate=True,
    )

    mpe = _ParzenEstimator(SAMPLES, SEARCH_SPACE, parameters)

    weights = np.array([1, 1], dtype=float)
    weights /= weights.sum()

    expected = _MixtureOfProductDistribution(
        weights=weights,
        distributions=[
            _BatchedTruncNormDistributions(
                mu=np.array([1.0, 50.5]),
                sigma=np.array([99.0, 99.0]),
                low=1.0,
                high=100.0,
            ),
            _BatchedTruncLogNormDistributions(
                mu=np.array([np.log(1.0), np.log(100) / 2.0]),
                sigma=np.array([np.log(100), np.log(100)]),
                low=1.0,
                high=100.0,
            ),
            _BatchedDiscreteTruncNormDistributions(
                mu=np.array([1.0, 50.5]),
                sigma=np.array([100.5, 102.0]),
                low=1.0,
                high=100.0,
                step=3.0,
            ),
            _BatchedDiscreteTruncNormDistributions(
                mu=np.array([1.0, 50.5]),
                sigma=np.array([99.5, 100.0]),
                low=1,
                high=100,
                step=1,
            ),
            _BatchedDiscreteTruncLogNormDistributions(
                mu=np.array([np.log(1.0), (np.log(100.5) + np.log(0.5)) / 2.0]),
                sigma=np.array([np.log(100.5), np.log(100.5) - np.log(0.5)]),
                low=1,
                high=100,
                step=1,
            ),
            _BatchedCategoricalDistributions(
                np.array([[0.2, 0.6, 0.2], [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]])
            ),
            _BatchedCategoricalDistributions(
                np.array(
                    [
                        [1.0 / 6.0, 0.5, 1.0 / 6.0, 1.0 / 6.0],
                        [1.0 / 4.0, 1.0 / 4.0, 1.0 / 4.0, 1.0 / 4.0],
                    ]
                )
            ),
        ],
    )

    # Test that the distribution is correct.
    assert_distribution_almost_equal(mpe._mixture_distribution, expected)

    # Test that the sampled values are valid.
    samples = mpe.sample(np.random.RandomState(0), 10)
    for param, values in samples.items():
        for value in values:
            assert SEARCH_SPACE[param]._contains(value)


@pytest.mark.parametrize("mus", (np.asarray([]), np.asarray([0.4]), np.asarray([-0.4, 0.4])))
@pytest.mark.parametrize("prior_weight", [1.0, 0.01, 100.0])
@pytest.mark.parametrize("magic_clip", (True, False))
@pytest.mark.parametrize("endpoints", (True, False))
def test_calculate_shape_check(
    mus: np.ndarray,
    prior_weight: float,
    magic_clip: bool,
    endpoints: bool,
) -> None:
    parameters = _ParzenEstimatorParameters(
        prior_weight=prior_weight,
        consider_magic_clip=magic_clip,
        consider_endpoints=endpoints,
        weights=default_weights,
        multivariate=True,
    )
    mpe = _ParzenEstimator(
        {"a": mus}, {"a": distributions.FloatDistribution(-1.0, 1.0)}, parameters
    )
    assert len(mpe._mixture_distribution.weights) == len(mus) + 1  # NOTE(sawa3030): +1 for prior.


@pytest.mark.parametrize("mus", (np.asarray([]), np.asarray([0.4]), np.asarray([-0.4, 0.4])))
@pytest.mark.parametrize("prior_weight", [1.0, 0.01, 100.0])
def test_calculate_shape_check_categorical(
    mus: np.ndarray,
    prior_weight: float,
) -> None:
    parameters = _ParzenEstimatorParameters(
        prior_weight=prior_weight,
        consider_magic_clip=True,
        consider_endpoints=False,
        weights=default_weights,
        multivariate=True,
    )
    mpe = _ParzenEstimator(
        {"c": mus}, {"c": distributions.CategoricalDistribution([0.0, 1.0, 2.0])}, parameters
    )
    assert len(mpe._mixture_distribution.weights) == len(mus) + 1  # NOTE(sawa3030): +1 for prior


@pytest.mark.parametrize("mus", (np.asarray([]), np.asarray([0.4]), np.asarray([-0.4, 0.4])))
def test_invalid_prior_weight(mus: np.ndarray) -> None:
    parameters = _ParzenEstimatorParameters(
        prior_weight=-1.0,
        consider_magic_clip=False,
        consider_endpoints=False,
        weights=default_weights,
        multivariate=True,
    )
    with pytest.raises(ValueError):
        _ParzenEstimator({"a": mus}, {"a": distributions.FloatDistribution(-1.0, 1.0)}, parameters)


# TODO(ytsmiling): Improve test coverage for weights.
@pytest.mark.parametrize(
    "mus, flags, expected",
    [
        [
            np.asarray([]),
            {"magic_clip": False, "endpoints": True},
            {"weights": [1.0], "mus": [0.0], "sigmas": [2.0]},
        ],
        [
            np.asarray([0.4]),
            {"magic_clip": False, "endpoints": True},
            {"weights": [0.5, 0.5], "mus": [0.4, 0.0], "sigmas": [1.4, 2.0]},
        ],
        [
            np.asarray([-0.4]),
            {"magic_clip": False, "endpoints": True},
            {"weights": [0.5, 0.5], "mus": [-0.4, 0.0], "sigmas": [1.4, 2.0]},
        ],
        [
            np.asarray([-0.3, 0.3]),
            {"magic_clip": False, "endpoints": True},
            {"weights": [1.0 / 3] * 3, "mus": [-0.3, 0.3, 0.0], "sigmas": [0.7, 0.7, 2.0]},
        ],
        [
            np.asarray([-0.3, 0.3]),
            {"magic_clip": False, "endpoints": False},
            {"weights": [1.0 / 3] * 3, "mus": [-0.3, 0.3, 0.0], "sigmas": [0.6, 0.6, 2.0]},
        ],
        [
            np.asarray([-0.4, 0.4, 0.41, 0.42]),
            {"magic_clip": False, "endpoints": True},
            {
                "weights": [0.2, 0.2, 0.2, 0.2, 0.2],
                "mus": [-0.4, 0.4, 0.41, 0.42, 0.0],
                "sigmas": [0.8, 0.8, 0.01, 0.58, 2.0],
            },
        ],
        [
            np.asarray([-0.4, 0.4, 0.41, 0.42]),
            {"magic_clip": True, "endpoints": True},
            {
                "weights": [0.2, 0.2, 0.2, 0.2, 0.2],
                "mus": [-0.4, 0.4, 0.41, 0.42, 0.0],
                "sigmas": [0.8, 0.8, 1.0 / 3, 0.58, 2.0],
            },
        ],
    ],
)
def test_calculate(
    mus: np.ndarray, flags: dict[str, bool], expected: dict[str, list[float]]
) -> None:
    parameters = _ParzenEstimatorParameters(
        prior_weight=1.0,
        consider_magic_clip=flags["magic_clip"],
        consider_endpoints=flags["endpoints"],
        weights=default_weights,
        multivariate=True,
    )
    mpe = _ParzenEstimator(
        {"a": mus}, {"a": distributions.FloatDistribution(-1.0, 1.0)}, parameters
    )
    expected_distribution = _MixtureOfProductDistribution(
        weights=np.asarray(expected["weights"]),
        distributions=[
            _BatchedTruncNormDistributions(
                mu=np.asarray(expected["mus"]),
                sigma=np.asarray(expected["sigmas"]),
                low=-1.0,
                high=1.0,
            )
        ],
    )
    assert_distribution_almost_equal(mpe._mixture_distribution, expected_distribution)


@pytest.mark.parametrize(
    "weights",
    [
        lambda x: np.zeros(x),
        lambda x: -np.ones(x),
        lambda x: float("inf") * np.ones(x),
        lambda x: -float("inf") * np.ones(x),
        lambda x: np.asarray([float("nan") for _ in range(x)]),
    ],
)
def test_invalid_weights(weights: Callable[[int], np.ndarray]) -> None:
    parameters = _ParzenEstimatorParameters(
        prior_weight=1.0,
        consider_magic_clip=False,
        consider_endpoints=False,
        weights=weights,
        multivariate=True,
    )
    with pytest.raises(ValueError):
        _ParzenEstimator(
            {"a": np.asarray([0.0])}, {"a": distributions.FloatDistribution(-1.0, 1.0)}, parameters
        )
