"""Fail when code outgrows the sizes we keep: modules, functions and web routes (issue 11, "Done when").

Limits: no module over 500 lines, no function over 60 lines, no route (a function decorated with
``router.get/post/put/patch/delete/...`` in ``src/vigil/web/pages`` or ``src/vigil/web/api``) over 30 lines.
Alembic migrations are excluded. A function's length runs from its ``def`` line to its last line (decorators
not counted).
Run by ``make lint``; exits 1 and prints one line per offender as ``path:line: kind name is N lines (limit L)``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

MODULE_LIMIT = 500
FUNCTION_LIMIT = 60
ROUTE_LIMIT = 30
ROUTE_DIRS = ("web/pages", "web/api")
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "api_route", "websocket"})
EXCLUDED_DIRS = ("migrations",)


@dataclass(frozen=True)
class Offender:
    path: Path
    line: int
    kind: str
    name: str
    length: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.name} is {self.length} lines (limit {self.limit})"


def is_route(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(call, ast.Attribute) and call.attr in ROUTE_METHODS:
            return True
    return False


def in_route_dir(path: Path) -> bool:
    posix = path.as_posix()
    return any(f"/{folder}/" in f"/{posix}" for folder in ROUTE_DIRS)


def function_offenders(path: Path, tree: ast.AST) -> list[Offender]:
    found = []
    routes_here = in_route_dir(path)
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if routes_here and is_route(node):
            kind, limit = "route", ROUTE_LIMIT
        else:
            kind, limit = "function", FUNCTION_LIMIT
        if length > limit:
            found.append(Offender(path, node.lineno, kind, node.name, length, limit))
    return found


def offenders(root: Path) -> list[Offender]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if any(part in EXCLUDED_DIRS for part in path.parts):
            continue
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MODULE_LIMIT:
            found.append(Offender(path, 1, "module", path.stem, lines, MODULE_LIMIT))
        found.extend(function_offenders(path, ast.parse(text, filename=str(path))))
    return found


def main(argv: list[str]) -> int:
    roots = [Path(arg) for arg in argv[1:]] or [Path("src")]
    found = [offender for root in roots for offender in offenders(root)]
    for offender in found:
        print(offender)
    if found:
        print(f"{len(found)} size offender(s): split the module or extract helpers (routes: move work to a service)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
