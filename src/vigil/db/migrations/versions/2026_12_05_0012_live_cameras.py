"""live cameras (issue 12): camera health, recording gaps and recorded segments

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_health",
        sa.Column("camera_code", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recording", sa.String(length=16), nullable=False),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("last_frame_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("drops", sa.Integer(), nullable=False),
        sa.Column("lag_s", sa.Float(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("worker_pid", sa.Integer(), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("updated_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("camera_code", name=op.f("pk_live_health")),
    )
    op.create_table(
        "live_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_code", sa.String(length=64), nullable=False),
        sa.Column("started_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("ended_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_gaps")),
    )
    op.create_index(op.f("ix_live_gaps_camera_code"), "live_gaps", ["camera_code"], unique=False)
    op.create_table(
        "live_segments",
        sa.Column("footage_id", sa.Integer(), nullable=False),
        sa.Column("camera_code", sa.String(length=64), nullable=False),
        sa.Column("started_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("ended_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("previous_footage_id", sa.Integer(), nullable=True),
        sa.Column("previous_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["footage_id"], ["footage.id"], name=op.f("fk_live_segments_footage_id_footage"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["previous_footage_id"],
            ["footage.id"],
            name=op.f("fk_live_segments_previous_footage_id_footage"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("footage_id", name=op.f("pk_live_segments")),
    )
    op.create_index(op.f("ix_live_segments_camera_code"), "live_segments", ["camera_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_live_segments_camera_code"), table_name="live_segments")
    op.drop_table("live_segments")
    op.drop_index(op.f("ix_live_gaps_camera_code"), table_name="live_gaps")
    op.drop_table("live_gaps")
    op.drop_table("live_health")
