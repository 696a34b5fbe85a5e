"""The WSGI entry point for gunicorn (``gunicorn -c gunicorn.conf.py wsgi:app``).

Settings come from the environment (app/settings.py, docs/deployment.md); building the
app also marks jobs whose coordinator is gone as interrupted (see gunicorn.conf.py on
why every worker doing so is safe).
"""

from app import create_app

app = create_app()
