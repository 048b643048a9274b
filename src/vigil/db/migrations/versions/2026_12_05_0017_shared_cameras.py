"""integrated third-party cameras (issue 14): owners' shared live streams and every view of them

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shared_cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("masked", sa.String(length=600), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("terms", sa.String(length=16), nullable=False),
        sa.Column("off_from", sa.String(length=5), nullable=True),
        sa.Column("off_until", sa.String(length=5), nullable=True),
        sa.Column("max_view_minutes", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("changed_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["registry_owners.id"],
            name=op.f("fk_shared_cameras_owner_id_registry_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_cameras")),
    )
    op.create_index(op.f("ix_shared_cameras_owner_id"), "shared_cameras", ["owner_id"], unique=False)
    op.create_index(op.f("ix_shared_cameras_status"), "shared_cameras", ["status"], unique=False)
    op.create_table(
        "shared_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("camera_label", sa.String(length=100), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approval_token_hash", sa.String(length=64), nullable=True),
        sa.Column("approval_expires_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("requested_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("started_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("ends_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("ended_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["shared_cameras.id"],
            name=op.f("fk_shared_views_camera_id_shared_cameras"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_shared_views_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["registry_owners.id"],
            name=op.f("fk_shared_views_owner_id_registry_owners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_shared_views_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_views")),
        sa.UniqueConstraint("approval_token_hash", name=op.f("uq_shared_views_approval_token_hash")),
    )
    for column in ("camera_id", "owner_id", "case_id", "user_id", "status"):
        op.create_index(op.f(f"ix_shared_views_{column}"), "shared_views", [column], unique=False)


def downgrade() -> None:
    for column in ("status", "user_id", "case_id", "owner_id", "camera_id"):
        op.drop_index(op.f(f"ix_shared_views_{column}"), table_name="shared_views")
    op.drop_table("shared_views")
    op.drop_index(op.f("ix_shared_cameras_status"), table_name="shared_cameras")
    op.drop_index(op.f("ix_shared_cameras_owner_id"), table_name="shared_cameras")
    op.drop_table("shared_cameras")
