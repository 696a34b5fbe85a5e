"""gunicorn settings for Backtune: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Anything here can be overridden without editing the file: ``WEB_CONCURRENCY`` sets the
worker count and ``GUNICORN_CMD_ARGS`` (e.g. ``"--worker-connections 2000"``) any other setting.
"""

import os
import sys
from pathlib import Path

# gunicorn reads this file before it puts the working directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.settings import Settings  # noqa: E402  (only dataclasses and os: no Flask here)

settings = Settings.from_env()

bind = os.environ.get("BACKTUNE_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# The CPUs belong to the optimisation workers (each job's coordinator spawns its own
# processes); web requests only read small JSON files and SQLite copies. Two processes
# keep the site up while one is being replaced.
#
# gevent rather than threads: each connection is a greenlet, so a client that holds its
# connection open without finishing its request (a slowloris sending one header line every
# few seconds, or a slow upload) costs a greenlet, not one of a handful of threads, and
# the long waits (``POST /api/optimize?wait=true``, up to BACKTUNE_WAIT_LIMIT_S, and
# ``DELETE`` while a job stops) sleep without holding anything. Under gthread, 20 slow
# clients or 16 long waits took every thread and /healthz stopped answering.
# ``worker_connections`` bounds the connections each process holds at once.
workers = int(os.environ.get("WEB_CONCURRENCY", 2))
worker_class = "gevent"
worker_connections = 1000

# gevent workers heartbeat from a greenlet, so a long wait alone never trips the timeout;
# it still has to cover a sync worker (if someone switches class) holding a ?wait=true
# request for the whole wait limit, a CPU-bound request (which holds its process's loop),
# and a worker's boot, which includes salvaging interrupted jobs (dumping their studies)
# before it serves anything.
timeout = int(settings.wait_limit_s) + 60
# On SIGTERM, in-flight requests get this long; a long-poll cut short just polls again.
graceful_timeout = 20
keepalive = 5

# preload_app stays False: each worker builds its own app after the fork, so no SQLite
# connection, thread or lock of the dashboard's runs storage is shared across a fork, and
# a HUP reload picks up new code. That means create_app, and with it start-up recovery,
# runs once per worker (and again whenever a worker is replaced). That is safe: recovery
# holds the job store's file lock, and only touches jobs marked running whose coordinator
# process is gone; the first worker salvages them, the others then find nothing to do,
# and jobs whose coordinators are alive (they run in their own sessions and outlive any
# web worker) are left alone. The price is memory: every worker imports the stack itself.
preload_app = False

accesslog = "-"
errorlog = "-"

# The heartbeat file on tmpfs: on an overlay file system (Docker) fchmod can stall.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None

# gunicorn 25+ opens a control socket for gunicornc, by default one path per user
# (~/.gunicorn/gunicorn.ctl) that a second server of the same user would take over and
# then delete on exit. One per Backtune home, like everything else a server owns.
control_socket = str(settings.home / "gunicorn.ctl")
