"""playable copies of footage browsers cannot play (issue 10 item 2), and the owner process of an analysis job
(F11: a job of a dead server process is resumed at start-up whatever its heartbeat's age)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playable_copies",
        sa.Column("footage_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["footage_id"], ["footage.id"], name=op.f("fk_playable_copies_footage_id_footage"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("footage_id", name=op.f("pk_playable_copies")),
    )
    with op.batch_alter_table("playable_copies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playable_copies_status"), ["status"], unique=False)
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analysis_jobs", schema=None) as batch_op:
        batch_op.drop_column("owner")
    with op.batch_alter_table("playable_copies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playable_copies_status"))
    op.drop_table("playable_copies")
