"""registry: plugins and versions, audit log, configs, models, vector collections, tasks

Revision ID: registry_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import JSON, TIME, key

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = None


def define(metadata: sa.MetaData) -> None:
    sa.Table(
        "lao_plugins",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("name", key(128), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", key(16), nullable=False, server_default="active"),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'disabled', 'deprecated')", name="ck_lao_plugins_status"
        ),
    )
    sa.Table(
        "lao_plugin_versions",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("plugin_id", key(), sa.ForeignKey("lao_plugins.id"), nullable=False),
        sa.Column("version", key(32), nullable=False),
        sa.Column("manifest", JSON, nullable=False),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.UniqueConstraint("plugin_id", "version", name="uq_lao_plugin_versions"),
    )
    sa.Table(
        "lao_audit_logs",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("actor", key(128), nullable=False),
        sa.Column("action", key(64), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("result", key(32), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Index("ix_lao_audit_logs_actor_created", "actor", "created_at"),
    )
    sa.Table(
        "lao_configs",
        metadata,
        sa.Column("scope", key(), primary_key=True, server_default="global"),
        sa.Column("key", key(128), primary_key=True),
        sa.Column("value", JSON, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
    )
    sa.Table(
        "tai_models",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("name", key(128), nullable=False),
        sa.Column("provider", key(64), nullable=False),
        sa.Column("version", key(32), nullable=True),
        sa.Column("status", key(16), nullable=False, server_default="registered"),
        sa.Column("created_at", TIME, nullable=False),
        sa.UniqueConstraint("name", "provider", name="uq_tai_models_name_provider"),
        sa.CheckConstraint(
            "status IN ('registered', 'active', 'retired')", name="ck_tai_models_status"
        ),
    )
    sa.Table(
        "tai_vector_collections",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("name", key(128), nullable=False, unique=True),
        sa.Column("dims", sa.Integer(), nullable=False),
        sa.Column("index_type", key(32), nullable=False, server_default="hnsw"),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("dims > 0", name="ck_tai_vector_collections_dims"),
    )
    sa.Table(
        "tai_tasks",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("type", key(64), nullable=False),
        sa.Column("status", key(16), nullable=False),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="ck_tai_tasks_status",
        ),
        sa.Index("ix_tai_tasks_status_created", "status", "created_at"),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.drop_all(op.get_bind())
