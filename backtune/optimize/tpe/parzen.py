"""Optuna's Parzen estimator (a weighted mixture of product kernels), evaluated in bulk.

The mixture is Optuna's (``optuna/samplers/_tpe/parzen_estimator.py`` and
``probability_distributions.py``, Copyright (c) 2018 Preferred Networks, Inc., MIT
licence): the same kernel centres, bandwidths (neighbour gaps, the "magic clip",
endpoints), prior kernel, categorical smoothing, and the same random draws in the same
order, so one seed gives the same candidates. What differs is how its density is
evaluated at the candidates.

Optuna computes, for every candidate, kernel and parameter, a Gaussian mass with ``erf``
(through a Python function per element in the tails): 24 x 5,000 x 21 of them at 5,000
trials. But a parameter's kernels share few distinct (centre, bandwidth) pairs: centres of
a stepped parameter lie on its grid, and most bandwidths are clipped to the same minimum.
So each parameter gets a small table, log density of each candidate under each distinct
pair, and a compiled loop sums table entries per kernel and takes the log-sum-exp over
kernels: one addition per candidate, kernel and parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from backtune.optimize.tpe.truncnorm import log_gauss_mass, ppf

EPS = 1e-12
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Dim:
    """One searched parameter as the estimator sees it (internal representation)."""

    categorical: bool
    n_choices: int = 0
    low: float = 0.0
    high: float = 0.0
    step: float = 0.0  # 0: continuous
    log: bool = False

    @property
    def adapted_low(self) -> float:
        low = self.low - self.step / 2
        return math.log(low) if self.log else low

    @property
    def adapted_high(self) -> float:
        high = self.high + self.step / 2
        return math.log(high) if self.log else high


def dims_of(search_space: dict[str, BaseDistribution]) -> list[Dim]:
    dims = []
    for dist in search_space.values():
        if isinstance(dist, CategoricalDistribution):
            dims.append(Dim(True, n_choices=len(dist.choices)))
        else:
            assert isinstance(dist, (FloatDistribution, IntDistribution))
            dims.append(
                Dim(False, low=float(dist.low), high=float(dist.high), step=float(dist.step or 0.0), log=dist.log)
            )
    return dims


@dataclass(frozen=True)
class EstimatorSettings:
    prior_weight: float = 1.0
    consider_magic_clip: bool = True
    consider_endpoints: bool = False


class Mixture:
    """The mixture fitted to observations ``x`` (rows: trials, in trial-number order)."""

    def __init__(self, dims: list[Dim], x: np.ndarray, obs_weights: np.ndarray, settings: EstimatorSettings) -> None:
        if settings.prior_weight < 0:
            raise ValueError(
                f"A non-negative value must be specified for prior_weight, but got {settings.prior_weight}."
            )
        self.dims = dims
        n = len(x)
        weights = np.array([1.0]) if n == 0 else np.append(obs_weights, [settings.prior_weight])
        self.weights = weights / weights.sum()
        self.num = [j for j, d in enumerate(dims) if not d.categorical]
        self.cat = [j for j, d in enumerate(dims) if d.categorical]
        self._fit_numerical(x, settings)
        self._fit_categorical(x, n, settings)

    def _fit_numerical(self, x: np.ndarray, settings: EstimatorSettings) -> None:
        """Optuna's bandwidths: the larger gap to a neighbour (domain ends included), ends
        taking their inner gap, clipped to [range / min(100, kernels + 1), range]."""
        dims = [self.dims[j] for j in self.num]
        n = len(x)
        self.low = np.array([d.adapted_low for d in dims], dtype=float)
        self.high = np.array([d.adapted_high for d in dims], dtype=float)
        self.steps = np.array([d.step for d in dims], dtype=float)
        self.logs = np.array([d.log for d in dims], dtype=bool)
        span = self.high - self.low
        min_sigma = span / min(100.0, 1.0 + n + 1) if settings.consider_magic_clip else np.full_like(span, EPS)
        # Compiled code works on one parameter's row of the transposed arrays (contiguous).
        self.mu_t, self.sigma_t, self.order_t = _fit_kernels(
            np.ascontiguousarray(x[:, self.num].T, dtype=float).reshape(len(dims), n),
            self.steps,
            np.array([d.low for d in dims], dtype=float),
            np.array([int(round((d.high - d.low) / d.step)) + 1 if d.step else 0 for d in dims], dtype=np.int64),
            self.logs,
            self.low,
            self.high,
            min_sigma,
            span,
            settings.consider_endpoints,
        )
        self.mu, self.sigma = self.mu_t.T, self.sigma_t.T

    def _fit_categorical(self, x: np.ndarray, n: int, settings: EstimatorSettings) -> None:
        """Kernel k of a categorical parameter puts weight 1 + prior/kernels on its observed
        choice and prior/kernels on every choice; the prior kernel is uniform. Kernels with
        the same observed choice share a row: class c for choice c, class C for the prior."""
        self.cat_class: list[np.ndarray] = []
        self.cat_rows: list[np.ndarray] = []
        for j in self.cat:
            n_choices = self.dims[j].n_choices
            if n == 0:
                rows = np.full((n_choices + 1, n_choices), 1.0 / n_choices)
                classes = np.array([n_choices])
            else:
                rows = np.full((n_choices + 1, n_choices), settings.prior_weight / (n + 1))
                rows[np.arange(n_choices), np.arange(n_choices)] += 1
                sums = rows.sum(axis=1, keepdims=True)
                rows /= np.where(sums == 0, 1, sums)
                classes = np.append(x[:, j].astype(np.int64), n_choices)
            self.cat_rows.append(rows)
            self.cat_class.append(classes)

    def sample(self, rng: np.random.RandomState, size: int) -> np.ndarray:
        """Optuna's draws, in Optuna's order: kernels, then one uniform per candidate for each
        categorical parameter, then a block of uniforms for the numerical ones."""
        active = rng.choice(len(self.weights), p=self.weights, size=size)
        out = np.empty((size, len(self.dims)))
        for j, classes, rows in zip(self.cat, self.cat_class, self.cat_rows):
            quantile = rng.rand(size)
            cum = np.cumsum(rows[classes[active]], axis=-1)
            cum[:, -1] = 1
            out[:, j] = np.sum(cum < quantile[:, np.newaxis], axis=-1)
        if self.num:
            mus = self.mu[active].T
            sigmas = self.sigma[active].T
            quantiles = rng.uniform(low=0, high=1, size=mus.shape)
            values = _truncnorm_rvs(
                quantiles, (self.low[:, None] - mus) / sigmas, (self.high[:, None] - mus) / sigmas, mus, sigmas
            )
            for i, j in enumerate(self.num):
                d = self.dims[j]
                v = np.exp(values[i]) if d.log else values[i]
                if d.step:
                    v = np.clip(d.low + np.round((v - d.low) / d.step) * d.step, d.low, d.high)
                out[:, j] = v
        return out

    def log_pdf(self, y: np.ndarray) -> np.ndarray:
        """log density at each row of ``y`` (internal representation)."""
        n_points = len(y)
        numerical, classes = _numerical_tables(
            np.ascontiguousarray(y[:, self.num].T, dtype=float),
            self.mu_t,
            self.sigma_t,
            self.order_t,
            self.steps,
            self.low,
            self.high,
            self.logs,
        )
        tables = [numerical]
        offset = len(numerical)
        all_classes = np.empty((len(self.weights), len(self.dims)), dtype=np.int64)
        all_classes[:, self.num] = classes
        for j, kernel_classes, rows in zip(self.cat, self.cat_class, self.cat_rows):
            with np.errstate(divide="ignore"):
                table = np.log(rows[:, y[:, j].astype(np.int64)])
            tables.append(table.ravel())
            all_classes[:, j] = offset + kernel_classes * n_points
            offset += table.size
        with np.errstate(divide="ignore"):
            log_weights = np.log(self.weights)
        return _mixture_log_pdf(log_weights, all_classes, np.concatenate(tables), n_points)


def default_gamma(n: int) -> int:
    return min(math.ceil(0.1 * n), 25)


def default_weights(n: int) -> np.ndarray:
    """Optuna's: older trials beyond the newest 25 weigh less, linearly."""
    if n == 0:
        return np.asarray([])
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)], axis=0)


def checked_weights(weights: Callable[[int], np.ndarray], n: int) -> np.ndarray:
    w = np.array(weights(n), dtype=float)[:n]
    if np.any(w < 0):
        raise ValueError(
            f"The `weights` function is not allowed to return negative values {w}. "
            f"The argument of the `weights` function is {n}."
        )
    if len(w) > 0 and np.sum(w) <= 0:
        raise ValueError(
            f"The `weight` function is not allowed to return all-zero values {w}. "
            f"The argument of the `weights` function is {n}."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(
            f"The `weights`function is not allowed to return infinite or NaN values {w}. "
            f"The argument of the `weights` function is {n}."
        )
    return w


@njit(cache=True)
def _truncnorm_rvs(quantiles, a, b, loc, scale):  # pragma: no cover - compiled
    out = np.empty_like(quantiles)
    for i in range(quantiles.shape[0]):
        for k in range(quantiles.shape[1]):
            out[i, k] = ppf(quantiles[i, k], a[i, k], b[i, k]) * scale[i, k] + loc[i, k]
    return out


@njit(cache=True)
def _fit_kernels(
    obs, steps, grid_lows, n_cells, logs, low, high, min_sigma, span, consider_endpoints
):  # pragma: no cover - compiled
    """Kernel centres (observations, log-scaled where the parameter is; the prior's last),
    bandwidths, and each column's sorting permutation.

    Equal values keep row (trial-number) order. Optuna sorts with numpy's default,
    unstable sort, so which of several equal centres gets the gap to the next value as its
    bandwidth depends on numpy's sorting network; a stable order lets a stepped parameter
    be sorted by counting its grid cells, O(n), at every ask.
    """
    d, n = obs.shape
    mu = np.empty((d, n + 1))
    order = np.empty((d, n), dtype=np.int64)
    for j in range(d):
        if steps[j] > 0 and n_cells[j] <= 1_000_000:
            order[j] = _counting_order(obs[j], grid_lows[j], steps[j], n_cells[j])
        else:
            order[j] = np.argsort(obs[j], kind="mergesort")
        for i in range(n):
            mu[j, i] = math.log(obs[j, i]) if logs[j] else obs[j, i]
        mu[j, n] = 0.5 * (low[j] + high[j])
    return mu, _bandwidths(mu, order, low, high, min_sigma, span, consider_endpoints), order


@njit(cache=True)
def _numerical_tables(y, mu, sigma, order, steps, low, high, logs):  # pragma: no cover - compiled
    """For every numerical parameter, the table of ``_numerical_table`` over its distinct
    (centre, bandwidth) pairs, all in one flat array; ``classes[k, j]`` is the offset of
    kernel k's row for parameter j."""
    d, n_kernels = mu.shape
    n_points = y.shape[1]
    classes = np.empty((n_kernels, d), dtype=np.int64)
    pair_mu = np.empty((d, n_kernels))
    pair_sigma = np.empty((d, n_kernels))
    counts = np.empty(d, dtype=np.int64)
    for j in range(d):
        ids, mus, sigmas = _distinct_pairs(mu[j], sigma[j], order[j])
        classes[:, j] = ids
        counts[j] = mus.size
        pair_mu[j, : mus.size] = mus
        pair_sigma[j, : mus.size] = sigmas
    flat = np.empty(counts.sum() * n_points)
    offset = 0
    for j in range(d):
        u = counts[j]
        table = _numerical_table(y[j], pair_mu[j, :u], pair_sigma[j, :u], steps[j], low[j], high[j], logs[j])
        flat[offset : offset + u * n_points] = table.ravel()
        for k in range(n_kernels):
            classes[k, j] = offset + classes[k, j] * n_points
        offset += u * n_points
    return flat, classes


@njit(cache=True)
def _counting_order(x, low, step, n_cells):  # pragma: no cover - compiled
    """Stable sorting permutation of values on the grid low + k * step."""
    cell = np.empty(x.size, dtype=np.int64)
    counts = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(x.size):
        k = min(max(int(round((x[i] - low) / step)), 0), n_cells - 1)
        cell[i] = k
        counts[k + 1] += 1
    for k in range(n_cells):
        counts[k + 1] += counts[k]
    order = np.empty(x.size, dtype=np.int64)
    for i in range(x.size):
        order[counts[cell[i]]] = i
        counts[cell[i]] += 1
    return order


@njit(cache=True)
def _bandwidths(mu, order, low, high, min_sigma, span, consider_endpoints):  # pragma: no cover - compiled
    """Each observed centre's larger gap to its sorted neighbours (the domain's ends beyond
    the extremes, whose own bandwidth is their inner gap unless ``consider_endpoints``),
    clipped to [min_sigma, span]; the prior kernel (last row) spans the domain."""
    d, n = order.shape
    sigma = np.empty_like(mu)
    for j in range(d):
        for t in range(n):
            k = order[j, t]
            cur = mu[j, k]
            prev = low[j] if t == 0 else mu[j, order[j, t - 1]]
            nxt = high[j] if t == n - 1 else mu[j, order[j, t + 1]]
            gap = max(cur - prev, nxt - cur)
            if not consider_endpoints and n >= 2:
                if t == 0:
                    gap = nxt - cur
                elif t == n - 1:
                    gap = cur - prev
            sigma[j, k] = min(max(gap, min_sigma[j]), span[j])
        sigma[j, n] = span[j]
    return sigma


@njit(cache=True)
def _distinct_pairs(mu, sigma, order):  # pragma: no cover - compiled
    """Ids of the distinct (centre, bandwidth) pairs of the kernels. ``order`` sorts the
    observed centres, so equal centres are adjacent and only their few bandwidths need
    comparing; the prior kernel (last) always gets its own id."""
    n = order.size
    ids = np.empty(n + 1, dtype=np.int64)
    mus = np.empty(n + 1)
    sigmas = np.empty(n + 1)
    count = 0
    run_start = 0
    for t in range(n):
        k = order[t]
        m = mu[k]
        s = sigma[k]
        if t == 0 or m != mus[run_start]:
            run_start = count
        found = -1
        for u in range(run_start, count):
            if sigmas[u] == s:
                found = u
                break
        if found < 0:
            mus[count] = m
            sigmas[count] = s
            found = count
            count += 1
        ids[k] = found
    mus[count] = mu[n]
    sigmas[count] = sigma[n]
    ids[n] = count
    return ids, mus[: count + 1], sigmas[: count + 1]


@njit(cache=True)
def _numerical_table(y, mus, sigmas, step, low, high, log):  # pragma: no cover - compiled
    """log density of each point under each (centre, bandwidth) pair, truncated to
    [low, high] (adapted bounds); a stepped parameter takes the mass of its grid cell."""
    first = np.arange(y.size)  # candidates often repeat a grid point: compute each once
    for c in range(y.size):
        for e in range(c):
            if y[e] == y[c]:
                first[c] = e
                break
    table = np.empty((mus.size, y.size))
    for u in range(mus.size):
        mu = mus[u]
        sigma = sigmas[u]
        log_norm = log_gauss_mass((low - mu) / sigma, (high - mu) / sigma)
        density_top = -_LOG_SQRT_2PI - math.log(sigma) - log_norm
        for c in range(y.size):
            if first[c] != c:
                table[u, c] = table[u, first[c]]
            elif step == 0.0:
                x = math.log(y[c]) if log else y[c]
                z = (x - mu) / sigma
                if x < low or x > high:
                    table[u, c] = -math.inf
                else:
                    table[u, c] = -0.5 * z * z + density_top
            else:
                left = y[c] - step / 2
                right = y[c] + step / 2
                if log:
                    left = math.log(left)
                    right = math.log(right)
                table[u, c] = log_gauss_mass((left - mu) / sigma, (right - mu) / sigma) - log_norm
    return table


@njit(cache=True)
def _mixture_log_pdf(log_weights, classes, table, n_points):  # pragma: no cover - compiled
    """log sum_k w_k prod_j p_kj(y): each p_kj is a table entry, ``classes[k, j]`` the
    offset of kernel k's row for parameter j; a running log-sum-exp over kernels."""
    top = np.full(n_points, -np.inf)
    total = np.zeros(n_points)
    acc = np.empty(n_points)
    n_dims = classes.shape[1]
    for k in range(log_weights.size):
        for c in range(n_points):
            acc[c] = log_weights[k]
        for j in range(n_dims):
            base = classes[k, j]
            for c in range(n_points):
                acc[c] += table[base + c]
        for c in range(n_points):
            # Terms more than e^60 below the largest cannot change a double's sum (even
            # a million of them); leaving them out also avoids exp's slow underflow path.
            v = acc[c]
            if v > top[c]:
                total[c] = total[c] * math.exp(top[c] - v) + 1.0 if top[c] - v > -60.0 else 1.0
                top[c] = v
            elif v - top[c] > -60.0:
                total[c] += math.exp(v - top[c])
    out = np.empty(n_points)
    for c in range(n_points):
        out[c] = top[c] + math.log(total[c]) if total[c] > 0 else -math.inf
    return out
