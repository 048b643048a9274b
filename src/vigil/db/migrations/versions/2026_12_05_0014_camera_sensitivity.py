"""per-camera detection sensitivity: a confident-detection score and a small person's height in pixels

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detect_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("person_height_px", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.drop_column("person_height_px")
        batch_op.drop_column("detect_score")
