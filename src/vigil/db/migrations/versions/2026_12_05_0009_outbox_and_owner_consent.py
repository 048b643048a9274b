"""mail outbox and the owner-consent basis of footage sent through a footage request (issue 10)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("sent_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_messages_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_next_attempt_at"), ["next_attempt_at"], unique=False)
    with op.batch_alter_table("footage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_case_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_footage_consent_case_id_cases"), "cases", ["consent_case_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("footage", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_footage_consent_case_id_cases"), type_="foreignkey")
        batch_op.drop_column("consent_case_id")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_messages_subject_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_messages_status"))
    op.drop_table("outbox_messages")
