"""User accounts and training records."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path

from vigil.db.base import utcnow
from vigil.db.models import TrainingRecord, User
from vigil.governance.accounts import change_role, reset_password
from vigil.governance.training import record_training, training_roster
from vigil.governance.users import create_user, set_active
from vigil.web.api.access import ERRORS, ApiUser, Responses
from vigil.web.api.schemas import (
    NewPasswordReply,
    NewUserReply,
    RoleRequest,
    Training,
    TrainingRequest,
    UserReply,
    UserRequest,
)
from vigil.web.deps import DbSession

router = APIRouter(prefix="/users", tags=["users"], responses=ERRORS)

Username = Annotated[str, Path(max_length=64, description="Login name of the account.")]
CONFLICT: Responses = {409: {"description": "Username taken"}}
NOT_FOUND: Responses = {404: {"description": "No such user"}}


def training_reply(record: TrainingRecord, today: date) -> Training:
    return Training(
        capability=record.capability,
        course=record.course,
        completed_on=record.completed_on,
        expires_on=record.expires_on,
        id=record.id,
        current=record.is_current(today),
        withdrawn=record.withdrawn_at is not None,
    )


def user_reply(user: User) -> UserReply:
    today = utcnow().date()
    return UserReply(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        is_active=user.is_active,
        must_change_password=user.must_change_password,
        locked_until=user.locked_until,
        training=[training_reply(t, today) for t in user.training],
    )


@router.get("", response_model=list[UserReply])
def users_list(db: DbSession, user: ApiUser) -> list[UserReply]:
    """Every account with its training records (supervisors and administrators)."""
    return [user_reply(account) for account in training_roster(db, actor=user)]


@router.post("", status_code=201, response_model=NewUserReply, responses=CONFLICT)
def user_create(db: DbSession, user: ApiUser, body: UserRequest) -> NewUserReply:
    """Add an account (administrators) with a generated one-time password, returned only in this reply.

    No password may be chosen for another person; the user must replace it at first login, and training
    must be recorded by someone other than the account's creator."""
    account, password = create_user(
        db, actor=user, username=body.username, display_name=body.display_name, role=body.role.value
    )
    return NewUserReply(**user_reply(account).model_dump(), one_time_password=password)


@router.post("/{username}/password-reset", response_model=NewPasswordReply, responses=NOT_FOUND)
def user_password_reset(db: DbSession, user: ApiUser, username: Username) -> NewPasswordReply:
    """Give a user a new one-time password (administrators); their sessions end and API tokens are revoked."""
    password = reset_password(db, actor=user, username=username)
    return NewPasswordReply(username=username.strip().lower(), one_time_password=password)


@router.post("/{username}/role", response_model=UserReply, responses=NOT_FOUND)
def user_role(db: DbSession, user: ApiUser, username: Username, body: RoleRequest) -> UserReply:
    """Change a user's role (administrators; audited with the old and new role)."""
    return user_reply(change_role(db, actor=user, username=username, role=body.role.value))


@router.post("/{username}/disable", response_model=UserReply, responses=NOT_FOUND)
def user_disable(db: DbSession, user: ApiUser, username: Username) -> UserReply:
    """Disable an account and revoke its API tokens (administrators)."""
    return user_reply(set_active(db, actor=user, username=username, active=False))


@router.post("/{username}/enable", response_model=UserReply, responses=NOT_FOUND)
def user_enable(db: DbSession, user: ApiUser, username: Username) -> UserReply:
    """Enable a disabled account (administrators)."""
    return user_reply(set_active(db, actor=user, username=username, active=True))


@router.post("/{username}/training", status_code=201, response_model=Training, responses=NOT_FOUND)
def training_add(db: DbSession, user: ApiUser, username: Username, body: TrainingRequest) -> Training:
    """Record a completed training course for a user (supervisors and administrators, not for oneself)."""
    record = record_training(
        db,
        actor=user,
        username=username,
        capability=body.capability.value,
        course=body.course,
        completed_on=body.completed_on,
        expires_on=body.expires_on,
    )
    return training_reply(record, utcnow().date())
