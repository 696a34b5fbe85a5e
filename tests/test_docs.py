"""docs/architecture.md's tree describes the folders as they are."""

from __future__ import annotations

import re

from tests.conftest import ROOT

ARCHITECTURE = ROOT / "docs" / "architecture.md"


def tree_paths(markdown: str) -> list[str]:
    """The paths of the first code block, by indentation (two spaces a level): ``data/``
    under ``backtune/`` is ``backtune/data``. The first word of a line is its path."""
    block = markdown.split("```\n", 2)[1]
    parents: list[str] = []
    paths = []
    for line in block.splitlines():
        indent, name = re.match(r"( *)(\S+)", line).groups()
        depth = len(indent) // 2
        parents = parents[:depth]
        path = "/".join([*parents, name.rstrip("/")])
        paths.append(path)
        if name.endswith("/"):
            parents.append(name.rstrip("/"))
    return paths


def test_the_tree_is_read_by_indentation():
    block = "```\na/      x\n  b/    y\n    c.py  z\n  d.py  w\ne/\n```\n"
    assert tree_paths(block) == ["a", "a/b", "a/b/c.py", "a/d.py", "e"]


def test_every_path_in_the_architecture_tree_exists():
    missing = [path for path in tree_paths(ARCHITECTURE.read_text(encoding="utf-8")) if not (ROOT / path).exists()]
    assert missing == []


def test_every_package_folder_of_the_core_and_the_app_is_in_the_tree():
    listed = set(tree_paths(ARCHITECTURE.read_text(encoding="utf-8")))
    packages = [
        str(folder.parent.relative_to(ROOT))
        for top in ("backtune", "app")
        for folder in sorted((ROOT / top).glob("*/__init__.py"))
    ]
    assert packages and [p for p in packages if p not in listed] == []
