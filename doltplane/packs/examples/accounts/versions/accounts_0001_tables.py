"""accounts: accounts, projects and what they own, runs, credit wallets and transactions, audit

Revision ID: accounts_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import JSON, TIME, key

revision = "accounts_0001"
down_revision = None
branch_labels = ("accounts",)
depends_on = None


def _owned_by_project(name: str, metadata: sa.MetaData, *columns: sa.Column) -> None:  # type: ignore[type-arg]
    sa.Table(
        name,
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", key(128), nullable=False),
        *columns,
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("project_id", "name", name=f"uq_{name}_project_name"),
    )


def define(metadata: sa.MetaData) -> None:
    sa.Table(
        "accounts",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("name", key(128), nullable=False, unique=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
    )
    sa.Table(
        "projects",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("account_id", key(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("name", key(128), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("account_id", "name", name="uq_projects_account_name"),
    )
    _owned_by_project("workflows", metadata, sa.Column("definition", JSON, nullable=True))
    _owned_by_project("profiles", metadata, sa.Column("settings", JSON, nullable=True))
    _owned_by_project(
        "targets",
        metadata,
        sa.Column("kind", key(32), nullable=False),
        sa.Column("address", sa.String(1024), nullable=False),
    )
    sa.Table(
        "runs",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("workflow_id", key(), sa.ForeignKey("workflows.id"), nullable=False),
        sa.Column("status", key(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="ck_runs_status"
        ),
        sa.Index("ix_runs_project_created", "project_id", "created_at"),
    )
    sa.Table(
        "run_steps",
        metadata,
        sa.Column("run_id", key(), sa.ForeignKey("runs.id"), primary_key=True),
        sa.Column("step", sa.Integer(), primary_key=True),
        sa.Column("name", key(128), nullable=False),
        sa.Column("status", key(16), nullable=False),
        sa.Column("output", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("step >= 0", name="ck_run_steps_step"),
    )
    sa.Table(
        "credit_wallets",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("account_id", key(), sa.ForeignKey("accounts.id"), nullable=False, unique=True),
        sa.Column("balance", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_credit_wallets_balance"),
    )
    sa.Table(
        "credit_transactions",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("wallet_id", key(), sa.ForeignKey("credit_wallets.id"), nullable=False),
        sa.Column("account_id", key(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("project_id", key(), sa.ForeignKey("projects.id"), nullable=True),
        sa.Column("kind", key(16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint(
            "kind IN ('grant', 'spend', 'refund')", name="ck_credit_transactions_kind"
        ),
        sa.CheckConstraint("amount > 0", name="ck_credit_transactions_amount"),
        sa.Index("ix_credit_transactions_account_created", "account_id", "created_at"),
        sa.Index("ix_credit_transactions_project_created", "project_id", "created_at"),
    )
    sa.Table(
        "audit_events",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("account_id", key(), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("project_id", key(), sa.ForeignKey("projects.id"), nullable=True),
        sa.Column("actor", key(128), nullable=False),
        sa.Column("action", key(64), nullable=False),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Index("ix_audit_events_account_created", "account_id", "created_at"),
        sa.Index("ix_audit_events_project_created", "project_id", "created_at"),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.drop_all(op.get_bind())
