"""Sample datasets a newcomer can run at once: the CSVs bundled with backtesting.py.

They are found through the installed package's location rather than copied, and only
when the package is present (it is a test dependency, not a runtime one).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    name: str
    description: str
    path: Path


DESCRIPTIONS = {
    "GOOG": "NASDAQ:GOOG daily bars, 2004-2013",
    "EURUSD": "EUR/USD hourly bars, April 2017 - February 2018",
    "BTCUSD": "BTC/USD monthly bars, 2012-2024",
}


def available_samples() -> dict[str, Sample]:
    """The samples whose files exist on this machine, by name."""
    spec = importlib.util.find_spec("backtesting")
    if spec is None or spec.origin is None:
        return {}
    folder = Path(spec.origin).parent / "test"
    return {
        name: Sample(name, description, folder / f"{name}.csv")
        for name, description in DESCRIPTIONS.items()
        if (folder / f"{name}.csv").is_file()
    }
