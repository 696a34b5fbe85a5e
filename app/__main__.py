"""``python -m app``: the command line (see ``app.cli``).

Spawned optimisation workers import the main module again before their own; importing
the CLI only under the guard keeps it (and pandas, SQLAlchemy, the dump) out of them.
"""

import sys

if __name__ == "__main__":
    from app.cli import main

    sys.exit(main())
