"""The pages: working context detour and audit export, permissions, admin forms, audit viewer, retention."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import TestClient, csrf_of, log_in, notices, page_csrf, seed
from vigil.db.base import utcnow
from vigil.db.models import AuditEntry
from vigil.governance import audit
from vigil.governance.audit import AuditContext
from vigil.web.context import WorkingContext


def signed_in(client: TestClient, username: str, role: str, **kwargs: object) -> None:
    seed(client.app, lambda db: make_user(db, username, role, **kwargs))  # type: ignore[arg-type]
    assert log_in(client, username, PASSWORD) == "/"


def entries(client: TestClient, **filters: str) -> list[AuditEntry]:
    return seed(client.app, lambda db: list(audit.query_entries(db, **filters)))  # type: ignore[arg-type]


def test_audit_export_asks_for_case_and_purpose_once_per_case(client: TestClient) -> None:
    signed_in(client, "aud", "auditor")
    detour = client.get("/audit/export", params={"fmt": "csv", "case": "CUM-2026-1"}, follow_redirects=False)
    assert urlsplit(detour.headers["location"]).path == "/context"
    query = parse_qs(urlsplit(detour.headers["location"]).query)
    assert query == {"next": ["/audit/export?fmt=csv&case=CUM-2026-1"], "case": ["CUM-2026-1"]}
    form = client.get(detour.headers["location"])
    assert 'value="CUM-2026-1"' in form.text
    token = csrf_of(form.text)
    short = client.post(
        "/context", data={"case_ref": "CUM-2026-1", "purpose": "check", "next": query["next"][0], "csrf_token": token}
    )
    assert short.url.path == "/context" and "at least 10 characters" in " ".join(notices(short.text))
    export = client.post(
        "/context",
        data={
            "case_ref": "CUM-2026-1",
            "purpose": "IOPC referral on complaint 17",
            "next": query["next"][0],
            "csrf_token": token,
        },
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    assert next(csv.reader(io.StringIO(export.text)))[:3] == ["seq", "at", "actor"]
    [entry] = entries(client, action_prefix="audit.export")
    assert (entry.actor, entry.case_ref, entry.purpose) == ("aud", "CUM-2026-1", "IOPC referral on complaint 17")
    again = client.get("/audit/export", params={"fmt": "json", "case": "CUM-2026-1"}, follow_redirects=False)
    assert again.status_code == 200 and [e["action"] for e in again.json()] == ["audit.export"]  # the first one
    other = client.get("/audit/export", params={"fmt": "json", "case": "CUM-2026-2"}, follow_redirects=False)
    assert other.status_code == 303 and "case=CUM-2026-2" in other.headers["location"]


def test_require_context_is_a_reusable_dependency(client: TestClient) -> None:
    def search(context: WorkingContext) -> dict[str, str]:
        return {"case": context.case_ref, "purpose": context.purpose}

    client.app.add_api_route("/search-demo", search)  # type: ignore[attr-defined]
    signed_in(client, "ivy", "investigator", cases=("C-9",))
    assert client.get("/search-demo", follow_redirects=False).headers["location"] == "/context?next=%2Fsearch-demo"
    client.post(
        "/context",
        data={
            "case_ref": "C-9",
            "purpose": "missing person inquiry",
            "next": "/search-demo",
            "csrf_token": page_csrf(client, "/context"),
        },
    )
    assert client.get("/search-demo").json() == {"case": "C-9", "purpose": "missing person inquiry"}
    assert "Working on case" in client.get("/").text


def test_pages_refuse_roles_without_the_permission_and_audit_it(client: TestClient) -> None:
    signed_in(client, "ivy", "investigator")
    for path, action in (("/users", "user.list"), ("/audit", "audit.view"), ("/retention", "retention.view")):
        response = client.get(path)
        assert response.status_code == 403 and "investigator role may not" in response.text
        assert entries(client, actor="ivy", action_prefix=action)[-1].outcome == "refused"
    home = client.get("/").text
    assert 'href="/users"' not in home and 'href="/audit"' not in home and 'href="/locations"' in home


def test_administrator_registers_people_places_and_cameras(client: TestClient) -> None:
    signed_in(client, "ada", "admin")
    token = page_csrf(client, "/users")
    added = client.post(
        "/users",
        data={
            "username": "ivy",
            "display_name": "Ivy Inspector",
            "role": "investigator",
            "csrf_token": token,
        },
    )
    assert "User ivy added" in " ".join(notices(added.text)) and added.headers["cache-control"] == "no-store"
    assert re.search(r'id="one-time-password"[^>]* value="[^"]{12,}"', added.text)
    today = utcnow().date()
    course = {
        "username": "ivy",
        "capability": "analytics",
        "course": "Analytics 1",
        "completed_on": str(today),
        "expires_on": str(today + timedelta(days=365)),
        "csrf_token": token,
    }
    refused = client.post("/training", data=course)
    assert "you created this account" in " ".join(notices(refused.text))
    assert "Ivy Inspector" in refused.text and "Analytics 1" not in refused.text
    client.post(
        "/locations",
        data={
            "name": "Bus Station",
            "address": "Penrith",
            "latitude": "54.66",
            "longitude": "-2.75",
            "csrf_token": token,
        },
    )
    camera = client.post(
        "/cameras", data={"location_id": "1", "code": "bus-01", "name": "Stand A", "csrf_token": token}
    )
    assert "Cameras without a current PIA" in camera.text and "BUS-01" in camera.text
    pia = {
        "location_id": "1",
        "reference": "PIA-9",
        "approved_purposes": "crime",
        "approved_by": "Supt Hale",
        "approved_on": str(today),
        "review_date": str(today - timedelta(days=1)),
        "csrf_token": token,
    }
    refused = client.post("/pias", data=pia)
    assert "the review date must be after the approval date" in notices(refused.text)
    recorded = client.post("/pias", data={**pia, "review_date": str(today + timedelta(days=365))})
    assert "PIA PIA-9 recorded." in notices(recorded.text) and "Cameras without a current PIA" not in recorded.text
    actions = [e.action for e in entries(client, actor="ada")]
    assert actions[-5:] == ["user.create", "training.add", "location.add", "camera.add", "pia.add"]
    assert [e.outcome for e in entries(client, actor="ada", action_prefix="training")] == ["refused"]
    bad = client.post("/locations", data={"name": "Nowhere", "latitude": "north", "csrf_token": token})
    assert "Latitude must be a number" in notices(bad.text)


def test_audit_viewer_filters_pages_and_verifies(client: TestClient) -> None:
    def fill(db: Session) -> None:
        for i in range(60):
            audit.record(db, actor="bob", action=f"test.step{i}", context=AuditContext("CASE-7", "paging test run"))

    seed(client.app, fill)  # type: ignore[arg-type]
    signed_in(client, "sue", "supervisor")
    page = client.get("/audit", params={"actor": "bob"}).text
    assert page.count("test.step") == 50 and "test.step59" in page and "test.step9<" not in page
    link = re.search(r'<a href="(/audit\?[^"]+)">Older entries</a>', page)
    assert link is not None
    older = client.get(html.unescape(link.group(1))).text
    assert older.count("test.step") == 10 and "test.step0<" in older and "Newest" in older and "Older" not in older
    assert "test.step" not in client.get("/audit", params={"action": "login"}).text
    verified = client.post("/audit/verify", data={"csrf_token": page_csrf(client, "/audit")})
    assert any("audit chain intact" in n for n in notices(verified.text))


def test_retention_page_and_run_now(client: TestClient) -> None:
    signed_in(client, "ada", "admin")
    page = client.get("/retention").text
    assert "Footage not held for a case is deleted after this." in page and "Run now" in page
    ran = client.post("/retention/run", data={"csrf_token": csrf_of(page)})
    assert any("Retention run finished" in n for n in notices(ran.text))
    assert entries(client, action_prefix="retention.run")[-1].actor == "ada"
    auditor = TestClient(client.app)
    signed_in(auditor, "aud", "auditor")
    page = auditor.get("/retention").text
    assert 'action="/retention/run"' not in page
    assert auditor.post("/retention/run", data={"csrf_token": csrf_of(page)}).status_code == 403


def test_session_cookie_stays_small_with_many_stated_purposes(client: TestClient) -> None:
    signed_in(client, "ivy", "investigator", cases=(*(f"CUM-2026-{n:04d}" for n in range(12)), "CUM-2026-9"))
    token = page_csrf(client, "/context")
    for n in range(12):
        client.post(
            "/context",
            data={"case_ref": f"CUM-2026-{n:04d}", "purpose": f"inquiry {n} " + "x" * 980, "csrf_token": token},
        )
    assert len(client.cookies["vigil_session"]) < 4000
    assert "CUM-2026-0011" in client.get("/").text  # the newest case is current and kept
    wide = client.post("/context", data={"case_ref": "CUM-2026-9", "purpose": "ж" * 1000, "csrf_token": token})
    assert "too long to keep" in " ".join(notices(wide.text))
