"""Account administration: generated one-time passwords, password reset, role change, training rules (F7)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_user
from vigil.db.base import utcnow
from vigil.db.models import ApiToken, AuditEntry, LoginSession, TrainingRecord, User
from vigil.errors import AuthenticationFailed, InvalidInput, NotFound, NotPermitted
from vigil.governance.access import authorise, current_training
from vigil.governance.accounts import change_role, reset_password
from vigil.governance.roles import Capability
from vigil.governance.sessions import login_session_is_current, open_login_session
from vigil.governance.training import record_training, withdraw_training
from vigil.governance.users import authenticate, create_user, issue_token, user_for_token
from vigil.settings import WebSettings

TODAY = utcnow().date()


def _last(db: Session) -> AuditEntry:
    return db.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


def _train(db: Session, *, actor: User, username: str) -> TrainingRecord:
    return record_training(
        db,
        actor=actor,
        username=username,
        capability="analytics",
        course="CCTV analytics foundation",
        completed_on=TODAY - timedelta(days=1),
        expires_on=TODAY + timedelta(days=300),
    )


def _records(db: Session) -> int:
    return int(db.execute(select(func.count(TrainingRecord.id))).scalar_one())


def test_a_new_account_gets_a_generated_one_time_password_that_must_be_changed(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    account, password = create_user(db, actor=admin, username="Ivy", display_name="Ivy Inspector", role="investigator")
    assert (account.username, account.must_change_password, account.created_by_id) == ("ivy", True, admin.id)
    assert len(password) >= 12
    assert authenticate(db, username="ivy", password=password, client="t", policy=WebSettings()).id == account.id
    assert "password" not in _last(db).details and password not in _last(db).details


def test_the_creator_cannot_record_training_for_the_account_but_another_supervisor_can(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    sup = make_user(db, "sue", "supervisor")
    account, _ = create_user(db, actor=admin, username="ivy", display_name="Ivy", role="investigator")
    before = _records(db)
    with pytest.raises(NotPermitted, match="you created this account"):
        _train(db, actor=admin, username="ivy")
    entry = _last(db)
    assert (entry.actor, entry.action, entry.outcome) == ("ada", "training.add", "refused")
    assert _records(db) == before  # nothing written
    _train(db, actor=sup, username="ivy")
    assert current_training(db, user=account, capability=Capability.ANALYTICS, today=TODAY) is not None


def test_nobody_records_their_own_training_and_the_refusal_is_audited(db: Session) -> None:
    sup = make_user(db, "sue", "supervisor")
    with pytest.raises(NotPermitted, match="someone other than the trainee"):
        _train(db, actor=sup, username="sue")
    assert (_last(db).action, _last(db).outcome) == ("training.add", "refused")


def test_password_reset_gives_a_one_time_password_and_ends_sessions_and_tokens(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    ivy = make_user(db, "ivy", "investigator")
    session_id = open_login_session(db, user=ivy, client="t", lifetime=timedelta(hours=1))
    token = issue_token(db, user=ivy, name="laptop")
    password = reset_password(db, actor=admin, username="ivy")
    policy = WebSettings()
    with pytest.raises(AuthenticationFailed):
        authenticate(db, username="ivy", password=PASSWORD, client="t", policy=policy)
    assert authenticate(db, username="ivy", password=password, client="t", policy=policy).must_change_password
    assert not login_session_is_current(db, session_id=session_id, user=ivy)
    with pytest.raises(AuthenticationFailed):
        user_for_token(db, token)
    reset = db.execute(select(AuditEntry).where(AuditEntry.action == "user.password_reset")).scalar_one()
    assert (reset.actor, reset.subject_id, reset.outcome) == ("ada", "ivy", "ok")
    assert db.execute(select(LoginSession).where(LoginSession.ended_at.is_(None))).first() is None
    assert all(t.revoked_at for t in db.execute(select(ApiToken)).scalars())


@pytest.mark.parametrize(
    ("actor_role", "target", "error", "message"),
    [
        ("supervisor", "ivy", NotPermitted, "may not manage users"),
        ("investigator", "ivy", NotPermitted, "may not manage users"),
        ("admin", "ada", InvalidInput, "your own password"),
        ("admin", "nobody", NotFound, "no user named"),
    ],
)
def test_password_reset_is_refused_to_others_and_changes_nothing(
    db: Session, actor_role: str, target: str, error: type[Exception], message: str
) -> None:
    actor = make_user(db, "ada", actor_role)
    ivy = make_user(db, "ivy", "investigator")
    old_hash = ivy.password_hash
    with pytest.raises(error, match=message):
        reset_password(db, actor=actor, username=target)
    db.refresh(ivy)
    assert ivy.password_hash == old_hash and not ivy.must_change_password


def test_role_change_is_audited_with_old_and_new_role(db: Session) -> None:
    admin = make_user(db, "ada", "admin")
    make_user(db, "ivy", "investigator")
    assert change_role(db, actor=admin, username="ivy", role="Supervisor").role == "supervisor"
    entry = _last(db)
    assert (entry.action, entry.subject_id) == ("user.role", "ivy")
    assert json.loads(entry.details) == {"old": "investigator", "new": "supervisor"}


@pytest.mark.parametrize(
    ("actor_role", "target", "role", "message"),
    [
        ("admin", "ada", "auditor", "your own role"),
        ("admin", "ivy", "king", "unknown role"),
        ("admin", "ivy", "investigator", "already has the role"),
        ("supervisor", "ivy", "admin", "may not manage users"),
    ],
)
def test_bad_role_changes_are_refused(db: Session, actor_role: str, target: str, role: str, message: str) -> None:
    actor = make_user(db, "ada", actor_role)
    ivy = make_user(db, "ivy", "investigator")
    with pytest.raises((InvalidInput, NotPermitted), match=message):
        change_role(db, actor=actor, username=target, role=role)
    db.refresh(ivy)
    assert ivy.role == "investigator"


def test_a_withdrawn_training_record_no_longer_unlocks_its_capability(db: Session) -> None:
    sup = make_user(db, "sue", "supervisor")
    ivy = make_user(db, "ivy", "investigator")
    record = _train(db, actor=sup, username="ivy")
    with pytest.raises(InvalidInput, match="reason"):
        withdraw_training(db, actor=sup, record_id=record.id, reason="x")
    withdraw_training(db, actor=sup, record_id=record.id, reason="entered in error")
    assert (_last(db).action, _last(db).subject_id) == ("training.withdraw", "ivy")
    assert not record.is_current(TODAY)
    with pytest.raises(NotPermitted, match="no current training"):
        authorise(
            db, user=ivy, capability=Capability.ANALYTICS, action="search.run", context=None, context_required=False
        )
    with pytest.raises(InvalidInput, match="already withdrawn"):
        withdraw_training(db, actor=sup, record_id=record.id, reason="entered in error")


@pytest.mark.parametrize("username", ["a", "ivy", "x-1"])
def test_a_one_time_password_always_passes_the_policy_it_must_be_changed_under(username: str) -> None:
    """A random string can contain a short username; the policy would then refuse it when the user changes it
    (seen once in a browser test for 'ivy'). Most draws for 'a' would contain it without the check."""
    from vigil.governance.users import check_password_policy, generate_password

    for _ in range(300):
        password = generate_password(username=username)
        check_password_policy(password, username=username)
        assert username not in password.lower()
