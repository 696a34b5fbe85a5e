"""Peak memory of a 2-worker execute_run vs a 1-worker one: coordinator plus its workers.

sma_cross on the LINK 15m file, random sampler, 1,000 trials. Each run happens in a fresh
interpreter started by this script, so the coordinator's peak is that run's alone.

Method (no psutil): the coordinator's peak resident set is the kernel's own record,
getrusage(RUSAGE_SELF).ru_maxrss; a 1-worker run's worker is a thread inside it. Spawned
workers (and the resource tracker that spawning starts) are sampled from /proc every
0.05 s while they live (see _common.ProcessTree): VmHWM, the kernel's peak resident set of
that process, and getrusage(RUSAGE_CHILDREN).ru_maxrss, the largest joined worker's exact
peak, checks the sampling. Two totals:

- sum of peak RSS: coordinator + every worker + resource tracker. File-backed pages shared
  by the processes (libraries, the memory-mapped bars, the journal's page cache) count once
  per process, and the peaks need not coincide: an upper bound.
- peak anonymous memory: the largest sum, over the samples, of each process's RssAnon
  (heap, Python objects, arrays: what each process allocated for itself, never shared
  between spawned processes). Unlike PSS, it does not depend on other users' processes
  mapping the same libraries.

Goal: none set; the script reports the ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import LINK_15M, ROOT, link_config, machine, timed_run

WORKER_MODULE = "backtune.optimize.worker"


def child(workers: int, trials: int) -> None:
    """One run in this (fresh) process; prints its figures as one JSON line."""
    from backtune.data.loader import load_csv

    bars = load_csv(LINK_15M).bars
    with tempfile.TemporaryDirectory() as tmp:
        run = timed_run(link_config("sma_cross", workers=workers, sampler="random", trials=trials), bars, Path(tmp))
        bars_mb = sum(f.stat().st_size for f in Path(run.summary["run_dir"], "bars").iterdir()) / 2**20
    processes = run.tree.processes.values()
    print(
        json.dumps(
            {
                "coordinator": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "coordinator_anon": next(p.anon_mb for p in processes if p.kind == "coordinator"),
                "largest_joined": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "workers": [(p.peak_rss_mb, p.anon_mb) for p in processes if p.kind == "worker"],
                "tracker": sum(p.peak_rss_mb for p in processes if p.kind == "resource tracker"),
                "peak_anon": run.tree.peak_anon_mb(),
                "bars_mb": bars_mb,
            }
        )
    )


def measure(workers: int, trials: int) -> dict:
    command = [sys.executable, __file__, "--child", str(workers), "--trials", str(trials)]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def import_floor(module: str) -> tuple[float, float]:
    """Peak RSS and anonymous RSS (MB) of a fresh interpreter that only imports ``module``:
    what every spawned worker costs before its first trial."""
    code = (
        f"import resource, {module}; status = open('/proc/self/status').read(); "
        "anon = next(l for l in status.splitlines() if l.startswith('RssAnon:')).split()[1]; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, int(anon) / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    peak, anon = out.split()
    return float(peak), float(anon)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.trials)
        return

    runs = {workers: measure(workers, args.trials) for workers in (1, 2)}
    print(
        f"sma_cross on LINK 15m, random sampler, {args.trials:,} trials, each run in a fresh interpreter; {machine()}"
    )
    print(
        f"{'workers':>7} {'coordinator':>16} {'each worker':>28} {'largest (kernel)':>17} {'tracker':>8} "
        f"{'sum of peak RSS':>16} {'peak anonymous':>15}"
    )
    totals = {}
    for workers, r in runs.items():
        each = ", ".join(f"{rss:.0f} / {anon:.0f} MB" for rss, anon in r["workers"]) or "in-process"
        largest = f"{r['largest_joined']:.0f} MB" if r["workers"] else "-"
        totals[workers] = r["coordinator"] + sum(rss for rss, _ in r["workers"]) + r["tracker"]
        print(
            f"{workers:>7} {r['coordinator']:6.0f} / {r['coordinator_anon']:3.0f} MB {each:>28} {largest:>17} "
            f"{r['tracker']:5.0f} MB {totals[workers]:13.0f} MB {r['peak_anon']:12.0f} MB"
        )
    print("(coordinator and each worker: peak RSS / anonymous memory at its last sample)")
    peak, anon = import_floor(WORKER_MODULE)
    print(
        f"a fresh interpreter that imports {WORKER_MODULE}: {peak:.0f} MB peak RSS, {anon:.0f} MB anonymous; "
        f"the shared bars are {runs[1]['bars_mb']:.1f} MB of .npy"
    )
    added = runs[2]["peak_anon"] - runs[1]["peak_anon"]
    print(
        f"2 workers vs 1: {runs[2]['peak_anon'] / runs[1]['peak_anon']:.2f}x peak anonymous memory "
        f"(+{added:.0f} MB), {totals[2] / totals[1]:.2f}x sum of peak RSS (goal: report, none set)"
    )


if __name__ == "__main__":
    main()
