"""live rules and their alerts (issue 12 items 4 and 5)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("camera_code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("ended_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_live_rules_case_id_cases")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_live_rules_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_rules")),
    )
    op.create_index(op.f("ix_live_rules_camera_code"), "live_rules", ["camera_code"], unique=False)
    op.create_index(op.f("ix_live_rules_case_id"), "live_rules", ["case_id"], unique=False)
    op.create_index(op.f("ix_live_rules_expires_at"), "live_rules", ["expires_at"], unique=False)
    op.create_table(
        "live_rule_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("camera_code", sa.String(length=64), nullable=False),
        sa.Column("at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("boxes", sa.Text(), nullable=False),
        sa.Column("snapshot_path", sa.String(length=500), nullable=True),
        sa.Column("clip_path", sa.String(length=500), nullable=True),
        sa.Column("clip_state", sa.String(length=16), nullable=False),
        sa.Column("clip_seconds", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("kept_for_case", sa.Boolean(), nullable=False),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_live_rule_alerts_decided_by_id_users")),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["live_rules.id"], name=op.f("fk_live_rule_alerts_rule_id_live_rules"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_rule_alerts")),
    )
    op.create_index(op.f("ix_live_rule_alerts_at"), "live_rule_alerts", ["at"], unique=False)
    op.create_index(op.f("ix_live_rule_alerts_camera_code"), "live_rule_alerts", ["camera_code"], unique=False)
    op.create_index(op.f("ix_live_rule_alerts_rule_id"), "live_rule_alerts", ["rule_id"], unique=False)
    op.create_index(op.f("ix_live_rule_alerts_state"), "live_rule_alerts", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_live_rule_alerts_state"), table_name="live_rule_alerts")
    op.drop_index(op.f("ix_live_rule_alerts_rule_id"), table_name="live_rule_alerts")
    op.drop_index(op.f("ix_live_rule_alerts_camera_code"), table_name="live_rule_alerts")
    op.drop_index(op.f("ix_live_rule_alerts_at"), table_name="live_rule_alerts")
    op.drop_table("live_rule_alerts")
    op.drop_index(op.f("ix_live_rules_expires_at"), table_name="live_rules")
    op.drop_index(op.f("ix_live_rules_case_id"), table_name="live_rules")
    op.drop_index(op.f("ix_live_rules_camera_code"), table_name="live_rules")
    op.drop_table("live_rules")
