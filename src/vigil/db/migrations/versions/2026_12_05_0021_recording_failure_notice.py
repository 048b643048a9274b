"""recording failures: a camera's open recording-failure episode (the supervisors' notice), and users' email

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_failed_at", vigil.db.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("recording_failure", sa.Text(), server_default="", nullable=False))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
    with op.batch_alter_table("live_health", schema=None) as batch_op:
        batch_op.drop_column("recording_failure")
        batch_op.drop_column("recording_failed_at")
