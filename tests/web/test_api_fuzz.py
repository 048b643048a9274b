"""Property-based fuzzing of the whole JSON API from its own OpenAPI schema: no input may cause a 5xx, and every
answer conforms to the schema the API publishes.

Each operation gets a bounded number of schema-valid (positive) and schema-violating (negative) requests, sent
with a trained supervisor's bearer token against a seeded database (a case the supervisor works on, analysed
footage with tracks, a confirmed mark). Positive requests to the capability operations state that case and a
purpose, so they reach the services' real work rather than stopping at the case check. (schemathesis'
``from_fixture`` loader does not run under pytest 9, so the operations are driven through their Hypothesis
strategies directly.)
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
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.result import Ok
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.analysed import analysed_footage
from tests.support.builders import make_user
from tests.support.webapp import seed
from vigil.db.models import Track
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability
from vigil.governance.users import issue_token
from vigil.search.review.marks import mark_track
from vigil.web.app import create_app

EXAMPLES_PER_OPERATION = 12
CASE, PURPOSE = "FUZ-2026-000001", "fuzzing every operation of the API with a stated purpose"


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    app = create_app(make_settings(Path(tmp_path_factory.mktemp("fuzz")) / "data"))
    data = app.state.system.settings

    def supervisor_token(db: Session) -> str:
        user = make_user(db, "sup", "supervisor", trained_for=tuple(c.value for c in Capability), cases=(CASE,))
        make_user(db, "ivy", "investigator")
        footage = analysed_footage(db, data, user=user)
        first = db.execute(select(Track.id).where(Track.footage_id == footage.id).order_by(Track.id)).scalars().first()
        assert first is not None
        mark_track(db=db, user=user, context=AuditContext(CASE, PURPOSE), track_id=first, verdict="confirmed", note="")
        return issue_token(db, user=user, name="fuzz")

    yield app, seed(app, supervisor_token)


def strategy(operation: Any, mode: GenerationMode, auth: dict[str, str]) -> Any:
    """Requests for one operation; positive ones to a capability operation are made for the seeded case."""
    names = {parameter.name for parameter in operation.query}
    if mode is GenerationMode.POSITIVE and {"case", "purpose"} <= names:
        return operation.as_strategy(generation_mode=mode, headers=auth, query={"case": CASE, "purpose": PURPOSE})
    return operation.as_strategy(generation_mode=mode, headers=auth)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_api_never_answers_with_a_server_error_and_keeps_to_its_schema(
    fuzzed_app: tuple[FastAPI, str], mode: GenerationMode
) -> None:
    app, token = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    statuses: list[tuple[str, int]] = []
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 60
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=strategy(operation, mode, auth))
        def check(case: Any) -> None:
            reply = case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
            statuses.append((case.operation.label, reply.status_code))

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
        reached = {label for label, status in statuses if status < 300}
        for label in ("POST /api/v1/search", "GET /api/v1/tracks/{track_id}/review", "GET /api/v1/exports"):
            assert label in reached, f"{label} never answered 2xx: the fuzzing did not reach its service"
