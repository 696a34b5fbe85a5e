"""How much does an upload grow a web worker's memory, against parsing the file in memory?

The measured path: ``POST /api/datasets`` of an OKX-style 1-minute CSV (``--megabytes``,
50 by default) to Backtune under gunicorn as deployed (tests/live_server.py). The figure
is the largest rise of a web worker's peak resident set (VmHWM, reset just before through
/proc/<pid>/clear_refs) over its resident set before the upload.

The reference, measured in the same run: what the upload path did before issue 9, the
bytes read whole into memory and parsed from there (``load_csv_bytes``), in a fresh
interpreter whose peak resident set (VmHWM, reset first) is compared with its resident set
before.

Goal: the worker's growth below the file's size (issue 9, row 7).

Run from the project root: ``python benchmarks/bench_upload_memory.py [--megabytes 50]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, machine

from tests.live_server import LiveServer, csv_of_size, peak_growth

REFERENCE = """
import json, sys
from pathlib import Path
from backtune.data.loader import load_csv_bytes

def status(key):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key + ":"))
    return int(line.split()[1]) * 1024

Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (a child inherits its parent's peak)
before = status("VmRSS")
data = Path(sys.argv[1]).read_bytes()
rows = load_csv_bytes(data, "big.csv").summary.rows
print(json.dumps({"growth": status("VmHWM") - before, "rows": rows}))
"""


def reference_growth(path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", REFERENCE, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)["growth"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50.0, help="size of the uploaded file")
    args = parser.parse_args()

    print(machine())
    data = csv_of_size(args.megabytes)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as folder:
        path = Path(folder) / "big.csv"
        path.write_bytes(data)
        reference = reference_growth(path)
        limit = str(int(len(data) / 2**20) + 2)
        with LiveServer(Path(folder) / "home", BACKTUNE_MAX_UPLOAD_MB=limit) as server:
            server.get("/api/datasets")  # both workers have imported and registered the samples
            server.get("/api/datasets")
            growth, response = peak_growth(
                server, lambda: server.post_form("/api/datasets", {}, {"file": ("big.csv", data)}, timeout=600)
            )
    assert response.status == 201, response.body[:300]
    size, rows = len(data), response.json()["summary"]["rows"]
    print(f"file {size / 1e6:.1f} MB, {rows:,} rows")
    print(f"in-memory parse (reference): peak +{reference / 1e6:.0f} MB, {reference / size:.2f}x the file")
    print(
        f"upload to the web worker: peak +{growth / 1e6:.0f} MB, {growth / size:.2f}x the file, "
        f"{growth / reference:.2f}x the reference ({'OK' if growth < size else 'ABOVE GOAL'}: goal below the file)"
    )
    print(machine())


if __name__ == "__main__":
    main()
