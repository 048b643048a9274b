"""Footage of a given age on disk and in the database, for retention tests."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from tests.support.builders import make_camera, make_user
from vigil.db.base import utcnow
from vigil.db.models import Case, CustodyEvent, Footage
from vigil.settings import Settings


def aged_footage(db: Session, settings: Settings, name: str, *, age_days: float, case: Case | None = None) -> Footage:
    camera = make_camera(db, f"CAM-{name}")
    user = make_user(db, f"u{name.lower()}")
    content = f"video bytes of {name}".encode()
    digest = hashlib.sha256(content).hexdigest()
    stored = Path("footage") / digest[:2] / f"{digest}.mp4"
    (settings.data_dir / stored).parent.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / stored).write_bytes(content)
    derived = settings.data_dir / "derived"
    ingested = utcnow() - timedelta(days=age_days)
    footage = Footage(
        camera_id=camera.id,
        case_id=case.id if case else None,
        original_name=f"{name}.mp4",
        stored_path=str(stored),
        sha256=digest,
        size_bytes=len(content),
        container="mp4",
        codec="h264",
        width=640,
        height=480,
        fps=10.0,
        duration_s=60.0,
        start_time=ingested,
        start_time_source="operator",
        ingested_at=ingested,
        ingested_by_id=user.id,
        source="test",
    )
    footage.custody.append(CustodyEvent(actor=user.username, action="ingested", sha256=digest, at=ingested))
    db.add(footage)
    db.flush()
    (derived / str(footage.id)).mkdir(parents=True)
    (derived / str(footage.id) / "thumb.jpg").write_bytes(b"jpeg")
    return footage
