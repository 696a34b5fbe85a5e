"""No response names a folder of the server: paths are shown relative to the folder they are in.

A job's record holds the path of the file it read (``config.data``), its summary the run
directory, its CSV export a ``data`` row, and an error may quote a path; each would tell a
client where the server keeps its files (and the user name in a home folder). Rather than
trusting every writer of those records to remember, one hook rewrites the answer: each of
the server's own folders (home, data, runs, CSV roots, live journals, the code) is cut from
the front of every path in the body, longest first, so ``/srv/backtune/data/datasets/ab.csv``
becomes ``datasets/ab.csv``. Files sent from disk (static assets) pass untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

from app.settings import Settings
from backtune.optimize.run import journal_dir

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def server_folders(settings: Settings) -> list[str]:
    """The folders to hide, longest first so that a folder inside another is cut whole."""
    folders = {settings.home, settings.data_dir, settings.runs_dir, *settings.csv_roots, PROJECT_ROOT}
    journals = journal_dir()
    if journals is not None:
        folders.add(journals)
    spelled = {str(f) for f in folders} | {os.path.realpath(f) for f in folders}
    return sorted((f for f in spelled if f != "/"), key=len, reverse=True)


def hide_server_paths(app: Flask) -> None:
    folders = [(f + "/").encode() for f in server_folders(app.config["SETTINGS"])]

    @app.after_request
    def relative_paths(response: Response) -> Response:
        if response.direct_passthrough or response.is_streamed:
            return response
        body = response.get_data()
        if any(folder in body for folder in folders):
            for folder in folders:
                body = body.replace(folder, b"")
            response.set_data(body)
        return response
