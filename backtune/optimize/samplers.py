"""Optuna samplers and pruners by name, built identically in every worker process."""

from __future__ import annotations

import zlib

import optuna

from backtune.optimize.config import RunConfig
from backtune.optimize.tpe import TPESampler

METRICS_ATTR = "metrics"


def build_sampler(config: RunConfig, worker_index: int) -> optuna.samplers.BaseSampler:
    """Each worker gets its own seed (seed + index), so a 1-worker run with a seed repeats
    exactly and parallel workers do not propose the same points."""
    seed = None if config.seed is None else config.seed + worker_index
    startup = config.warmup_trials
    if config.sampler in ("tpe", "tpe-optuna"):
        # Backtune's TPE and Optuna's, the reference, with the same settings.
        tpe = TPESampler if config.sampler == "tpe" else optuna.samplers.TPESampler
        return tpe(n_startup_trials=startup, multivariate=True, seed=seed, constant_liar=config.workers > 1)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if config.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(
            n_startup_trials=startup, seed=seed, independent_sampler=optuna.samplers.RandomSampler(seed=seed)
        )
    if config.sampler == "gp":
        return optuna.samplers.GPSampler(n_startup_trials=startup, seed=seed)
    # Workers share one QMC sequence (Optuna hands out its indices), so they need one seed.
    shared_seed = config.seed if config.seed is not None else zlib.crc32(config.study_name.encode())
    return optuna.samplers.QMCSampler(seed=shared_seed, scramble=True)


def build_pruner(config: RunConfig) -> optuna.pruners.BasePruner:
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=config.warmup_trials, n_warmup_steps=1)
    if config.pruner == "percentile":
        return optuna.pruners.PercentilePruner(25.0, n_startup_trials=config.warmup_trials, n_warmup_steps=1)
    return optuna.pruners.NopPruner()
