"""Property-based fuzzing of the JSON API from its own OpenAPI schema: no input may cause a 5xx.

Each operation gets a bounded number of schema-valid (positive) and schema-violating (negative)
requests, sent with a trained supervisor's bearer token. (schemathesis' ``from_fixture`` loader does not
run under pytest 9, so the operations are driven through their Hypothesis strategies directly.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.builders import make_user
from tests.support.webapp import seed
from vigil.governance.roles import Capability
from vigil.governance.users import issue_token
from vigil.web.app import create_app

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    app = create_app(make_settings(Path(tmp_path_factory.mktemp("fuzz")) / "data"))

    def supervisor_token(db: Session) -> str:
        user = make_user(db, "sup", "supervisor", trained_for=tuple(c.value for c in Capability))
        make_user(db, "ivy", "investigator")
        return issue_token(db, user=user, name="fuzz")

    yield app, seed(app, supervisor_token)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_never_answers_with_a_server_error(fuzzed_app: tuple[FastAPI, str], mode: GenerationMode) -> None:
    app, token = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    statuses: list[tuple[str, int]] = []
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 14
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy(generation_mode=mode, headers=auth))
        def check(case: Any) -> None:
            statuses.append((case.operation.label, case.call_and_validate(checks=[not_a_server_error]).status_code))

        try:
            check()
        except Unsatisfiable:  # nothing to get wrong (no parameters or body): no negative cases exist
            assert mode is GenerationMode.NEGATIVE
        except Exception as exc:  # report every failing operation, not only the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    # The token worked throughout (only the password exchange itself answers 401 to a wrong password).
    assert {label for label, status in statuses if status == 401} <= {"POST /api/v1/tokens"}
    if mode is GenerationMode.POSITIVE:
        assert {200, 201, 403, 422} <= {status for _, status in statuses}
