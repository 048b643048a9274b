"""User accounts and training records (administrators manage accounts; supervisors record training)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import Response

from vigil.db.base import utcnow
from vigil.governance.roles import Capability, Role
from vigil.governance.training import record_training, training_roster
from vigil.governance.users import create_user, set_active
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.forms import outcome, required_date, text
from vigil.web.rendering import capability_label, render

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]


@router.get("/users")
def users_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    roster = training_roster(db, actor=user)
    return render(
        request,
        "users.html",
        user=user,
        section="users",
        roster=roster,
        roles=list(Role),
        capabilities=list(Capability),
        now=utcnow(),
        today=utcnow().date(),
    )


@router.post("/users")
def user_add(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    username: Field = "",
    display_name: Field = "",
    role: Field = "",
    password: Field = "",
) -> Response:
    def act() -> None:
        create_user(
            db,
            actor=user,
            username=text(username, label="Username", max_chars=64),
            display_name=text(display_name, label="Name", max_chars=200),
            role=role,
            password=password,
        )

    return outcome(
        request,
        db,
        act,
        done=f"User {username.strip().lower()} added; they must change the initial password at first login.",
        back="/users",
    )


@router.post("/users/{username}/active")
def user_set_active(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    username: Annotated[str, Path(max_length=64)],
    active: Field = "",
) -> Response:
    enable = active == "true"
    done = f"User {username} {'enabled' if enable else 'disabled'}."
    return outcome(
        request, db, lambda: set_active(db, actor=user, username=username, active=enable), done=done, back="/users"
    )


@router.post("/training")
def training_add(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    username: Field = "",
    capability: Field = "",
    course: Field = "",
    completed_on: Field = "",
    expires_on: Field = "",
) -> Response:
    def act() -> None:
        record_training(
            db,
            actor=user,
            username=username,
            capability=capability,
            course=text(course, label="Course", max_chars=200),
            completed_on=required_date(completed_on, label="Completion date"),
            expires_on=required_date(expires_on, label="Expiry date"),
        )

    done = f"Training in {capability_label(capability).lower()} recorded for {username}."
    return outcome(request, db, act, done=done, back="/users")
