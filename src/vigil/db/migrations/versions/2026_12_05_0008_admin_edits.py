"""administration from the browser: who created each account, withdrawn training records, retired locations

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_users_created_by_id_users"), "users", ["created_by_id"], ["id"])
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", vigil.db.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_training_records_withdrawn_by_id_users"), "users", ["withdrawn_by_id"], ["id"]
        )
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_column("is_active")
    with op.batch_alter_table("training_records", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_training_records_withdrawn_by_id_users"), type_="foreignkey")
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_by_id")
        batch_op.drop_column("withdrawn_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_users_created_by_id_users"), type_="foreignkey")
        batch_op.drop_column("created_by_id")
