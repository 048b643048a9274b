"""camera wall (issue 12 items 6-7): live view sessions, bookmarks kept for a case, a recording policy per source

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("started_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_live_views_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_live_views_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_views")),
    )
    op.create_index(op.f("ix_live_views_user_id"), "live_views", ["user_id"], unique=False)
    op.create_table(
        "live_bookmarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_code", sa.String(length=64), nullable=False),
        sa.Column("at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_live_bookmarks_case_id_cases")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_live_bookmarks_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_bookmarks")),
    )
    op.create_index(op.f("ix_live_bookmarks_camera_code"), "live_bookmarks", ["camera_code"], unique=False)
    op.create_index(op.f("ix_live_bookmarks_case_id"), "live_bookmarks", ["case_id"], unique=False)
    with op.batch_alter_table("camera_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording", sa.String(length=16), nullable=False, server_default="continuous"))


def downgrade() -> None:
    with op.batch_alter_table("camera_sources", schema=None) as batch_op:
        batch_op.drop_column("recording")
    op.drop_index(op.f("ix_live_bookmarks_case_id"), table_name="live_bookmarks")
    op.drop_index(op.f("ix_live_bookmarks_camera_code"), table_name="live_bookmarks")
    op.drop_table("live_bookmarks")
    op.drop_index(op.f("ix_live_views_user_id"), table_name="live_views")
    op.drop_table("live_views")
