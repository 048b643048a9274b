"""analysis runs that keep evidence, and the live sources of force cameras (issue 10, F2 and F4)

A forced re-analysis no longer deletes a footage's tracks: each analysis job is a run, track numbers restart per
run (unique per job, not per footage), and the tracks of a replaced run that carry review marks are kept, flagged
``superseded``. Live facial recognition reads only registered camera sources, whose URLs are stored encrypted; the
stream URLs that planned deployments held in clear are removed from them (their camera labels stay).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:40:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_at", vigil.db.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded", sa.Boolean(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_tracks_superseded"), ["superseded"], unique=False)
        batch_op.drop_constraint("uq_tracks_footage_id", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_tracks_job_id"), ["job_id", "track_no"])
    op.create_table(
        "camera_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("masked", sa.String(length=600), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_sources_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"], name=op.f("fk_camera_sources_set_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_sources")),
        sa.UniqueConstraint("camera_id", name=op.f("uq_camera_sources_camera_id")),
    )
    _forget_stream_urls()


def _forget_stream_urls() -> None:
    """Planned deployments held free-text stream URLs (possibly with credentials) in clear: keep only the labels."""
    connection = op.get_bind()
    deployments = sa.table("fr_deployments", sa.column("id", sa.Integer()), sa.column("streams", sa.Text()))
    for deployment_id, streams in connection.execute(sa.select(deployments.c.id, deployments.c.streams)).all():
        try:
            items = json.loads(streams or "[]")
        except ValueError:
            items = []
        labels = [{"camera": str(item.get("camera", "?"))} for item in items if isinstance(item, dict)]
        connection.execute(
            deployments.update().where(deployments.c.id == deployment_id).values(streams=json.dumps(labels))
        )


def downgrade() -> None:
    op.drop_table("camera_sources")
    connection = op.get_bind()
    tracks = sa.table("tracks", sa.column("superseded", sa.Boolean()))
    # Track numbers of kept superseded runs would collide under the old per-footage rule: they go on downgrade.
    connection.execute(sa.delete(tracks).where(tracks.c.superseded.is_(True)))
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tracks_job_id", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_tracks_footage_id"), ["footage_id", "track_no"])
        batch_op.drop_index(batch_op.f("ix_tracks_superseded"))
        batch_op.drop_column("superseded")
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.drop_column("superseded_at")
