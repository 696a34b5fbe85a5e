import sys

from app.cli import main

# Guarded: spawned optimisation workers import the main module again.
if __name__ == "__main__":
    sys.exit(main())
