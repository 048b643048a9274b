"""Evidence export commands: `vigil export create`, `vigil export verify` and `vigil export list`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.commands.common import AsUser, JsonOut, acting_user, emit, settings, system_session, table

if TYPE_CHECKING:
    from vigil.search.export.verify import VerifyReport
    from vigil.settings import Settings

export_app = typer.Typer(help="Evidence bundles of confirmed tracks: create, verify, list.", no_args_is_help=True)
CaseOpt = Annotated[str | None, typer.Option("--case", envvar="VIGIL_CASE", help="Case reference.")]
PurposeOpt = Annotated[str | None, typer.Option("--purpose", envvar="VIGIL_PURPOSE", help="Policing purpose.")]


@export_app.command("create")
def export_create(
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    track: Annotated[
        list[int] | None, typer.Option("--track", help="A confirmed track to include (repeat; default: all).")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Also copy the bundle to this file.")] = None,
    as_user: AsUser = None,
    as_json: JsonOut = False,
) -> None:
    """Bundle the case's confirmed tracks (clips, stills, manifest with custody and audit) as a zip."""
    from vigil.governance.access import make_context
    from vigil.search.export.service import create_export, download_export

    with system_session() as (system, db):
        user = acting_user(db, as_user)
        context = make_context(case, purpose)
        row = create_export(db=db, user=user, context=context, settings=system.settings, track_ids=track or None)
        stored = system.settings.data_dir / row.stored_path
        if output is not None:
            _, stored = download_export(db, user=user, context=context, settings=system.settings, export_id=row.id)
            shutil.copyfile(stored, output)
        data = {"export": row.id, "path": str(stored), "sha256": row.sha256, "tracks": row.track_count}
        if output is not None:
            data["copy"] = str(output)
    emit(
        data,
        as_json,
        lambda: typer.echo(
            f"export {data['export']}: {data['tracks']} confirmed track(s) in {data['path']}\nSHA-256 {data['sha256']}"
            + (f"\ncopied to {output}" if output is not None else "")
        ),
    )


@export_app.command("verify")
def export_verify(
    bundle: Annotated[Path, typer.Argument(help="The bundle zip to check.")],
    as_json: JsonOut = False,
) -> None:
    """Check a bundle: every file's SHA-256, nothing added or missing, the manifest's digest and HMAC, the audit
    entries' hash links. Exit 0 when intact, 1 with each problem otherwise. The HMAC (proof the bundle was made
    by this system) is checked when this system's secret is at hand."""
    from vigil.governance.keys import secret_key
    from vigil.search.export.verify import verify_bundle

    config = settings()
    has_secret = (config.secret_key is not None and bool(config.secret_key.get_secret_value())) or (
        config.data_dir / "secret.key"
    ).is_file()
    report = verify_bundle(bundle, secret=secret_key(config) if has_secret else None)
    if report.origin_checked:  # made here: its audit entries must also be in this system's audit log
        _compare_with_audit_log(config, report)
    data = {
        "bundle": str(bundle),
        "intact": report.ok,
        "origin_checked": report.origin_checked,
        "audit_log_checked": report.chain_checked,
        "files_checked": report.files_checked,
        "audit_entries": report.audit_entries,
        "problems": report.problems,
    }
    emit(data, as_json, lambda: typer.echo("\n".join(report.describe())))
    if not report.ok:
        raise typer.Exit(1)


def _compare_with_audit_log(config: Settings, report: VerifyReport) -> None:
    """Compare the bundle's audit entries with this system's audit log, if its database is there to read."""
    from sqlalchemy.exc import SQLAlchemyError

    from vigil.db.session import session_scope
    from vigil.search.export.verify import compare_with_chain
    from vigil.system import open_system

    if config.is_sqlite and not (config.data_dir / "vigil.db").is_file():
        return
    system = open_system(config)
    try:
        with session_scope(system.sessions) as db:
            compare_with_chain(db, report)
    except SQLAlchemyError:
        report.chain_checked = False  # no readable audit log here: the bundle's own checks stand
    finally:
        system.close()


@export_app.command("list")
def export_list(
    case: CaseOpt = None, purpose: PurposeOpt = None, as_user: AsUser = None, as_json: JsonOut = False
) -> None:
    """The case's evidence bundles, newest first."""
    from vigil.governance.access import make_context
    from vigil.search.export.service import case_exports

    with system_session() as (_, db):
        user = acting_user(db, as_user)
        exports = case_exports(db, user=user, context=make_context(case, purpose))
        rows = [
            {
                "export": e.id,
                "created_at": e.created_at.isoformat(),
                "tracks": e.track_count,
                "size_bytes": e.size_bytes,
                "sha256": e.sha256,
                "path": e.stored_path,
            }
            for e in exports
        ]
    emit(
        rows,
        as_json,
        lambda: table(
            f"Evidence bundles of case {case}",
            ["Export", "Created (UTC)", "Tracks", "Bytes", "SHA-256", "Stored at"],
            [
                [
                    str(r["export"]),
                    str(r["created_at"]),
                    str(r["tracks"]),
                    str(r["size_bytes"]),
                    str(r["sha256"])[:16] + "…",
                    str(r["path"]),
                ]
                for r in rows
            ],
        ),
    )
