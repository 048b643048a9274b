"""Subjects, enrolled images and watchlists.

A subject is entered on a stated authority with a reason and an expiry date; from each enrolled photo one face is
taken (the only one, the one the enroller chose, or the one that plainly stands out), good enough to enrol unless
a supervisor overrides the quality check with a recorded reason. A watchlist is built from subjects' enrolments (the
embedding is copied into the entry, a snapshot) and frozen when its deployment starts: after that, nothing is
added. Subjects past their expiry date cannot be enrolled or added. Every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.db.base import utcnow
from vigil.db.face_models import Enrolment, Subject, Watchlist, WatchlistEntry
from vigil.db.models import User
from vigil.errors import Conflict, InvalidInput, NotFound
from vigil.faces.images import CheckedFace, Photo, jpeg, model_name, one_face, photo_extension, to_bytes, write_file
from vigil.governance import audit
from vigil.governance.access import authorise, current_training, refuse
from vigil.governance.audit import AuditContext
from vigil.governance.roles import Capability, Role, role_grants_capability
from vigil.settings import Settings
from vigil.vision.faces import FaceRecognizer

CATEGORIES = ("wanted", "missing", "vulnerable", "witness")
KINDS = ("deployment", "standing")
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.\-]{1,63}$")
MIN_REASON_CHARS = 10


def fr_capability(
    db: Session, *, user: User, action: str, context: AuditContext | None, now: datetime | None = None
) -> Capability:
    """Authorise a watchlist action for a user trained in live or retrospective FR; the capability used.

    Refusals (no such role grant, no current training, no context when one is given as required) are audited.
    """
    now = now or utcnow()
    for capability in (Capability.LIVE_FR, Capability.RETROSPECTIVE_FR):
        trained = current_training(db, user=user, capability=capability, today=now.date()) is not None
        if role_grants_capability(user.role, capability) and trained:
            authorise(
                db, user=user, capability=capability, action=action, context=context, context_required=False, now=now
            )
            return capability
    fallback = (
        Capability.LIVE_FR if role_grants_capability(user.role, Capability.LIVE_FR) else Capability.RETROSPECTIVE_FR
    )
    authorise(db, user=user, capability=fallback, action=action, context=context, context_required=False, now=now)
    raise AssertionError("authorise refuses a user without a current grant")  # pragma: no cover


def _audit(
    db: Session,
    user: User,
    action: str,
    capability: Capability,
    context: AuditContext | None,
    subject: tuple[str, str | int],
    details: dict[str, object],
    now: datetime,
) -> None:
    audit.record(
        db,
        actor=user.username,
        action=action,
        capability=capability.value,
        context=context,
        subject_type=subject[0],
        subject_id=subject[1],
        details=details,
        now=now,
    )


@dataclass(frozen=True)
class SubjectForm:
    """What a new subject needs: who they are to the force, why, on whose authority and until when."""

    reference: str
    category: str
    reason: str
    authority: str
    expires_on: date

    def checked(self, today: date) -> SubjectForm:
        reference, reason, authority = self.reference.strip(), " ".join(self.reason.split()), self.authority.strip()
        if not REFERENCE_PATTERN.match(reference):
            raise InvalidInput("subject reference must be 2-64 letters, digits or / _ . - (e.g. a warrant number)")
        if self.category not in CATEGORIES:
            raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}")
        if len(reason) < MIN_REASON_CHARS:
            raise InvalidInput(f"state the reason for listing in at least {MIN_REASON_CHARS} characters")
        if not authority or len(authority) > 200:
            raise InvalidInput(
                "state the authority (e.g. the warrant or the authorising officer), up to 200 characters"
            )
        if self.expires_on <= today:
            raise InvalidInput("the expiry date must be in the future")
        return SubjectForm(reference, self.category, reason, authority, self.expires_on)


def create_subject(
    db: Session, *, user: User, form: SubjectForm, context: AuditContext | None = None, now: datetime | None = None
) -> Subject:
    """Enter a subject (audited ``fr.subject.create``); the reference must be new."""
    now = now or utcnow()
    capability = fr_capability(db, user=user, action="fr.subject.create", context=context, now=now)
    form = form.checked(now.date())
    if db.execute(select(Subject.id).where(Subject.reference == form.reference)).first():
        raise Conflict(f"subject {form.reference} already exists")
    subject = Subject(
        reference=form.reference,
        category=form.category,
        reason=form.reason,
        authority=form.authority,
        expires_on=form.expires_on,
        added_by_id=user.id,
        added_at=now,
    )
    db.add(subject)
    db.flush()
    details: dict[str, object] = {
        "category": form.category,
        "reason": form.reason,
        "authority": form.authority,
        "expires_on": form.expires_on.isoformat(),
    }
    _audit(db, user, "fr.subject.create", capability, context, ("fr_subject", form.reference), details, now)
    return subject


def get_subject(db: Session, reference: str) -> Subject:
    subject = db.execute(select(Subject).where(Subject.reference == reference.strip())).scalar_one_or_none()
    if subject is None:
        raise NotFound(f"no subject {reference!r} (add it first: vigil fr subject add)")
    return subject


def _check_current(subject: Subject, today: date) -> None:
    if subject.expires_on < today:
        raise InvalidInput(f"subject {subject.reference} expired on {subject.expires_on.isoformat()}")


@dataclass(frozen=True)
class FaceChoice:
    """How to take a face from an enrolment photo: which face (its number, for one photo at a time) and a
    supervisor's reason for overriding a quality refusal (the override is recorded on the enrolment and audited)."""

    face: int | None = None
    override_reason: str | None = None


def _checked_choice(
    db: Session, user: User, choice: FaceChoice, photos: int, context: AuditContext | None, now: datetime
) -> FaceChoice:
    if choice.face is not None and photos != 1:
        raise InvalidInput("choose a face by its number for one photo at a time")
    if choice.override_reason is None:
        return choice
    reason = " ".join(choice.override_reason.split())
    if user.role != Role.SUPERVISOR:
        raise refuse(
            db,
            actor=user.username,
            action="fr.enrol.override",
            reason="only a supervisor may override a face-quality refusal",
            context=context,
            details={"override_reason": reason[:200]},
        )
    if not MIN_REASON_CHARS <= len(reason) <= 1000:
        raise InvalidInput(f"state the reason for overriding the quality check in {MIN_REASON_CHARS}-1000 characters")
    return FaceChoice(choice.face, reason)


def enrol_photos(
    db: Session,
    *,
    settings: Settings,
    user: User,
    recognizer: FaceRecognizer,
    subject_ref: str,
    photos: Sequence[tuple[str, Photo]],
    choice: FaceChoice | None = None,
    context: AuditContext | None = None,
    now: datetime | None = None,
) -> list[Enrolment]:
    """Enrol (label, photo) pairs for a subject: from each, its one face, the face chosen by number, or the face that
    plainly stands out (else :class:`~vigil.faces.images.SeveralFaces` lists them to choose from); each must be fit
    to enrol unless a supervisor overrides the quality refusal with a reason (``choice``).

    Every photo is checked before anything is stored, so a refused photo leaves no enrolment behind. A photo
    already enrolled for the subject (same SHA-256) is returned as it is. Audited ``fr.enrol`` per image.
    """
    now = now or utcnow()
    capability = fr_capability(db, user=user, action="fr.enrol", context=context, now=now)
    subject = get_subject(db, subject_ref)
    _check_current(subject, now.date())
    if not photos:
        raise InvalidInput("give at least one image to enrol")
    choice = _checked_choice(db, user, choice or FaceChoice(), len(photos), context, now)
    override = choice.override_reason is not None
    floor = settings.faces.enrol_min_quality
    checked = [
        (
            label,
            photo,
            one_face(
                recognizer, photo, label=label, use="enrol", min_quality=floor, face=choice.face, override=override
            ),
        )
        for label, photo in photos
    ]
    model = model_name(recognizer)
    existing = {e.sha256: e for e in subject.enrolments if e.model == model}
    result = []
    for label, photo, face in checked:
        if photo.sha256 in existing:
            result.append(existing[photo.sha256])
            continue
        overrider = (user, choice.override_reason) if face.overridden else None
        enrolment = _store(db, settings, subject, photo, face, model=model, user=user, now=now, override=overrider)
        existing[photo.sha256] = enrolment
        result.append(enrolment)
        details = _enrol_details(label, photo, face, choice.override_reason if overrider else None)
        _audit(db, user, "fr.enrol", capability, context, ("fr_subject", subject.reference), details, now)
    db.refresh(subject)
    return result


def _enrol_details(label: str, photo: Photo, face: CheckedFace, override_reason: str | None) -> dict[str, object]:
    """The audit details of one enrolled image (with the override, when a supervisor overrode the quality check)."""
    details: dict[str, object] = {
        "image": label,
        "sha256": photo.sha256,
        "quality": face.quality.score,
        "face": face.number,
        "chosen": face.chosen,
    }
    if override_reason is not None:
        details |= {"override_reason": override_reason, "overridden_refusal": list(face.overridden)}
    return details


def _store(
    db: Session,
    settings: Settings,
    subject: Subject,
    photo: Photo,
    face: CheckedFace,
    *,
    model: str,
    user: User,
    now: datetime,
    override: tuple[User, str | None] | None = None,
) -> Enrolment:
    """Write an enrolled photo and its face crop under ``faces/subjects/<id>/`` and add its row."""
    relative = f"faces/subjects/{subject.id}/{photo.sha256}{photo_extension(photo)}"
    write_file(settings.data_dir, relative, photo.data)
    write_file(settings.data_dir, f"faces/subjects/{subject.id}/{photo.sha256}.crop.jpg", jpeg(face.crop))
    enrolment = Enrolment(
        subject_id=subject.id,
        stored_path=relative,
        sha256=photo.sha256,
        quality=face.quality.score,
        embedding=to_bytes(face.embedding),
        model=model,
        enrolled_by_id=user.id,
        enrolled_at=now,
        face_number=face.number,
        face_chosen=face.chosen,
        override_reason=override[1] if override else None,
        overridden_refusal="; ".join(face.overridden) if override else None,
        override_by_id=override[0].id if override else None,
    )
    db.add(enrolment)
    db.flush()
    return enrolment


def create_watchlist(
    db: Session,
    *,
    user: User,
    name: str,
    kind: str = "deployment",
    context: AuditContext | None = None,
    now: datetime | None = None,
) -> Watchlist:
    """A new, empty watchlist (audited ``fr.watchlist.create``)."""
    now = now or utcnow()
    capability = fr_capability(db, user=user, action="fr.watchlist.create", context=context, now=now)
    name = " ".join(name.split())
    if not 2 <= len(name) <= 200:
        raise InvalidInput("a watchlist name has 2-200 characters")
    if kind not in KINDS:
        raise InvalidInput(f"watchlist kind must be one of {', '.join(KINDS)}")
    if db.execute(select(Watchlist.id).where(Watchlist.name == name)).first():
        raise Conflict(f"watchlist {name!r} already exists")
    watchlist = Watchlist(name=name, kind=kind, created_by_id=user.id, created_at=now)
    db.add(watchlist)
    db.flush()
    _audit(db, user, "fr.watchlist.create", capability, context, ("fr_watchlist", name), {"kind": kind}, now)
    return watchlist


def get_watchlist(db: Session, name: str) -> Watchlist:
    found = db.execute(select(Watchlist).where(Watchlist.name == " ".join(name.split()))).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no watchlist {name!r} (create it first: vigil fr watchlist create)")
    return found


def add_subjects(
    db: Session,
    *,
    user: User,
    watchlist_name: str,
    subject_refs: Sequence[str],
    context: AuditContext | None = None,
    now: datetime | None = None,
) -> list[WatchlistEntry]:
    """Put subjects' current enrolments on a watchlist that is not frozen (audited ``fr.watchlist.add``).

    Expired subjects and subjects with no enrolled image are refused; an enrolment already on the list is kept.
    """
    now = now or utcnow()
    capability = fr_capability(db, user=user, action="fr.watchlist.add", context=context, now=now)
    watchlist = get_watchlist(db, watchlist_name)
    if watchlist.frozen_at is not None:
        raise Conflict(f"watchlist {watchlist.name!r} was frozen on {watchlist.frozen_at:%Y-%m-%d %H:%M} UTC")
    subjects = [get_subject(db, ref) for ref in subject_refs]
    for subject in subjects:
        _check_current(subject, now.date())
        if not subject.enrolments:
            raise InvalidInput(f"subject {subject.reference} has no enrolled image")
    on_list = {e.enrolment_id for e in watchlist.entries}
    added = []
    for subject in subjects:
        for enrolment in subject.enrolments:
            if enrolment.id in on_list:
                continue
            entry = WatchlistEntry(
                subject_id=subject.id,
                enrolment_id=enrolment.id,
                embedding=enrolment.embedding,
                model=enrolment.model,
                added_by_id=user.id,
                added_at=now,
            )
            watchlist.entries.append(entry)
            added.append(entry)
            on_list.add(enrolment.id)
        details: dict[str, object] = {"subject": subject.reference, "category": subject.category}
        _audit(db, user, "fr.watchlist.add", capability, context, ("fr_watchlist", watchlist.name), details, now)
    db.flush()
    return added


def freeze_watchlist(
    db: Session, *, user: User, watchlist_name: str, context: AuditContext | None = None, now: datetime | None = None
) -> Watchlist:
    """Freeze a watchlist (no more changes), as a deployment does when it starts (audited)."""
    now = now or utcnow()
    capability = fr_capability(db, user=user, action="fr.watchlist.freeze", context=context, now=now)
    watchlist = get_watchlist(db, watchlist_name)
    if watchlist.frozen_at is not None:
        return watchlist
    if not watchlist.entries:
        raise InvalidInput(f"watchlist {watchlist.name!r} is empty; add subjects before freezing it")
    watchlist.frozen_at = now
    details: dict[str, object] = {"entries": len(watchlist.entries)}
    _audit(db, user, "fr.watchlist.freeze", capability, context, ("fr_watchlist", watchlist.name), details, now)
    db.flush()
    return watchlist


def enrol_to_watchlist(
    db: Session,
    *,
    settings: Settings,
    user: User,
    recognizer: FaceRecognizer,
    watchlist_name: str,
    subject_ref: str,
    photos: Sequence[tuple[str, Photo]],
    choice: FaceChoice | None = None,
    context: AuditContext | None = None,
    now: datetime | None = None,
) -> list[WatchlistEntry]:
    """Enrol a subject's photos and put them on a watchlist (checked open before anything is stored)."""
    watchlist = get_watchlist(db, watchlist_name)
    if watchlist.frozen_at is not None:
        raise Conflict(f"watchlist {watchlist.name!r} was frozen on {watchlist.frozen_at:%Y-%m-%d %H:%M} UTC")
    enrol_photos(
        db,
        settings=settings,
        user=user,
        recognizer=recognizer,
        subject_ref=subject_ref,
        photos=photos,
        choice=choice,
        context=context,
        now=now,
    )
    return add_subjects(
        db, user=user, watchlist_name=watchlist.name, subject_refs=[subject_ref], context=context, now=now
    )
