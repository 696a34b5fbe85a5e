"""``worker``: join a job running on a Backtune server from this machine (docs/scale-out.md)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from app.cli.errors import CliError
from backtune.optimize.reconnect import RECONNECT_LIMIT_S


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("worker", help="run trials of a server's job on this machine")
    parser.add_argument("--server", required=True, help="the server's base URL, e.g. http://backtune:8000")
    parser.add_argument(
        "--token",
        default=os.environ.get("BACKTUNE_API_TOKEN"),
        help="the server's API token (default: $BACKTUNE_API_TOKEN)",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--job", help="the job id to join; the worker leaves when the job ends")
    which.add_argument("--any", action="store_true", help="serve every job that runs, waiting for the next")
    parser.add_argument("--workers", type=int, default=1, help="worker processes on this machine (1-32)")
    parser.add_argument(
        "--database-url",
        help="the job's database as this machine reaches it, e.g. postgresql+psycopg://user:password@localhost:6432/db "
        "through a tunnel (default: the URL in the job's plan)",
    )
    parser.add_argument(
        "--reconnect-limit",
        type=float,
        default=RECONNECT_LIMIT_S,
        metavar="SECONDS",
        help=f"how long a worker that lost the database keeps trying to reach it before it gives up "
        f"(default {RECONNECT_LIMIT_S:.0f})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from backtune.optimize.storage_url import parse_storage
    from backtune.remote.agent import Agent
    from backtune.remote.client import RemoteError, ServerClient

    if not 1 <= args.workers <= 32:
        raise CliError(f"--workers: expected a whole number from 1 to 32, got {args.workers}")
    if not args.reconnect_limit > 0:
        raise CliError(f"--reconnect-limit: expected a number of seconds > 0, got {args.reconnect_limit:g}")
    if args.database_url is not None and not parse_storage(args.database_url, "--database-url").is_database:
        raise CliError(
            f"--database-url: expected a database URL such as postgresql+psycopg://user:password@host:5432/db, "
            f"got {args.database_url!r}"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    agent = Agent(
        ServerClient(args.server, args.token),
        Settings.from_env().home,
        args.workers,
        database_url=args.database_url,
        reconnect_limit=args.reconnect_limit,
    )
    try:
        if args.any:
            agent.serve_any()
        else:
            agent.serve_job(args.job)
    except RemoteError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt:
        return 130
    return 0
