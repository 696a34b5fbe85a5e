"""The version of the rules that turn a file's bytes into bars and a summary.

Everything derived from a file and kept on disk records it (parse-cache entries in their
name, stored dataset entries in their metadata), so that changed parsing rules never
serve what the old rules made: a derived copy of another version is rebuilt from the raw
file. Bump it whenever parsing or summarising would read any file differently, or the
cache's layout changes.
"""

FORMAT_VERSION = 3
