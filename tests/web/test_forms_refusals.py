"""web/forms.py's error-to-response helpers: a refused form re-rendered in place never keeps the work done before
the refusal (rendering a page commits the request's session, so the rollback must come first); a script's refusal
is JSON with the error's status; errors the helper does not catch go on to the error page."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from vigil.errors import InvalidInput, NotFound, VigilError
from vigil.web.deps import UNIT_OF_WORK
from vigil.web.errors import ShownInline
from vigil.web.forms import refusal_as_json, refusal_shown_on


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(text("CREATE TABLE marks (note TEXT)"))
        session.commit()
        yield session
    engine.dispose()


def request_with(db: Session) -> Request:
    return Request({"type": "http", "method": "POST", "path": "/form", "headers": [], UNIT_OF_WORK: db})


def marks(db: Session) -> int:
    return int(db.execute(text("SELECT count(*) FROM marks")).scalar_one())


def test_a_refusal_shown_in_place_rolls_back_before_the_page_renders(db: Session) -> None:
    def page(exc: VigilError) -> Response:
        db.commit()  # what rendering does (commit_before_rendering): it must find nothing left to commit
        return HTMLResponse(f"<p class=error>{exc.message}</p>", status_code=422)

    with pytest.raises(ShownInline) as shown, refusal_shown_on(request_with(db), page):
        db.execute(text("INSERT INTO marks VALUES ('half-written')"))
        raise InvalidInput("the window ends before it starts")
    assert shown.value.response.status_code == 422
    assert b"the window ends before it starts" in bytes(shown.value.response.body)
    assert marks(db) == 0


def test_errors_outside_catching_go_on_to_the_error_page(db: Session) -> None:
    def page(exc: VigilError) -> Response:
        raise AssertionError("not shown in place")

    with pytest.raises(NotFound), refusal_shown_on(request_with(db), page, catching=(InvalidInput,)):
        raise NotFound("no such registration")


@pytest.mark.parametrize(("error", "status"), [(InvalidInput("bad chunk"), 422), (NotFound("no such link"), 404)])
def test_a_scripts_refusal_is_json_with_the_errors_status(error: VigilError, status: int) -> None:
    with pytest.raises(ShownInline) as shown, refusal_as_json():
        raise error
    assert shown.value.response.status_code == status
    assert json.loads(bytes(shown.value.response.body)) == {"detail": error.message}
