"""User accounts: argon2 password hashes, login with lock-out, password changes, API tokens."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.models import ApiToken, User
from vigil.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from vigil.governance import audit
from vigil.governance.access import refuse, require_permission
from vigil.governance.audit import SYSTEM_ACTOR, Outcome
from vigil.governance.roles import Permission, Role, role_has_permission
from vigil.governance.sessions import end_user_sessions
from vigil.settings import WebSettings

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_CHARS = 12
FIRST_ADMIN = "admin"


def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify against for unknown users, made on first use (never at import)."""
    return _hasher().hash(secrets.token_urlsafe(16))


def check_password_policy(password: str, *, username: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    if username.lower() in password.lower():
        raise InvalidInput("password must not contain the username")
    if len(set(password)) < 5:
        raise InvalidInput("password is too repetitive")


def generate_password(*, username: str) -> str:
    """A random one-time password that passes :func:`check_password_policy` for ``username`` (a random string
    can contain a short username, which the policy would then refuse at the first login's change)."""
    while True:
        password = secrets.token_urlsafe(15)
        try:
            check_password_policy(password, username=username)
        except InvalidInput:
            continue
        return password


def get_user(db: Session, username: str) -> User:
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(db: Session) -> list[User]:
    return list(db.execute(select(User).order_by(User.username)).scalars())


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}") from None


def _new_user(
    db: Session, *, username: str, display_name: str, role: str, password: str, created_by: User | None
) -> User:
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput("username must be 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter")
    role = parse_role(role).value
    if not display_name.strip():
        raise InvalidInput("display name is required")
    check_password_policy(password, username=username)
    if db.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"a user named {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        password_hash=_hasher().hash(password),
        must_change_password=True,
        created_at=utcnow(),
        created_by_id=created_by.id if created_by is not None else None,
    )
    db.add(user)
    db.flush()
    return user


def create_user(db: Session, *, actor: User, username: str, display_name: str, role: str) -> tuple[User, str]:
    """Add an account (administrators only) with a generated one-time password, returned once.

    Nobody chooses another person's password: the user must replace it at first login, and the
    account's training must be recorded by someone other than its creator (see ``record_training``).
    """
    require_permission(db, user=actor, permission=Permission.MANAGE_USERS, action="user.create")
    password = generate_password(username=username)
    user = _new_user(db, username=username, display_name=display_name, role=role, password=password, created_by=actor)
    audit.record(
        db,
        actor=actor.username,
        action="user.create",
        subject_type="user",
        subject_id=user.username,
        details={"role": user.role},
    )
    return user, password


def bootstrap_admin(db: Session) -> str | None:
    """Create the first administrator when there are no users; return its one-time password."""
    if db.execute(select(func.count(User.id))).scalar_one():
        return None
    password = generate_password(username=FIRST_ADMIN)
    _new_user(
        db,
        username=FIRST_ADMIN,
        display_name="First administrator",
        role=Role.ADMIN,
        password=password,
        created_by=None,
    )
    audit.record(db, actor=SYSTEM_ACTOR, action="user.bootstrap", subject_type="user", subject_id=FIRST_ADMIN)
    return password


def authenticate(
    db: Session,
    *,
    username: str,
    password: str,
    client: str,
    policy: WebSettings,
    now: datetime | None = None,
) -> User:
    """Check a login. Failed attempts are counted and committed; too many lock the account for a while."""
    now = now or utcnow()
    user = db.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    hasher = _hasher()
    if user is None:
        _verify(hasher, _dummy_hash(), password)  # same work as a real check, so timing reveals nothing
        _audit_login(db, username=username[:64], outcome=Outcome.REFUSED, reason="unknown user", client=client)
        raise AuthenticationFailed("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        # the same work and the same answer as a wrong password: a lock-out must not reveal that the account
        # exists; only the audit entry tells the truth
        right = _verify(hasher, user.password_hash, password)
        reason = "locked" + (" (right password)" if right else "")
        _audit_login(db, username=user.username, outcome=Outcome.REFUSED, reason=reason, client=client)
        raise AuthenticationFailed("wrong username or password")
    if not _verify(hasher, user.password_hash, password) or not user.is_active:
        user.failed_logins += 1
        reason = "wrong password" if user.is_active else "account disabled"
        if user.failed_logins >= policy.login_max_failures:
            user.locked_until = now + timedelta(minutes=policy.lockout_minutes)
            user.failed_logins = 0
            reason += "; account locked"
        _audit_login(db, username=user.username, outcome=Outcome.REFUSED, reason=reason, client=client)
        raise AuthenticationFailed("wrong username or password")
    user.failed_logins, user.locked_until = 0, None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    audit.record(db, actor=user.username, action="login", details={"client": client}, now=now)
    return user


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _audit_login(db: Session, *, username: str, outcome: Outcome, reason: str, client: str) -> None:
    audit.record(db, actor=username, action="login", outcome=outcome, details={"reason": reason, "client": client})
    db.commit()


def change_password(db: Session, *, user: User, current: str, new: str) -> None:
    if not _verify(_hasher(), user.password_hash, current):
        raise AuthenticationFailed("the current password is wrong")
    if new == current:
        raise InvalidInput("the new password must differ from the current one")
    check_password_policy(new, username=user.username)
    user.password_hash = _hasher().hash(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    audit.record(db, actor=user.username, action="user.password_change", subject_type="user", subject_id=user.username)
    revoke_tokens(db, user=user, reason="password changed")


def set_active(db: Session, *, actor: User, username: str, active: bool) -> User:
    action = "user.enable" if active else "user.disable"
    require_permission(db, user=actor, permission=Permission.MANAGE_USERS, action=action)
    user = get_user(db, username)
    if user.id == actor.id and not active:
        raise InvalidInput("you cannot disable your own account")
    user.is_active = active
    if not active:
        end_access(db, user=user, reason="account disabled", actor=actor.username)
    audit.record(db, actor=actor.username, action=action, subject_type="user", subject_id=user.username)
    return user


def end_access(db: Session, *, user: User, reason: str, actor: str | None = None) -> None:
    """End every login session of ``user`` and revoke their API tokens (account retired or password reset)."""
    end_user_sessions(db, user=user)
    revoke_tokens(db, user=user, reason=reason, actor=actor)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(db: Session, *, user: User, name: str, days: int = 90) -> str:
    """Create an API token for the user; the token itself is returned once and stored only as a hash."""
    if not 1 <= days <= 365:
        raise InvalidInput("token lifetime must be 1-365 days")
    token = "vgl_" + secrets.token_urlsafe(32)
    now = utcnow()
    record = ApiToken(
        user_id=user.id,
        name=name.strip()[:100] or "token",
        token_hash=_token_digest(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    db.add(record)
    db.flush()
    audit.record(
        db,
        actor=user.username,
        action="token.issue",
        subject_type="token",
        subject_id=record.id,
        details={"name": record.name, "days": days},
    )
    return token


def user_for_token(db: Session, token: str, *, now: datetime | None = None) -> User:
    now = now or utcnow()
    record = db.execute(select(ApiToken).where(ApiToken.token_hash == _token_digest(token))).scalar_one_or_none()
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        raise AuthenticationFailed("invalid, expired or revoked API token")
    if not record.user.is_active:
        raise AuthenticationFailed("this account is disabled")
    record.last_used_at = now
    return record.user


def revoke_tokens(db: Session, *, user: User, reason: str, actor: str | None = None) -> int:
    """Revoke every working API token of ``user`` (on a password change or reset, or when disabled).

    Audited with the reason and how many were revoked; returns that number.
    """
    now = utcnow()
    working = db.execute(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    ).scalars()
    revoked = [token.id for token in working]
    if revoked:
        db.execute(update(ApiToken).where(ApiToken.id.in_(revoked)).values(revoked_at=now))
    audit.record(
        db,
        actor=actor or user.username,
        action="token.revoke_all",
        subject_type="user",
        subject_id=user.username,
        details={"reason": reason, "revoked": len(revoked)},
    )
    db.flush()
    return len(revoked)


def list_tokens(db: Session, *, actor: User, username: str | None = None) -> list[ApiToken]:
    """A user's API tokens, newest first (their own, or anyone's for an administrator)."""
    owner = actor if username is None or username == actor.username else None
    if owner is None:
        require_permission(db, user=actor, permission=Permission.MANAGE_USERS, action="token.list")
        owner = get_user(db, str(username))
    stmt = select(ApiToken).where(ApiToken.user_id == owner.id).order_by(ApiToken.id.desc())
    return list(db.execute(stmt).scalars())


def revoke_token(db: Session, *, actor: User, token_id: int) -> ApiToken:
    """Revoke one API token: the owner's own, or any user's by an administrator. Refusals are audited."""
    token = db.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.id and not role_has_permission(actor.role, Permission.MANAGE_USERS)):
        # the same answer whether the token is someone else's or does not exist: ids reveal nothing
        raise refuse(
            db,
            actor=actor.username,
            action="token.revoke",
            reason=f"you have no API token {token_id}",
            details={"token": token_id},
        )
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    audit.record(
        db,
        actor=actor.username,
        action="token.revoke",
        subject_type="token",
        subject_id=token.id,
        details={"owner": token.user.username, "name": token.name},
    )
    db.flush()
    return token


def login_for_token(
    db: Session,
    *,
    username: str,
    password: str,
    client: str,
    policy: WebSettings,
    name: str = "api",
    days: int = 90,
) -> tuple[User, str]:
    """Check a login (with lock-out) and issue an API token; refused while the password must be changed."""
    user = authenticate(db, username=username, password=password, client=client, policy=policy)
    if user.must_change_password:
        raise refuse(
            db,
            actor=user.username,
            action="token.issue",
            reason="change your initial password in the web application before requesting an API token",
        )
    return user, issue_token(db, user=user, name=name, days=days)


def record_logout(db: Session, *, user: User, client: str) -> None:
    audit.record(db, actor=user.username, action="logout", details={"client": client})
