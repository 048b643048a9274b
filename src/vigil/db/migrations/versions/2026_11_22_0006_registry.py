"""camera registry and footage requests (issue 5): owners, registered cameras, footage requests, uploads

On PostgreSQL the PostGIS extension is created, in its own schema ``postgis`` (so that its ``spatial_ref_sys``
table stays out of vigil's), when the server has it. ``CREATE EXTENSION`` needs a superuser: at a site where
vigil's database user is not one, a DBA runs ``CREATE SCHEMA postgis; CREATE EXTENSION postgis SCHEMA postgis``
once before upgrading. The extension is left in place by a downgrade.
and each registered camera's position is mirrored, by a trigger, as a PostGIS geography in
``registry_geo.camera_points`` under a GiST index, which serves the cameras-near-incident query. That table lives
in its own schema, outside vigil's models, so Alembic's model comparison (default schema only) never sees it;
SQLite has no such thing. Without PostGIS the query falls back to the bounding-box prefilter used on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vigil.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GEO_SCHEMA = "registry_geo"
POINTS = f"{GEO_SCHEMA}.camera_points"
POSTGIS_SCHEMA = "postgis"


def upgrade() -> None:
    op.create_table(
        "registry_owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.Column("postcode", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("consent_version", sa.String(length=16), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("verify_token_hash", sa.String(length=64), nullable=True),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("verify_expires_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("verified_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("updated_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("deleted_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_owners")),
        sa.UniqueConstraint("manage_token_hash", name=op.f("uq_registry_owners_manage_token_hash")),
        sa.UniqueConstraint("verify_token_hash", name=op.f("uq_registry_owners_verify_token_hash")),
    )
    with op.batch_alter_table("registry_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_owners_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_registry_owners_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_registry_owners_status"), ["status"], unique=False)

    op.create_table(
        "registered_cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("facing_deg", sa.Float(), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["registry_owners.id"],
            name=op.f("fk_registered_cameras_owner_id_registry_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_cameras")),
    )
    with op.batch_alter_table("registered_cameras", schema=None) as batch_op:
        batch_op.create_index("ix_registered_cameras_lat_lon", ["latitude", "longitude"], unique=False)
        batch_op.create_index(batch_op.f("ix_registered_cameras_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "footage_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("window_start", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("window_end", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("opened_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("first_upload_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("finished_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("declined_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("reminded_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.Column("send_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_footage_requests_case_id_cases")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_footage_requests_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["registry_owners.id"], name=op.f("fk_footage_requests_owner_id_registry_owners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_footage_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_footage_requests_token_hash")),
    )
    with op.batch_alter_table("footage_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_footage_requests_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_requests_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_requests_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_footage_requests_status"), ["status"], unique=False)

    op.create_table(
        "request_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("upload_key", sa.String(length=32), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("received_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("footage_id", sa.Integer(), nullable=True),
        sa.Column("created_at", vigil.db.base.UTCDateTime(), nullable=False),
        sa.Column("completed_at", vigil.db.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["footage_id"], ["footage.id"], name=op.f("fk_request_uploads_footage_id_footage")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["footage_requests.id"],
            name=op.f("fk_request_uploads_request_id_footage_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_uploads")),
        sa.UniqueConstraint("upload_key", name=op.f("uq_request_uploads_upload_key")),
    )
    with op.batch_alter_table("request_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_uploads_request_id"), ["request_id"], unique=False)

    _create_geography_index()


def _create_geography_index() -> None:
    """PostgreSQL with PostGIS only: each camera's geography point, kept by a trigger, under a GiST index."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).first()
    if available is None:
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {POSTGIS_SCHEMA}")
    op.execute(f"CREATE EXTENSION IF NOT EXISTS postgis SCHEMA {POSTGIS_SCHEMA}")
    gis = bind.execute(
        sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'postgis'")
    ).scalar_one()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {GEO_SCHEMA}")
    op.execute(
        f"CREATE TABLE {POINTS} (camera_id integer PRIMARY KEY REFERENCES registered_cameras (id) "
        f"ON DELETE CASCADE, geog {gis}.geography NOT NULL)"
    )
    op.execute(f"CREATE INDEX camera_points_geog ON {POINTS} USING gist (geog)")
    op.execute(
        f"""CREATE FUNCTION {GEO_SCHEMA}.sync_camera_point() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO {POINTS} (camera_id, geog)
            VALUES (NEW.id, {gis}.geography({gis}.ST_SetSRID({gis}.ST_MakePoint(NEW.longitude, NEW.latitude), 4326)))
            ON CONFLICT (camera_id) DO UPDATE SET geog = EXCLUDED.geog;
            RETURN NEW;
        END $$"""  # noqa: S608 (constants and the catalog's schema name, no input)
    )
    op.execute(
        "CREATE TRIGGER registered_cameras_point AFTER INSERT OR UPDATE OF latitude, longitude "
        f"ON registered_cameras FOR EACH ROW EXECUTE FUNCTION {GEO_SCHEMA}.sync_camera_point()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP SCHEMA IF EXISTS {GEO_SCHEMA} CASCADE")  # the points table, its function and trigger
    op.drop_table("request_uploads")
    op.drop_table("footage_requests")
    op.drop_table("registered_cameras")
    op.drop_table("registry_owners")
