"""live health: the cluster node a camera's worker runs on (empty on the local engine)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("node", sa.String(length=80), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("live_health", schema=None) as batch_op:
        batch_op.drop_column("node")
