# Backtune: the web app under gunicorn, jobs and datasets on the /data volume.
#
#   docker build -t backtune .
#   docker run -d --name backtune -p 8000:8000 -v backtune-data:/data backtune
#
# The steps live in scripts/container.sh, which CI runs too (`container.sh smoke`): what
# this file installs and starts is what CI installs, starts and checks. docs/deployment.md
# explains every setting.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=8000 \
    BACKTUNE_HOME=/data \
    NUMBA_CACHE_DIR=/var/cache/numba

# The live Optuna journal on the volume rather than in /dev/shm. Docker empties a
# container's /dev/shm (64 MB by default) on every restart, and a job whose journal is gone
# when the server comes back is marked interrupted with nothing to resume. On disk it
# survives, at the price of an fsync per journal write (about half the trials/s for the
# cheapest strategies, less for costly ones). For speed at the risk of losing a running job
# on restart: -e BACKTUNE_JOURNAL_DIR= --shm-size=1g (an empty value means tmpfs).
ENV BACKTUNE_JOURNAL_DIR=/data/journals

RUN useradd --system --create-home --home-dir /home/backtune --uid 10001 backtune \
    && mkdir -p /data /var/cache/numba \
    && chown backtune:backtune /data /var/cache/numba

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt (or the script) changes.
COPY requirements.txt ./
COPY scripts/container.sh scripts/
RUN bash scripts/container.sh install /opt/venv

# The code stays root-owned and read-only to the user that runs it; numba compiles into
# NUMBA_CACHE_DIR because it cannot write beside the sources.
COPY . .

USER backtune
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["bash", "scripts/container.sh", "health"]
CMD ["bash", "scripts/container.sh", "start"]
