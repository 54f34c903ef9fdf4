"""The accounts pack: accounts own projects and credit wallets; projects own workflows,
profiles, targets and runs; credit transactions and audit events belong to the account
and can be filtered by project. Its seed (a demo account) is upserted, so seeding twice
changes nothing. It lives in the ledger plane: every change is a commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from doltplane.packs import Pack, StateMachine
from doltplane.packs.examples.accounts.versions import accounts_0001_tables as v1

metadata = sa.MetaData()
v1.define(metadata)

SEED: dict[str, list[dict[str, Any]]] = {
    "accounts": [{"id": "acct-demo", "name": "demo"}],
    "projects": [{"id": "proj-demo", "account_id": "acct-demo", "name": "demo"}],
    "workflows": [
        {
            "id": "wf-demo-build",
            "project_id": "proj-demo",
            "name": "build",
            "definition": {"steps": ["checkout", "test", "package"]},
        }
    ],
    "profiles": [{"id": "prof-demo", "project_id": "proj-demo", "name": "default", "settings": {}}],
    "targets": [
        {
            "id": "tgt-demo",
            "project_id": "proj-demo",
            "name": "staging",
            "kind": "http",
            "address": "http://127.0.0.1:8080",
        }
    ],
    "credit_wallets": [{"id": "wallet-demo", "account_id": "acct-demo", "balance": 100}],
}

pack = Pack(
    name="accounts",
    plane="ledger",
    metadata=metadata,
    versions=Path(__file__).parent / "versions",
    description="accounts, projects, runs, credit wallets and transactions, audit events",
    seed=SEED,
    state_machines=(
        StateMachine(
            "runs",
            "status",
            {"queued": ("running",), "running": ("succeeded", "failed")},
            initial=("queued",),
        ),
    ),
    idempotency={"credit_transactions": ("account_id",)},
)
