"""The face recognition pages' cast: a supervisor, an untrained investigator, case footage with a face."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tests.faces.builders import face_video, footage_of, hopper
from tests.support.builders import make_user

CASE = "CUM-2024-0042"


def staff(db: Session, data_dir: Path) -> None:
    """Supervisor 'sue' (live and retrospective FR), an untrained investigator, and case footage with a face."""
    sue = make_user(db, "sue", "supervisor", trained_for=("live_fr", "retrospective_fr", "analytics"))
    make_user(db, "ivan", "investigator", trained_for=("analytics",), cases=(CASE,))
    folder = data_dir / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    clip = face_video(folder / "clip.mp4", hopper(), visible=(3.0, 5.0))
    footage_of(db, data_dir=data_dir, user=sue, video=clip, case_ref=CASE)
