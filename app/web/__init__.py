"""The Flask web layer: a JSON API over the core, the UI pages and the embedded dashboard."""
