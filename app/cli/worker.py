"""``worker``: join a job running on a Backtune server from this machine (docs/scale-out.md)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from app.cli.errors import CliError


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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from app.settings import Settings
    from backtune.remote.agent import Agent
    from backtune.remote.client import RemoteError, ServerClient

    if not 1 <= args.workers <= 32:
        raise CliError(f"--workers: expected a whole number from 1 to 32, got {args.workers}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    agent = Agent(ServerClient(args.server, args.token), Settings.from_env().home, args.workers)
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
