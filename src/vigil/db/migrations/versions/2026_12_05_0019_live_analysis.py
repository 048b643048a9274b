"""live analysis: each camera's analyser checkpoint, and analysis facts in its health (on/off, fps, tracks)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_checkpoints",
        sa.Column("camera_code", sa.String(length=64), nullable=False),
        sa.Column("origin", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("tracks", sa.Integer(), nullable=False),
        sa.Column("saved_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("camera_code", name=op.f("pk_live_checkpoints")),
    )
    with op.batch_alter_table("live_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analysis", sa.String(length=16), server_default="off", nullable=False))
        batch_op.add_column(sa.Column("analysed_fps", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("tracks", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("live_health", schema=None) as batch_op:
        batch_op.drop_column("tracks")
        batch_op.drop_column("analysed_fps")
        batch_op.drop_column("analysis")
    op.drop_table("live_checkpoints")
