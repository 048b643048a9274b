"""User accounts and training records (administrators manage accounts; supervisors record training)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import Response

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.governance.accounts import change_role, reset_password, set_email
from vigil.governance.roles import Capability, Role
from vigil.governance.training import record_training, training_roster, withdraw_training
from vigil.governance.users import create_user, set_active
from vigil.web.auth import CurrentUser
from vigil.web.deps import DbSession
from vigil.web.forms import outcome, refusal_goes_to, required_date, text
from vigil.web.rendering import capability_label, render

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=4000)]
Username = Annotated[str, Path(max_length=64)]
NO_STORE = {"Cache-Control": "no-store"}


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


def _one_time_password(request: Request, user: User, *, username: str, password: str, why: str) -> Response:
    """The generated password, shown on this one response only (never stored in a flash or cookie)."""
    return render(
        request,
        "one_time_password.html",
        user=user,
        section="users",
        username=username,
        password=password,
        why=why,
        headers=NO_STORE,
    )


@router.post("/users")
def user_add(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    username: Field = "",
    display_name: Field = "",
    role: Field = "",
) -> Response:
    with refusal_goes_to(request, "/users"):
        account, password = create_user(
            db,
            actor=user,
            username=text(username, label="Username", max_chars=64),
            display_name=text(display_name, label="Name", max_chars=200),
            role=role,
        )
    why = f"User {account.username} added ({account.role})."
    return _one_time_password(request, user, username=account.username, password=password, why=why)


@router.post("/users/{username}/password-reset")
def user_password_reset(request: Request, db: DbSession, user: CurrentUser, username: Username) -> Response:
    with refusal_goes_to(request, "/users"):
        password = reset_password(db, actor=user, username=username)
    why = f"Password of {username} reset: their sessions have ended and their API tokens are revoked."
    return _one_time_password(request, user, username=username, password=password, why=why)


@router.post("/users/{username}/role")
def user_role(request: Request, db: DbSession, user: CurrentUser, username: Username, role: Field = "") -> Response:
    done = f"User {username} is now {role.strip().lower()}."
    return outcome(request, lambda: change_role(db, actor=user, username=username, role=role), done=done, back="/users")


@router.post("/users/{username}/email")
def user_email(request: Request, db: DbSession, user: CurrentUser, username: Username, email: Field = "") -> Response:
    done = f"Email of {username} set to {email.strip() or '(none)'}."
    return outcome(request, lambda: set_email(db, actor=user, username=username, email=email), done=done, back="/users")


@router.post("/users/{username}/active")
def user_set_active(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    username: Username,
    active: Field = "",
) -> Response:
    enable = active == "true"
    done = f"User {username} {'re-activated' if enable else 'retired: their sessions have ended'}."
    return outcome(
        request, lambda: set_active(db, actor=user, username=username, active=enable), done=done, back="/users"
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
    return outcome(request, act, done=done, back="/users")


@router.post("/training/{record_id}/withdraw")
def training_withdraw(
    request: Request,
    db: DbSession,
    user: CurrentUser,
    record_id: Annotated[int, Path(ge=1, le=2**31)],
    reason: Field = "",
) -> Response:
    def act() -> None:
        withdraw_training(db, actor=user, record_id=record_id, reason=text(reason, label="Reason", max_chars=500))

    return outcome(request, act, done="Training record withdrawn; it no longer unlocks its capability.", back="/users")
