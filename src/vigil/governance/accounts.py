"""Administrators' changes to existing accounts: password reset, role change and email address, each audited.

Account creation, login and API tokens live in :mod:`vigil.governance.users`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import User
from vigil.errors import InvalidInput
from vigil.governance import audit
from vigil.governance.access import require_permission
from vigil.governance.mail import is_email_address
from vigil.governance.roles import Permission
from vigil.governance.users import end_access, generate_password, get_user, hash_password, parse_role


def reset_password(db: Session, *, actor: User, username: str) -> str:
    """Give ``username`` a new one-time password (returned once), ending their sessions and API tokens.

    The user must choose a new password at their next login; the old password stops working at once.
    """
    require_permission(db, user=actor, permission=Permission.MANAGE_USERS, action="user.password_reset")
    user = get_user(db, username)
    if user.id == actor.id:
        raise InvalidInput("change your own password on the Password page, not by a reset")
    password = generate_password(username=user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    user.failed_logins, user.locked_until = 0, None
    end_access(db, user=user, reason="password reset", actor=actor.username)
    audit.record(
        db,
        actor=actor.username,
        action="user.password_reset",
        subject_type="user",
        subject_id=user.username,
        details={"sessions_ended": True, "tokens_revoked": True},
    )
    return password


def change_role(db: Session, *, actor: User, username: str, role: str) -> User:
    """Give ``username`` another role (audited with the old and new role); not one's own."""
    require_permission(db, user=actor, permission=Permission.MANAGE_USERS, action="user.role")
    user = get_user(db, username)
    new = parse_role(role).value
    if user.id == actor.id:
        raise InvalidInput("you cannot change your own role; ask another administrator")
    if new == user.role:
        raise InvalidInput(f"{user.username} already has the role {new}")
    old, user.role = user.role, new
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="user.role",
        subject_type="user",
        subject_id=user.username,
        details={"old": old, "new": new},
    )
    return user


def set_email(db: Session, *, actor: User, username: str, email: str) -> User:
    """Give ``username`` the address vigil's notices go to (empty: none); audited with the change."""
    require_permission(db, user=actor, permission=Permission.MANAGE_USERS, action="user.email")
    user = get_user(db, username)
    email = email.strip()
    if email and not is_email_address(email):
        raise InvalidInput(f"{email[:80]!r} is not an email address (name@domain)")
    old, user.email = user.email, email
    db.flush()
    audit.record(
        db,
        actor=actor.username,
        action="user.email",
        subject_type="user",
        subject_id=user.username,
        details={"old": old, "new": email},
    )
    return user
