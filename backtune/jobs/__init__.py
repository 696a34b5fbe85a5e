"""Background optimisation jobs: a queue on disk, coordinator processes, recovery.

A job is a run directory; its ``state.json`` is the single source of truth, so any web
worker process can answer for any job and a restart loses nothing.
"""
