"""Which trials are the good ones ("below" gamma), as Optuna's TPE decides for one objective.

Ported from Optuna's ``_split_trials`` (``optuna/samplers/_tpe/sampler.py``, Copyright (c)
2018 Preferred Networks, Inc., MIT licence) to the history's arrays: the best completed
trials by value, then pruned trials by later last step and better last value, then
infeasible trials by smaller total violation, ``n_below`` in all; ties keep trial-number
order (Python's stable sort there, numpy's stable sorts here). Running trials are never
good; the caller adds them to the bad ones.
"""

from __future__ import annotations

import numpy as np

from backtune.optimize.tpe.history import COMPLETE, PRUNED, Finished


def below_rows(fin: Finished, n_below: int, minimize: bool, order: np.ndarray) -> np.ndarray:
    """Rows of ``fin`` (indices into its arrays) of the good trials; ``order`` lists its
    rows in trial-number order."""
    states = fin.states[order]
    infeasible_rows = fin.infeasibility[order] > 0
    chosen = []
    complete = order[~infeasible_rows & (states == COMPLETE)]
    values = fin.values[complete]
    chosen.append(complete[np.argsort(values if minimize else -values, kind="stable")][: max(0, n_below)])
    n_below = max(0, n_below - len(chosen[-1]))
    pruned = order[~infeasible_rows & (states == PRUNED)]
    steps, last_values = fin.pruned_keys
    chosen.append(pruned[np.lexsort((last_values[pruned], steps[pruned]))][:n_below])
    n_below = max(0, n_below - len(chosen[-1]))
    infeasible = order[infeasible_rows]
    chosen.append(infeasible[np.argsort(fin.infeasibility[infeasible], kind="stable")][:n_below])
    return np.concatenate(chosen).astype(np.int64)
