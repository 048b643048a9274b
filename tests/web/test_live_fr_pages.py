"""The live facial-recognition pages without a browser: planning with the expected false-alert rate, clear errors,
who may see what, and the public transparency page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.faces.live_support import CAMERA, enrolled_watchlist, file_camera, grace_video, operator
from tests.support.builders import PASSWORD, make_user
from tests.support.webapp import csrf_of, log_in, notices, seed
from tests.web.conftest import client_for
from vigil.db.base import utcnow
from vigil.faces.calibration import THRESHOLDS, Calibration, ImpostorModel, calibration_path
from vigil.governance.camera_sources import source_policy
from vigil.settings import Settings
from vigil.vision.faces.recognizer import default_recognizer


def _calibration(settings: Settings) -> None:
    """A calibration whose impostors score like a normal(0.1, 0.12) distribution."""
    impostor = np.random.default_rng(1).normal(0.1, 0.12, 200_000)
    calibration = Calibration(
        model="mobilefacenet",
        created_at="2026-11-22",
        photos=100,
        identities=10,
        skipped=[],
        gallery_size=10,
        mated_searches=90,
        non_mated_searches=10,
        genuine_pairs=400,
        impostor_pairs=len(impostor),
        impostor=ImpostorModel.fit(impostor),
        curve=[],
        operating_points=[],
    )
    path = calibration_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calibration.to_json())
    assert THRESHOLDS


def _form(client: TestClient, video: Path, **changes: str) -> dict[str, str]:
    local = utcnow().astimezone(client.app.state.system.settings.zone)  # type: ignore[attr-defined]
    form = {
        "csrf_token": csrf_of(client.get("/fr/deployments").text),
        "name": "Penrith market day",
        "location": "Penrith, Market Square",
        "cameras": CAMERA,
        "window_start": (local - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
        "window_end": (local + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "watchlist": "penrith-2026-11-20",
        "threshold": "0.6",
        "authorising_officer": "Supt A. Example",
        "public_notice": "Live facial recognition is in use on Market Square today.",
    }
    return {**form, **changes}


def _seed(client: TestClient, video: Path) -> None:
    """olive (live FR), a deployment watchlist, and camera MKT-EAST whose registered source replays ``video``."""
    settings = client.app.state.system.settings  # type: ignore[attr-defined]
    recognizer = default_recognizer(threads=1)

    def build(db: Session) -> None:
        enrolled_watchlist(db, settings, recognizer, operator(db))
        file_camera(db, video, sources=source_policy(settings))

    seed(client.app, build)  # type: ignore[arg-type]


def test_planning_shows_the_expected_false_alert_rate_and_warns_above_the_ceiling(tmp_path: Path) -> None:
    with client_for(tmp_path, faces={"allow_file_sources": True}) as client:
        settings = client.app.state.system.settings  # type: ignore[attr-defined]
        video = grace_video(tmp_path / "video")
        _seed(client, video)
        log_in(client, "olive", PASSWORD)
        page = client.get("/fr/deployments").text
        assert "No calibration yet" in page
        _calibration(settings)
        page = client.get("/fr/deployments").text
        assert "Expected false-alert rate by threshold" in page and "1 in" in page

        reply = client.post("/fr/deployments", data=_form(client, video, threshold="0.3"))
        said = notices(reply.text)
        assert any(n.startswith("Warning: at threshold 0.3 a 1-person watchlist") for n in said), said
        assert "Deployment Penrith market day planned." in said
        assert "above the ceiling" in client.get("/fr/deployments").text


def test_bad_plans_get_clear_messages_and_store_nothing(tmp_path: Path) -> None:
    with client_for(tmp_path, faces={"allow_file_sources": True}) as client:
        video = grace_video(tmp_path / "video")
        _seed(client, video)
        log_in(client, "olive", PASSWORD)
        for changes, message in (
            ({"window_start": "yesterday"}, "Start must be a date and time"),
            ({"cameras": ""}, "choose at least one camera"),
            ({"cameras": "/no/such/file.mp4"}, "no camera with code"),
            ({"threshold": "high"}, "threshold"),
            ({"public_notice": "too short"}, "public_notice"),
        ):
            said = notices(client.post("/fr/deployments", data=_form(client, video, **changes)).text)
            assert any(message in n for n in said), (changes, said)
        assert "No deployments yet." in client.get("/fr/deployments").text


def test_the_console_needs_live_fr_training_and_the_public_page_needs_no_login(tmp_path: Path) -> None:
    def people(db: Session) -> None:
        make_user(db, "ivy", "investigator", trained_for=("analytics",))

    with client_for(tmp_path) as client:
        seed(client.app, people)  # type: ignore[arg-type]
        public = client.get("/transparency/facial-recognition")
        assert public.status_code == 200 and "None planned." in public.text
        log_in(client, "ivy", PASSWORD)
        assert "Live FR" not in client.get("/").text
        refused = client.get("/fr/deployments")
        assert refused.status_code == 403 and "live facial recognition" in refused.text
        assert "live_fr" not in refused.text
        assert client.get("/fr/alerts/1/crop.jpg").status_code == 403
