"""``serve``: the web app on Flask's development server, for working on the app itself.

Deployments run gunicorn instead (``gunicorn -c gunicorn.conf.py wsgi:app``, or
scripts/start.sh): several worker processes, an access log, graceful restarts. Settings
come from the same environment variables either way (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import os

from app import create_app


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="run the web app on the development server")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0 for every one)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)), help="default: $PORT or 8000")
    parser.add_argument("--debug", action="store_true", help="reload on code changes, show tracebacks in the browser")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Threaded: ?wait=true and DELETE hold a request open while other requests go on.
    create_app().run(host=args.host, port=args.port, debug=args.debug, threaded=True)
    return 0
