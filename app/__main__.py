"""``python -m app``: the command line (see ``app.cli``).

Spawned optimisation workers import the main module again before their own; importing
the CLI only under the guard keeps it (and pandas, SQLAlchemy, the dump) out of them.
"""

import sys


def main() -> int:
    """The ``backtune`` console script (pyproject.toml). The script pip generates imports
    this module at its top, which a spawned worker repeats: the CLI stays inside."""
    from app.cli import main as cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
