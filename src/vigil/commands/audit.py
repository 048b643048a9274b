"""`vigil audit`: export the tamper-evident audit log, and anchor its chain outside the database (verify,
checkpoint, public-key)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vigil.commands.common import (
    AsUser,
    CaseOpt,
    JsonOut,
    PurposeOpt,
    acting_user,
    emit,
    parse_datetime,
    settings,
    system_session,
)

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
PublicKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--public-key",
        help="Check the checkpoints with this public key (ed25519:..., from `vigil audit public-key`) instead of "
        "the installation's signing key file.",
    ),
]


@audit_app.command("export")
def audit_export(
    since: Annotated[str | None, typer.Option(help="Only entries at or after this ISO date/time.")] = None,
    filter_case: Annotated[str | None, typer.Option(help="Only entries for this case reference.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file instead of stdout.")] = None,
    case: CaseOpt = None,
    purpose: PurposeOpt = None,
    as_user: AsUser = None,
) -> None:
    """Export audit entries (with their hashes) for auditors; the export is audited with its case and purpose."""
    from vigil.governance.access import make_context
    from vigil.governance.audit_review import AuditFilter, export_audit

    with system_session() as (_, db):
        user = acting_user(db, as_user)
        where = AuditFilter(case_ref=filter_case, since=parse_datetime(since, "--since") if since else None)
        text = export_audit(db, actor=user, context=make_context(case, purpose), where=where, fmt=fmt)
    if output:
        output.write_text(text)
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


@audit_app.command("verify")
def audit_verify(public_key: PublicKeyOpt = None, as_json: JsonOut = False) -> None:
    """Walk the hash chain, then check it against every signed checkpoint (exit 1 if either fails).

    Names what it finds: a broken link, TRUNCATED (tail deleted below a checkpoint), RE-CHAINED (entries rewritten
    and re-hashed), FORGED ENTRY (added after a checkpoint it predates), TAMPERED CHECKPOINT (bad signature).
    """
    from vigil.governance.audit import verify
    from vigil.governance.audit_anchor import check_anchors

    with system_session() as (system, db):
        chain = verify(db)
        anchors = check_anchors(db, settings=system.settings, public_key=public_key)
    data = {
        "ok": chain.ok and anchors.ok,
        "chain": chain.__dict__,
        "checkpoints": anchors.checkpoints,
        "checkpoint_problems": anchors.problems,
    }

    def show() -> None:
        typer.echo(chain.describe())
        typer.echo(anchors.describe())

    emit(data, as_json, show)
    if not data["ok"]:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign and append a checkpoint of the chain now (the web server also writes one periodically and at shutdown).

    Refuses (exit 2) if the chain no longer continues the last checkpoint: a tampered chain is never signed.
    """
    from vigil.governance.audit_anchor import checkpoint_now

    with system_session() as (system, db):
        checkpoint = checkpoint_now(db, settings=system.settings)
    target = system.settings.audit_checkpoint_file
    if checkpoint is None:
        typer.echo(f"no new audit entries since the last checkpoint in {target}")
    else:
        typer.echo(f"checkpoint {checkpoint.n} written to {target}: entry {checkpoint.seq}, {checkpoint.count} entries")


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the public key that checks the audit checkpoints (give it to auditors; the private key stays put)."""
    from vigil.governance.audit_anchor import ensure_signing_key, public_key_text

    config = settings()
    with system_session():
        key = ensure_signing_key(key_file=config.audit_signing_key_file, checkpoint_file=config.audit_checkpoint_file)
    typer.echo(public_key_text(key))
