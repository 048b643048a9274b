"""scripts/check_sizes.py (run by ``make lint``): modules over 500 lines, functions over 60 and routes over 30 are
each named with their size, migrations are skipped, and today's source tree has no offender."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_sizes.py"


def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_sizes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def function(name: str, body_lines: int, decorator: str = "", is_async: bool = False) -> str:
    """A function whose ``def`` line plus body is ``body_lines + 1`` lines long."""
    head = f"{decorator}\n" if decorator else ""
    keyword = "async def" if is_async else "def"
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return f"{head}{keyword} {name}():\n{body}"


@pytest.mark.parametrize(
    ("folder", "source", "found"),
    [
        ("vigil/analysis", function("ok", 59), []),
        ("vigil/analysis", function("long", 60), ["function long is 61 lines (limit 60)"]),
        ("vigil/analysis", function("along", 60, is_async=True), ["function along is 61 lines (limit 60)"]),
        ("vigil/web/pages", function("page", 29, '@router.get("/x")'), []),
        ("vigil/web/pages", function("page", 30, '@router.get("/x")'), ["route page is 31 lines (limit 30)"]),
        (
            "vigil/web/api",
            function("api", 30, '@router.post("/x", status_code=1)'),
            ["route api is 31 lines (limit 30)"],
        ),
        ("vigil/web/pages", function("helper", 40), []),
        ("vigil/search", function("not_a_route", 40, '@router.get("/x")'), []),
        ("vigil/db/migrations/versions", function("upgrade", 200), []),
        ("vigil/search", "x = 1\n" * 501, ["module example is 501 lines (limit 500)"]),
        ("vigil/search", "x = 1\n" * 500, []),
        ("vigil/db/migrations/versions", "x = 1\n" * 900, []),
    ],
    ids=[
        "function-60",
        "function-61",
        "async-61",
        "route-30",
        "route-31",
        "api-route-31",
        "undecorated-in-pages",
        "route-outside-web",
        "migration-function",
        "module-501",
        "module-500",
        "migration-module",
    ],
)
def test_offenders_are_named_with_their_size(tmp_path: Path, folder: str, source: str, found: list[str]) -> None:
    target = tmp_path / folder / "example.py"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    problems = [str(offender) for offender in checker().offenders(tmp_path)]
    assert [p.split(": ", 1)[1] for p in problems] == found
    assert all(p.startswith(f"{target}:") for p in problems)


def test_main_exits_1_and_lists_each_offender(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text(function("one", 61) + function("two", 70))
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "function one is 62 lines" in result.stdout
    assert "function two is 71 lines" in result.stdout
    assert "2 size offender(s)" in result.stdout


def test_source_tree_keeps_the_limits() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(ROOT / "src")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
