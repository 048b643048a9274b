"""The registry's pages through the real app (TestClient): spam protection, messages, the upload endpoints and
who sees owners' contact details."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.registry.builders import active_owner, deliver_mail, registration_data
from tests.registry.smtp import Mailbox
from tests.support.builders import PASSWORD, make_user
from tests.support.registry_requests import CONTEXT
from tests.support.webapp import TestClient, free_port, log_in, page_csrf, seed
from vigil.db.base import utcnow
from vigil.db.outbox_models import OutboxMessage
from vigil.db.registry_models import FootageRequest, RegistryOwner
from vigil.governance.mail import Email
from vigil.governance.outbox import enqueue
from vigil.registry.owners import delete_registration
from vigil.registry.requests import send_requests
from vigil.settings import Settings
from vigil.web.app import create_app


@pytest.fixture
def app(tmp_path: Path, mailbox: Mailbox) -> Iterator[FastAPI]:
    settings = make_settings(
        tmp_path / "data",
        mail={"port": mailbox.port, "link_base_url": "https://vigil.example.org"},
        registry={"registrations_per_hour": 3},
    )
    yield create_app(settings)


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.system.settings
    return settings


def owners(app: FastAPI) -> int:
    return seed(app, lambda db: int(db.execute(select(func.count(RegistryOwner.id))).scalar_one()))


def form_of(data: dict[str, object]) -> dict[str, str]:
    form = {key: str(value) for key, value in data.items() if key not in ("cameras", "consent")}
    form["consent"] = "yes"
    for index, camera in enumerate(data["cameras"]):  # type: ignore[arg-type]
        for key, value in camera.items():
            form[f"camera_{index}_{key}"] = "" if value is None else str(value)
    return form


def test_the_registration_form_registers_and_shows_what_to_do_next(app: FastAPI, mailbox: Mailbox) -> None:
    data = registration_data()
    with TestClient(app) as client:
        page = client.get("/register")
        assert "consent text version 2026-1" in page.text
        response = client.post("/register", data={**form_of(data), "csrf_token": page_csrf(client, "/register")})
    assert response.status_code == 200 and "Check your email" in response.text
    assert owners(app) == 1
    mailbox.wait_for(str(data["email"]))


def test_a_filled_honeypot_is_answered_like_success_but_nothing_is_kept_or_sent(app: FastAPI, mailbox: Mailbox) -> None:
    data = registration_data()
    with TestClient(app) as client:
        token = page_csrf(client, "/register")
        response = client.post("/register", data={**form_of(data), "website": "http://spam", "csrf_token": token})
    assert "Check your email" in response.text
    assert owners(app) == 0
    assert mailbox.to(str(data["email"])) == []


def test_registrations_are_rate_limited_per_address(app: FastAPI) -> None:
    with TestClient(app) as client:
        token = page_csrf(client, "/register")
        statuses = [
            client.post("/register", data={**form_of(registration_data()), "csrf_token": token}).status_code
            for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]


def test_a_bad_registration_shows_the_form_again_with_the_message_and_the_values(app: FastAPI) -> None:
    data = registration_data(email="nobody", name="Sam Sample")
    with TestClient(app) as client:
        token = page_csrf(client, "/register")
        response = client.post("/register", data={**form_of(data), "csrf_token": token})
    assert response.status_code == 422
    assert "Email: enter an email address such as name@example.org" in response.text
    assert 'value="Sam Sample"' in response.text
    assert owners(app) == 0


def test_a_mail_scanner_following_the_confirmation_link_changes_nothing(app: FastAPI, mailbox: Mailbox) -> None:
    with TestClient(app) as client:
        token = page_csrf(client, "/register")
        data = registration_data()
        client.post("/register", data={**form_of(data), "csrf_token": token})
        link = mailbox.wait_for(str(data["email"]))[0].get_body().get_content().split("/register/verify#")[1].split()[0]
        assert "Confirm my registration" in client.get("/register/verify").text  # (the # part stays in the browser)
        assert seed(app, lambda db: db.execute(select(RegistryOwner.status)).scalar_one()) == "pending"
        done = client.post("/register/verify", data={"csrf_token": token, "token": link})
    assert "Registration confirmed" in done.text
    assert seed(app, lambda db: db.execute(select(RegistryOwner.status)).scalar_one()) == "active"


def sent_request(app: FastAPI, mailbox: Mailbox) -> tuple[str, str]:
    def build(db: Session) -> tuple[str, str]:
        officer = make_user(db, "olly", trained_for=("registry", "requests", "analytics"), cases=(CONTEXT.case_ref,))
        owner, _ = active_owner(db, settings_of(app), mailbox, name="Pat Private")
        now = utcnow()
        [sent] = send_requests(
            db,
            settings=settings_of(app),
            user=officer,
            context=CONTEXT,
            owner_ids=[owner.id],
            window_start=now - timedelta(hours=5),
            window_end=now - timedelta(hours=4),
            message="",
        )
        deliver_mail(db, settings_of(app))
        return sent.token, owner.email

    return seed(app, build)


def test_the_upload_endpoints_refuse_bad_names_and_foreign_uploads_with_clear_json(
    app: FastAPI, mailbox: Mailbox
) -> None:
    token, _ = sent_request(app, mailbox)
    with TestClient(app) as client:
        csrf_form = page_csrf(client, "/upload")
        opened = client.post("/upload/open", data={"csrf_token": csrf_form, "token": token}, follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/upload"
        cookie = opened.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/upload" in cookie
        page = client.get("/upload")
        assert page.status_code == 200 and CONTEXT.case_ref in page.text and token not in page.text
        assert "Pat Private" not in page.text and "olly" not in page.text  # nothing beyond the request itself
        csrf = {"x-csrf-token": page_csrf(client, "/upload")}
        bad = client.post("/upload/files", json={"name": "../../etc/passwd", "size": 10}, headers=csrf)
        assert bad.status_code == 422 and "plain file name" in bad.json()["detail"]
        begun = client.post("/upload/files", json={"name": "clip.mp4", "size": 10}, headers=csrf)
        assert begun.status_code == 201
        key = begun.json()["key"]
        wrong = client.put(f"/upload/files/{key}?offset=5", content=b"x", headers=csrf)
        assert wrong.status_code == 409 and "expected the chunk at byte 0" in wrong.json()["detail"]
        no_csrf = client.put(f"/upload/files/{key}?offset=0", content=b"x")
        assert no_csrf.status_code == 403
        client.cookies.set("vigil_upload", "A" * 43, path="/upload")  # a forged token in the cookie
        forged = client.put(f"/upload/files/{key}?offset=0", content=b"x", headers=csrf)
        assert forged.status_code == 404 and "not valid" in forged.json()["detail"]
        forged_open = client.post("/upload/open", data={"csrf_token": csrf_form, "token": "B" * 43})
        assert forged_open.status_code == 404 and "set-cookie" not in forged_open.headers


def test_officers_see_owners_contact_details_only_with_the_requests_capability(app: FastAPI, mailbox: Mailbox) -> None:
    sent_request(app, mailbox)
    seed(app, lambda db: make_user(db, "rita", trained_for=("registry",), cases=(CONTEXT.case_ref,)))
    at = (utcnow() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    search = f"/registry?case={CONTEXT.case_ref}&lat=54.6641&lon=-2.7527&radius=200&at={at}"
    for username, sees in (("rita", False), ("olly", True)):
        with TestClient(app) as client:
            log_in(client, username, PASSWORD)
            token = page_csrf(client, "/context")
            client.post(
                "/context",
                data={"case_ref": CONTEXT.case_ref, "purpose": CONTEXT.purpose, "next": "/", "csrf_token": token},
            )
            page = client.get(search)
            assert page.status_code == 200 and "1 camera within 200 m" in page.text
            assert ("Pat Private" in page.text) is sees, username
            assert ("contact details need the footage-requests capability" in page.text) is not sees
            markers = client.get(f"/registry/markers.json?case={CONTEXT.case_ref}")
            assert markers.status_code == 200 and "Pat" not in markers.text and len(markers.json()) == 1


def test_the_drawn_area_field_searches_the_area_instead_of_the_point(app: FastAPI, mailbox: Mailbox) -> None:
    sent_request(app, mailbox)  # Pat Private's camera is on Market Square (54.6641, -2.7527)
    at = (utcnow() - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    around = [[54.6631, -2.7545], [54.6631, -2.7510], [54.6651, -2.7510], [54.6651, -2.7545]]
    north = [[54.6700, -2.7545], [54.6700, -2.7510], [54.6720, -2.7510], [54.6720, -2.7545]]
    with TestClient(app) as client:
        log_in(client, "olly", PASSWORD)
        token = page_csrf(client, "/context")
        client.post(
            "/context",
            data={"case_ref": CONTEXT.case_ref, "purpose": CONTEXT.purpose, "next": "/", "csrf_token": token},
        )

        def search(area: object, radius: str = "0") -> str:
            query = {"case": CONTEXT.case_ref, "area": json.dumps(area), "radius": radius, "at": at}
            page = client.get("/registry?" + urlencode(query))
            assert page.status_code == 200
            return page.text

        inside = search(around)
        assert "1 camera within 0 m" in inside and "Pat Private" in inside and '<td class="nowrap">0 m</td>' in inside
        assert "0 cameras within 0 m" in search(north)
        assert "1 camera within 700 m" in search(north, "700")
        assert "an area needs 3 to 50 corners, not 2" in search(around[:2])
        assert "the drawn area could not be read" in search("not a polygon")
        assert "sides 1 and 3 cross" in search([around[0], around[2], around[1], around[3]])


def test_vendor_assets_are_served_and_paths_outside_them_are_not(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
        assert client.get("/static/vendor/leaflet-markercluster/leaflet.markercluster.js").status_code == 200
        assert client.get("/static/vendor/leaflet/..%2F..%2F..%2Fsettings.py").status_code == 404
        assert client.get("/static/vendor/nothing/x.js").status_code == 404


def test_the_self_service_link_updates_and_deletes_the_registration(app: FastAPI, mailbox: Mailbox) -> None:
    owner_id, manage = seed(
        app,
        lambda db: (lambda pair: (pair[0].id, pair[1]))(
            active_owner(db, settings_of(app), mailbox, name="Una Updater")
        ),
    )
    with TestClient(app) as client:
        token = page_csrf(client, "/register/manage")  # no cookie yet: the page that exchanges the link's # part
        forged = client.post("/register/manage/open", data={"csrf_token": token, "token": "C" * 43})
        assert forged.status_code == 404 and "set-cookie" not in forged.headers
        client.post("/register/manage/open", data={"csrf_token": token, "token": manage})
        page = client.get("/register/manage")
        assert page.status_code == 200 and 'value="Una Updater"' in page.text and manage not in page.text
        form = form_of(registration_data(name="Una Renamed"))
        assert "Your changes are saved" in client.post("/register/manage", data={**form, "csrf_token": token}).text
        assert seed(app, lambda db: db.get(RegistryOwner, owner_id).name) == "Una Renamed"  # type: ignore[union-attr]
        gone = client.post("/register/manage/delete", data={"csrf_token": token})
        assert "Registration deleted" in gone.text
        client.cookies.set("vigil_manage", manage, path="/register/manage")
        assert client.post("/register/manage/delete", data={"csrf_token": token}).status_code == 404
    row = seed(app, lambda db: db.get(RegistryOwner, owner_id))
    assert row is not None and (row.status, row.name, row.email) == ("deleted", "", "")


def test_an_expired_or_withdrawn_upload_link_is_refused_at_the_exchange_and_sets_no_cookie(
    app: FastAPI, mailbox: Mailbox
) -> None:
    token, _ = sent_request(app, mailbox)

    def expire(db: Session) -> None:
        request = db.execute(select(FootageRequest)).scalars().one()
        request.expires_at = utcnow() - timedelta(minutes=1)

    seed(app, expire)
    with TestClient(app) as client:
        csrf = page_csrf(client, "/upload")
        refused = client.post("/upload/open", data={"csrf_token": csrf, "token": token}, follow_redirects=False)
        assert refused.status_code == 403 and "expired" in refused.text and "set-cookie" not in refused.headers
        assert "Opening the request" in client.get("/upload").text  # still no access without the cookie


def test_a_registration_while_mail_is_down_says_the_email_is_queued_never_that_it_was_sent(
    tmp_path: Path, mailbox: Mailbox
) -> None:
    down = make_settings(tmp_path / "data", mail={"port": free_port(), "link_base_url": "https://vigil.example.org"})
    app = create_app(down)
    data = registration_data()
    with TestClient(app) as client:
        token = page_csrf(client, "/register")
        page = client.post("/register", data={**form_of(data), "csrf_token": token})
    assert page.status_code == 200 and "We have sent" not in page.text
    assert "0 email(s) sent, 1 queued: the mail server is unreachable" in page.text and "notice-warn" in page.text
    queued = seed(app, lambda db: [(m.status, m.recipient) for m in db.execute(select(OutboxMessage)).scalars()])
    assert queued == [("queued", data["email"])]  # kept (with the registration), to be retried


def test_deleting_a_registration_withdraws_its_queued_emails_and_blanks_them(app: FastAPI, mailbox: Mailbox) -> None:
    def build(db: Session) -> int:
        owner, manage = active_owner(db, settings_of(app), mailbox)
        enqueue(
            db,
            email=Email(owner.email, "about you", "a body naming you"),
            subject_type="registration",
            subject_id=owner.id,
        )
        delete_registration(db, token=manage)
        return owner.id

    owner_id = seed(app, build)
    rows = seed(
        app,
        lambda db: [
            (m.status, m.recipient, m.body)
            for m in db.execute(select(OutboxMessage).where(OutboxMessage.subject_id == owner_id)).scalars()
            if m.subject_type == "registration"
        ],
    )
    assert ("failed", "", "") in rows and all(row[2] == "" for row in rows)
