#!/usr/bin/env bash
# The image's install, start and health-check steps, kept here rather than in the Dockerfile
# so that CI, which has no Docker engine, runs the very same commands (`smoke`) and an image
# recipe that no longer works fails the build instead of the next deployment.
#
#   install VENV   create the virtual environment VENV with requirements.txt, the runtime only:
#                  no pytest, no browser driver                                (Dockerfile RUN)
#   start          gunicorn -c gunicorn.conf.py wsgi:app, from the python on PATH (Dockerfile CMD)
#   health [PATH]  exit 0 when the local server answers PATH (default /healthz) on $PORT with
#                  2xx, by Python's urllib: the slim image has no curl   (Dockerfile HEALTHCHECK)
#   smoke          install into a temporary folder, start as the image does on a free loopback
#                  port, check /healthz and /readyz, stop and clean up (CI). The server gets
#                  SMOKE_TIMEOUT_S (120) seconds to come up.
set -euo pipefail
cd "$(dirname "$0")/.."

install() {
  "${PYTHON:-python3}" -m venv "$1"
  "$1/bin/python" -m pip install --quiet --no-cache-dir -r requirements.txt
}

start() {
  # exec: gunicorn becomes PID 1 in the container, receives `docker stop`'s SIGTERM, and
  # reaps orphaned job processes (gunicorn 27 reaps every child, not only its workers).
  exec python -m gunicorn -c gunicorn.conf.py wsgi:app
}

health() {
  # No proxy: a proxy set in the environment must not answer for this machine's port.
  python -c 'import os, sys, urllib.request as u; u.build_opener(u.ProxyHandler({})).open(
"http://127.0.0.1:%s%s" % (os.environ.get("PORT", "8000"), sys.argv[1]), timeout=5)' "${1:-/healthz}"
}

smoke() {
  local deadline
  work=$(mktemp -d) server=""
  trap smoke_cleanup EXIT
  trap 'exit 143' TERM INT  # so that a timeout or Ctrl-C still cleans up
  install "$work/venv"
  # As the Dockerfile's ENV, with the folders in $work and the server on loopback only.
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export PATH="$work/venv/bin:$PATH" PORT BACKTUNE_BIND="127.0.0.1:$PORT" BACKTUNE_HOME="$work/data" \
    BACKTUNE_JOURNAL_DIR="$work/data/journals" NUMBA_CACHE_DIR="$work/numba-cache" PYTHONUNBUFFERED=1
  # setsid: gunicorn and its workers in a process group of their own, stopped together.
  setsid bash scripts/container.sh start >"$work/server.log" 2>&1 &
  server=$!
  deadline=$((SECONDS + ${SMOKE_TIMEOUT_S:-120}))
  until health /healthz 2>/dev/null; do
    if ! kill -0 "$server" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "smoke: the server exited or did not answer /healthz within ${SMOKE_TIMEOUT_S:-120} s; its log:" >&2
      cat "$work/server.log" >&2
      return 1
    fi
    sleep 1
  done
  if ! health /readyz; then
    echo "smoke: /readyz failed; the server's log:" >&2
    cat "$work/server.log" >&2
    return 1
  fi
  echo "smoke: installed into a fresh venv, gunicorn answered /healthz and /readyz on port $PORT"
}

smoke_cleanup() {
  if [ -n "$server" ] && kill -TERM -- "-$server" 2>/dev/null; then
    for _ in $(seq 30); do
      kill -0 "$server" 2>/dev/null || break
      sleep 1
    done
    kill -KILL -- "-$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}

case "${1:-}" in
  install) install "${2:?usage: container.sh install VENV}" ;;
  start) start ;;
  health) health "${2:-/healthz}" ;;
  smoke) smoke ;;
  *)
    echo "usage: $0 install VENV | start | health [PATH] | smoke" >&2
    exit 2
    ;;
esac
