"""`vigil search "DESCRIPTION" --case C --purpose P [--json]`: the search page's twin on the command line.

Prints what vigil understood (filters, words not understood, notices) and the candidate tracks. The run is
audited with the purpose and case exactly as a search from the web page; a request to identify someone is
refused (and audited) before anything runs.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vigil.commands.common import AsUser, CaseOpt, JsonOut, PurposeOpt, acting_user, emit, system_session


def search(
    description: Annotated[str, typer.Argument(help="What you are looking for, in plain English.")],
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Most candidates to list.")] = 60,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Search analysed footage by description (clothing colours, bags, vehicles, places, times, heading)."""
    from vigil.governance.access import make_context
    from vigil.search.query.service import query_json, refuse_description, run_search, understand

    with system_session() as (system, db):
        user = acting_user(db, as_user)
        context = make_context(case, purpose)
        zone = system.settings.zone
        understood = understand(db, description=description, zone=zone)
        refuse_description(db, user=user, context=context, understanding=understood)
        query = understood.query.model_copy(update={"limit": limit})
        results = run_search(db=db, user=user, context=context, query=query, description=description, zone=zone)
        data: dict[str, Any] = {
            "description": description,
            "understood": understood.chips,
            "query": query_json(query),
            "unknown_words": understood.unknown,
            "notices": understood.notices,
            "results": [card.as_dict() for card in results.cards],
            "more": results.more,
        }
    emit(data, as_json, lambda: _print(data))


_LOOKS = (("upper", "top"), ("lower", "legs"), ("body", "colour"), ("carried", "carrying"))


def _print(data: dict[str, Any]) -> None:
    err = Console(stderr=True, highlight=False)
    err.print("[bold]Understood:[/] " + ("; ".join(data["understood"]) or "no filters (every track)"))
    if data["unknown_words"]:
        err.print("[bold yellow]Not understood:[/] " + ", ".join(data["unknown_words"]))
    for notice in data["notices"]:
        err.print(f"[yellow]note:[/] {notice}")
    table = Table(title=f"{len(data['results'])}{'+' if data['more'] else ''} candidates (check each one)")
    for column in ("track", "seen", "camera", "class", "looks", "heading", "speed"):
        table.add_column(column)
    for r in data["results"]:
        looks = [f"{name} {' '.join(r[key])}" for key, name in _LOOKS if r[key]]
        table.add_row(
            str(r["track_id"]),
            r["seen_local"],
            r["camera_code"],
            r["class_name"],
            "; ".join(looks),
            r["heading"],
            r["speed"],
        )
    Console().print(table)
