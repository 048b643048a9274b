"""Service functions behind the web pages: audit review, registers, roster, retention status, tokens."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_camera, make_user
from vigil.db.base import utcnow
from vigil.errors import NotPermitted
from vigil.governance import audit
from vigil.governance.access import make_context, open_case
from vigil.governance.audit import AuditContext
from vigil.governance.audit_review import AuditFilter, browse_audit, export_audit, verify_chain
from vigil.governance.cameras.register import camera_register
from vigil.governance.locations import location_register
from vigil.governance.retention import retention_status, run_retention_now
from vigil.governance.roles import Capability
from vigil.governance.training import training_roster
from vigil.governance.users import login_for_token
from vigil.settings import Settings
from vigil.system import default_rules


def test_browse_pages_newest_first_and_filters(db: Session) -> None:
    sue = make_user(db, "sue", "supervisor")
    for i in range(7):
        audit.record(db, actor="bob", action=f"test.step{i}")
    first = browse_audit(db, actor=sue, where=AuditFilter(actor="bob"), page_size=3)
    assert [e.action for e in first.entries] == ["test.step6", "test.step5", "test.step4"]
    rest = browse_audit(db, actor=sue, where=AuditFilter(actor="bob"), before_seq=first.older_than, page_size=5)
    assert [e.action for e in rest.entries] == ["test.step3", "test.step2", "test.step1", "test.step0"]
    assert rest.older_than is None


def test_audit_review_needs_view_audit_and_audits_verify_and_export(db: Session) -> None:
    ivy = make_user(db, "ivy", "investigator")
    aud = make_user(db, "aud", "auditor")
    with pytest.raises(NotPermitted):
        browse_audit(db, actor=ivy, where=AuditFilter())
    assert verify_chain(db, actor=aud).ok
    context = AuditContext("CUM-1", "complaint review 17")
    rows = json.loads(export_audit(db, actor=aud, context=context, where=AuditFilter(actor="aud"), fmt="json"))
    assert [r["action"] for r in rows] == ["audit.verify"]
    last = next(audit.query_entries(db, newest_first=True, limit=1))
    assert (last.action, last.case_ref, last.purpose) == ("audit.export", "CUM-1", "complaint review 17")


def test_registers_roster_and_retention_status(db: Session, settings: Settings) -> None:
    ada = make_user(db, "ada", "admin")
    ivy = make_user(db, "ivy", "investigator", trained_for=("analytics",))
    today = utcnow().date()
    make_camera(db, "PEN-01", pia_review=today + timedelta(days=30))
    make_camera(db, "PEN-02")
    assert [s.pia is not None for s in location_register(db, actor=ivy, today=today)] == [True, False]
    assert [s.camera.code for s in camera_register(db, actor=ivy, today=today, only_lacking_pia=True)] == ["PEN-02"]
    assert [u.username for u in training_roster(db, actor=ada)] == ["ada", "ivy"]
    with pytest.raises(NotPermitted):
        training_roster(db, actor=ivy)
    status = retention_status(db, actor=ada, rules=default_rules(settings))
    assert [r.data_class for r in status.due_now] == [
        "footage",
        "api_tokens",
        "login_sessions",
        "live_fr_alerts",
        "evidence_exports",
        "fr_retro_searches",
        "live_rule_alerts",
    ] and status.last_runs == []
    run_retention_now(db, actor=ada, rules=default_rules(settings), data_dir=settings.data_dir, dry_run=True)
    assert retention_status(db, actor=ada, rules=default_rules(settings)).last_runs[0].actor == "ada"
    with pytest.raises(NotPermitted):
        run_retention_now(db, actor=ivy, rules=default_rules(settings), data_dir=settings.data_dir)


def test_open_case_and_token_for_login(db: Session, settings: Settings) -> None:
    ivy = make_user(db, "ivy", "investigator", trained_for=("analytics",), cases=("C-7",))
    case = open_case(db, user=ivy, capability=Capability.ANALYTICS, context=make_context("C-7", "robbery inquiry"))
    assert case.reference == "C-7"
    with pytest.raises(NotPermitted, match="no current training"):
        open_case(db, user=ivy, capability=Capability.EXPORT, context=make_context("C-7", "robbery inquiry"))
    make_user(db, "new", must_change_password=True)
    with pytest.raises(NotPermitted, match="change your initial password"):
        login_for_token(db, username="new", password=PASSWORD, client="test", policy=settings.web)
    user, token = login_for_token(db, username="ivy", password=PASSWORD, client="test", policy=settings.web)
    assert user.username == "ivy" and token.startswith("vgl_")
