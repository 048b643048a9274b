"""Fail when a test module imports another test module (``tests/**/test_*.py``).

Shared helpers and fixtures belong in ``tests/support`` (or a ``conftest.py``), so each test module can be
moved, renamed or deleted without breaking another. Run by ``make lint``; exits 1 and lists each offending
import as ``path:line: imports module``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path


def is_test_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "tests" and any(part.startswith("test_") for part in parts[1:])


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if is_test_module(node.module):
                yield node.lineno, node.module
                continue
            for alias in node.names:  # ``from tests.web import test_api``
                yield node.lineno, f"{node.module}.{alias.name}"


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if is_test_module(module):
                found.append(f"{path}:{line}: imports {module}")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path("tests")
    found = violations(root)
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} import(s) of test modules: move shared helpers to tests/support or a conftest.py")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
