"""The pages people use: start a run, follow it, explore its results, list runs.

Pages are server-rendered shells; small ES modules under static/js fill them from the
JSON API, so every figure a page shows is one the API also gives to scripts. What the
modules need that the API does not list (metric labels and units, targets, samplers) is
read here from the core and embedded in the page as the "catalog", so there is one source
for those names and the JavaScript never repeats them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template

from app.web.datasource import dataset_store
from backtune.data.store import ID_LENGTH, UnknownDatasetError
from backtune.metrics import METRICS
from backtune.optimize.config import MAX_WORKERS, PRUNERS, SAMPLERS, default_workers
from backtune.optimize.rundir import RunDir
from backtune.optimize.score import DEFAULT_TERMS
from backtune.optimize.targets import SCORE, TARGETS

bp = Blueprint("pages", __name__)

SAMPLER_LABELS = {
    "tpe": "TPE: learns from good trials (recommended)",
    "tpe-optuna": "TPE (Optuna reference)",
    "random": "Random: uniform, a baseline",
    "nsga2": "NSGA-II: genetic, for several targets",
    "cmaes": "CMA-ES: numeric ranges, one target",
    "gp": "Gaussian process: few, costly trials",
    "qmc": "Quasi-random: even coverage",
}
PRUNER_LABELS = {
    "none": "None: every trial runs to the end",
    "median": "Median: stop trials behind the median part-way",
    "percentile": "Percentile: stop trials in the bottom quarter part-way",
}


def catalog() -> dict[str, Any]:
    """Names, labels and limits the page scripts need, read from the core.

    Each metric gets a ``title`` for headings: its label, with "%" for the percent twin of
    a money figure (net profit, max drawdown), so the two columns can be told apart.
    """
    metrics = [{**asdict(m), "title": f"{m.label} %" if m.unit == "%" else m.label} for m in METRICS]
    metrics += [
        {"key": SCORE, "label": "Score", "title": "Score", "unit": "points", "direction": "higher"},
        {
            "key": "percentile_score",
            "label": "Percentile score",
            "title": "Percentile score",
            "unit": "points",
            "direction": "higher",
        },
    ]
    by_key = {m["key"]: m for m in metrics}
    # The gp sampler needs PyTorch, which is not installed by default: offering it would
    # only lead to the server's refusal.
    samplers = [s for s in SAMPLERS if s != "gp" or importlib.util.find_spec("torch") is not None]
    max_workers = min(MAX_WORKERS, current_app.config["SETTINGS"].max_workers)
    return {
        "metrics": metrics,
        "targets": [
            {
                "name": t.name,
                "metric": t.metric,
                "direction": t.direction,
                "label": "Score (composite)" if t.name == SCORE else by_key[t.metric]["title"],
            }
            for t in TARGETS.values()
        ],
        "samplers": [{"name": s, "label": SAMPLER_LABELS.get(s, s)} for s in samplers],
        "pruners": [{"name": p, "label": PRUNER_LABELS.get(p, p)} for p in PRUNERS],
        "score_terms": [
            {**asdict(t), "title": by_key[t.metric]["title"], "direction": by_key[t.metric]["direction"]}
            for t in DEFAULT_TERMS
        ],
        "max_workers": max_workers,
        "default_workers": min(default_workers(), max_workers),
    }


@bp.get("/")
def start():
    return render_template("start.html", catalog=catalog(), page="start")


@bp.get("/jobs/<job_id>")
def job(job_id: str):
    """The page of one job; its address is shareable and the page rebuilds itself from the
    API on every load, so a reload mid-run picks up where the run is."""
    run = current_app.config["JOBS"].run(job_id)
    if run is None:
        return render_template("not_found.html", what=f"No run {job_id!r} on this server.", page="job"), 404
    return render_template("job.html", catalog=catalog(), job_id=job_id, dataset_id=_dataset_id(run), page="job")


def _dataset_id(run: RunDir) -> str | None:
    """The stored dataset a run read, for the price line under its trials' trades; None
    for a run that read a CSV by path. Job records name the data by file path only, and the
    store keeps each dataset as ``<sha256>.csv`` with the hash's first characters as its id,
    so the path's name leads to the entry, which must then name that very file."""
    data = Path(run.read_json(run.config_file)["data"])
    candidate = data.stem[:ID_LENGTH]
    try:
        return candidate if dataset_store().path(candidate) == data else None
    except UnknownDatasetError:
        return None


@bp.get("/runs")
def runs():
    return render_template("runs.html", catalog=catalog(), page="runs")
