"""`vigil rules`: list, create, renew and expire live rules (the same services as the browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from vigil.commands.common import AsUser, CaseOpt, JsonOut, PurposeOpt, acting_user, emit, system_session, table
from vigil.db.rule_models import LiveRule
from vigil.errors import InvalidInput
from vigil.live.rules.service import create_rule, end_rule, list_rules, parse_request, renew_rule
from vigil.search.similarity.by_example import MAX_PHOTO_BYTES
from vigil.watch.service import PhotoInput, create_watch, parse_watch

rules_app = typer.Typer(
    help="Live rules (zone entry, line crossing, loitering, occupancy, object left behind, appearance and "
    "similar-appearance watches) that raise alerts for operators to check. Each has a case, a purpose, an owner "
    "and an expiry of at most 31 days.",
    no_args_is_help=True,
)

Points = Annotated[
    str | None,
    typer.Option(help="Points as 'x,y x,y ...', each 0..1 of the picture's width and height (0,0: top left)."),
]


def _points(text: str | None, what: str) -> list[list[float]] | None:
    if text is None:
        return None
    try:
        return [[float(v) for v in pair.split(",")] for pair in text.split()]
    except ValueError:
        raise InvalidInput(f"{what}: write points as 'x,y x,y ...' with numbers from 0 to 1") from None


def rule_facts(rule: LiveRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "camera": rule.camera_code,
        "kind": rule.kind,
        "case": rule.case.reference,
        "owner": rule.owner.username,
        "expires": rule.expires_at.isoformat(timespec="seconds"),
        "ended": rule.ended_at.isoformat(timespec="seconds") if rule.ended_at else "",
    }


@rules_app.command("list")
def rules_list(
    camera: Annotated[str | None, typer.Option(help="Only this camera's rules.")] = None,
    include_ended: Annotated[bool, typer.Option("--all", help="Include ended and expired rules.")] = False,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """The live rules of the cases you work on (every case for a supervisor)."""
    with system_session() as (_system, db):
        user = acting_user(db, as_user)
        data = [rule_facts(r) for r in list_rules(db=db, user=user, camera=camera, include_ended=include_ended)]

    def render() -> None:
        keys = ["id", "name", "camera", "kind", "case", "owner", "expires", "ended"]
        table("live rules", keys, [[str(item[k]) for k in keys] for item in data])

    emit(data, as_json, render)


@rules_app.command("create")
def rules_create(
    camera: Annotated[str, typer.Option(help="Code of the force camera the rule watches.")],
    kind: Annotated[str, typer.Option(help="zone_entry, line_crossing, loitering, occupancy or left_behind.")],
    name: Annotated[str, typer.Option(help="Short name operators see on its alerts.")],
    days: Annotated[float, typer.Option(help="Days until it expires (at most 31; renewable).")],
    zone: Points = None,
    line: Points = None,
    direction: Annotated[str, typer.Option(help="either, left-to-right or right-to-left (from the first end).")] = (
        "either"
    ),
    classes: Annotated[str, typer.Option(help="Comma-separated kinds of object, e.g. person,car.")] = "person",
    seconds: Annotated[float, typer.Option(help="T: how long before it fires (loitering, occupancy, left).")] = 0,
    count: Annotated[int, typer.Option(help="N: occupancy fires when more than N are in the zone.")] = 0,
    radius: Annotated[float, typer.Option(help="Left behind: nobody within this fraction of the width.")] = 0.1,
    cooldown: Annotated[float, typer.Option(help="Seconds before the same track can fire it again.")] = 30,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Create a live rule for a case (analytics capability with current training; audited)."""
    with system_session() as (_system, db):
        user = acting_user(db, as_user)
        data = {
            "name": name,
            "camera": camera,
            "kind": kind,
            "polygon": _points(zone, "--zone"),
            "line": _points(line, "--line"),
            "direction": direction,
            "classes": [c.strip() for c in classes.split(",") if c.strip()],
            "seconds": seconds,
            "count": count,
            "radius": radius,
            "cooldown_s": cooldown,
            "days": days,
        }
        rule = create_rule(db=db, user=user, request=parse_request(data), case=case or "", purpose=purpose or "")
        facts = rule_facts(rule)
    emit(facts, as_json, lambda: typer.echo(f"rule {facts['id']} created; it expires {facts['expires']}"))


@rules_app.command("watch")
def rules_watch(
    cameras: Annotated[str, typer.Option(help="Comma-separated codes of the cameras to watch.")],
    name: Annotated[str, typer.Option(help="Short name operators see on its alerts.")],
    days: Annotated[float, typer.Option(help="Days until it expires (at most 31; renewable).")],
    description: Annotated[
        str, typer.Option(help="Appearance watch: what to look for, e.g. 'red top and a backpack heading north'.")
    ] = "",
    track: Annotated[int | None, typer.Option(help="Similar-appearance watch: the example track's number.")] = None,
    photo: Annotated[
        Path | None, typer.Option(help="Similar-appearance watch: a photo of the example (not stored, only hashed).")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Similar-appearance watch: similarity to alert at (0.3..1).")] = 0.8,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Watch live cameras for a description (--description) or for people like a track (--track) or a photo
    (--photo); a search, audited as one when created and each time it fires."""
    with system_session() as (system, db):
        user = acting_user(db, as_user)
        data = {
            "name": name,
            "kind": "similar_watch" if track is not None or photo is not None else "appearance_watch",
            "cameras": [c.strip() for c in cameras.split(",") if c.strip()],
            "description": description,
            "track": track,
            "threshold": threshold,
            "days": days,
        }
        zone = ZoneInfo(system.settings.timezone)
        request = parse_watch(data)
        example = None
        if photo is not None:
            from vigil.vision.detect import configured_detector  # loads a model: only when a photo is given

            if not photo.is_file():
                raise InvalidInput(f"--photo: {str(photo)!r} is not a readable photo file")
            with photo.open("rb") as handle:
                data_bytes = handle.read(MAX_PHOTO_BYTES + 1)
            vision = system.settings.vision
            example = PhotoInput(data_bytes, configured_detector(vision), vision.max_image_pixels)
        rule = create_watch(
            db=db, user=user, request=request, case=case or "", purpose=purpose or "", zone=zone, photo=example
        )
        facts = rule_facts(rule)
    emit(facts, as_json, lambda: typer.echo(f"watch {facts['id']} created; it expires {facts['expires']}"))


@rules_app.command("renew")
def rules_renew(
    rule_id: Annotated[int, typer.Argument(help="The rule's number (`vigil rules list`).")],
    days: Annotated[float, typer.Option(help="Days from now until it expires (at most 31).")],
    as_user: AsUser = None,
) -> None:
    """Extend a rule's expiry (audited)."""
    with system_session() as (_system, db):
        rule = renew_rule(db=db, user=acting_user(db, as_user), rule_id=rule_id, days=days)
        expires = rule.expires_at.isoformat(timespec="seconds")
    typer.echo(f"rule {rule_id} now expires {expires}")


@rules_app.command("expire")
def rules_expire(
    rule_id: Annotated[int, typer.Argument(help="The rule's number (`vigil rules list`).")],
    as_user: AsUser = None,
) -> None:
    """End a rule now: camera workers stop running it within seconds (audited)."""
    with system_session() as (_system, db):
        end_rule(db=db, user=acting_user(db, as_user), rule_id=rule_id)
    typer.echo(f"rule {rule_id} ended")
