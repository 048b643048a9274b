"""cases as an access boundary (issue 10, F6): case title, summary and status; case_members

Existing cases become open cases and the user who opened each becomes its member, so existing deployments
keep working.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("title", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("summary", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="open"))
    op.create_table(
        "case_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("removed_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_members_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_case_members_user_id_users")),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_case_members_added_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_members")),
    )
    op.create_index("ix_case_members_case_id_user_id", "case_members", ["case_id", "user_id"])
    op.create_index(op.f("ix_case_members_user_id"), "case_members", ["user_id"])
    # Existing cases: whoever opened one keeps working on it.
    op.execute(
        "INSERT INTO case_members (case_id, user_id, added_by_id, added_at) "
        "SELECT id, opened_by_id, opened_by_id, opened_at FROM cases"
    )
    op.execute("UPDATE cases SET status = 'closed' WHERE closed_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index(op.f("ix_case_members_user_id"), table_name="case_members")
    op.drop_index("ix_case_members_case_id_user_id", table_name="case_members")
    op.drop_table("case_members")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("status")
        batch.drop_column("summary")
        batch.drop_column("title")
