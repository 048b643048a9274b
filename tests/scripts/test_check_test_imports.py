"""scripts/check_test_imports.py (run by ``make lint``): a test module that imports another test module is caught,
in every import form, and today's tree has none."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_test_imports.py"


def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_test_imports", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from tests.web.test_api import bearer\n", ["tests.web.test_api"]),
        ("import tests.web.test_api\n", ["tests.web.test_api"]),
        ("from tests.web import test_api\n", ["tests.web.test_api"]),
        ("def f():\n    from tests.test_cli import run\n", ["tests.test_cli"]),
        ("from tests.support.api import bearer\nfrom tests.conftest import make_settings\n", []),
        ("from tests.web.conftest import client_for\nimport vigil.search.review.marks\n", []),
    ],
    ids=["from-import", "import", "from-package", "nested", "support", "conftest"],
)
def test_imports_of_test_modules_are_found(tmp_path: Path, source: str, found: list[str]) -> None:
    (tmp_path / "test_example.py").write_text(source)
    problems = checker().violations(tmp_path)
    assert [p.rsplit(" imports ", 1)[1] for p in problems] == found


def test_no_test_module_imports_another() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(ROOT / "tests")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
