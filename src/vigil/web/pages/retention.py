"""Retention: the policies in force, what is due for deletion now, the latest runs, and "Run now"."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from vigil.governance.retention import retention_status, run_retention_now
from vigil.settings import RetentionSettings
from vigil.system import default_rules
from vigil.web.auth import CurrentUser, flash
from vigil.web.deps import DbSession
from vigil.web.rendering import render
from vigil.web.state import web_state

router = APIRouter(include_in_schema=False)


def policies(settings: RetentionSettings) -> list[tuple[str, str]]:
    """(description, value with unit) of each retention setting, as the settings model documents it."""
    rows = []
    for name, field in RetentionSettings.model_fields.items():
        unit = name.rsplit("_", 1)[-1] if name.endswith(("_days", "_hours", "_minutes")) else ""
        rows.append((field.description or name, f"{getattr(settings, name):g} {unit}".strip()))
    return rows


@router.get("/retention")
def retention_page(request: Request, db: DbSession, user: CurrentUser) -> Response:
    settings = web_state(request).system.settings
    status = retention_status(db, actor=user, rules=default_rules(settings))
    return render(
        request,
        "retention.html",
        user=user,
        section="retention",
        policies=policies(settings.retention),
        due=status.due_now,
        runs=status.last_runs,
    )


@router.post("/retention/run")
def retention_run(request: Request, db: DbSession, user: CurrentUser) -> Response:
    settings = web_state(request).system.settings
    report = run_retention_now(db, actor=user, rules=default_rules(settings), data_dir=settings.data_dir)
    deleted = ", ".join(f"{r.data_class}: {r.rows} records, {r.files} files" for r in report.results)
    flash(request, f"Retention run finished ({deleted}).")
    for problem in report.file_errors:
        flash(request, problem, "error")
    return RedirectResponse("/retention", status_code=303)
