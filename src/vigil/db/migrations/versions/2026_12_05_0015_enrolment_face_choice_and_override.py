"""enrolment from real photos: which face of the photo was enrolled and how it was chosen, and a supervisor's
recorded override of a quality refusal (issue 15 item 4)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fr_enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("face_number", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("face_chosen", sa.String(length=8), server_default="only", nullable=False))
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("overridden_refusal", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("override_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_fr_enrolments_override_by_id_users"), "users", ["override_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("fr_enrolments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_fr_enrolments_override_by_id_users"), type_="foreignkey")
        batch_op.drop_column("override_by_id")
        batch_op.drop_column("overridden_refusal")
        batch_op.drop_column("override_reason")
        batch_op.drop_column("face_chosen")
        batch_op.drop_column("face_number")
