"""What a pack declares: its tables, migrations, retention, seed rows, views and rules."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from doltplane.errors import InvalidInput

Plane = Literal["ops", "ledger"]
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
SYSTEM_COLUMNS = ("created_at", "updated_at", "version")


@dataclasses.dataclass(frozen=True)
class Retention:
    """Delete rows of ``table`` whose ``column`` (a time) is older than ``days``; with
    ``states``, only rows whose ``state_column`` holds one of them."""

    table: str
    column: str
    days: float
    states: tuple[str, ...] = ()
    state_column: str = "status"


@dataclasses.dataclass(frozen=True)
class StateMachine:
    """The allowed changes of ``column`` in ``table``: ``transitions[old]`` lists the states
    a row in ``old`` may move to; ``initial`` the states a new row may start in (empty: any
    state the machine names). Writing the same state again is always allowed."""

    table: str
    column: str
    transitions: Mapping[str, Sequence[str]]
    initial: tuple[str, ...] = ()

    @property
    def states(self) -> frozenset[str]:
        named = set(self.transitions) | set(self.initial)
        for targets in self.transitions.values():
            named |= set(targets)
        return frozenset(named)

    def allows(self, old: str | None, new: str) -> bool:
        if old is None:
            return new in (self.initial or self.states)
        return old == new or new in self.transitions.get(old, ())


@dataclasses.dataclass(frozen=True)
class WriteEvent:
    """One row written through ``dp.table(...).put``, handed to the pack's hooks inside
    the same write transaction (``before`` is None for a new row)."""

    table: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    actor: str


WriteHook = Callable[[sa.Connection, WriteEvent], None]


@dataclasses.dataclass(frozen=True)
class Pack:
    """A set of tables in one plane with their own migration branch.

    ``versions`` is an Alembic versions folder whose first revision has
    ``down_revision = None`` and ``branch_labels = (name,)``; revision ids start
    with ``<name>_`` so they never collide with another branch. ``metadata`` is
    the schema those migrations reach (a test checks they agree). ``seed`` rows
    are upserted by primary key on install, so seeding twice changes nothing.
    ``idempotency`` names, per table, the columns that scope an idempotency key
    (an empty tuple: the table alone is the scope). ``after_write`` hooks run in
    the write's own transaction (an audit row written there is never lost or extra).
    A table with a ``version`` column is compare-and-set unless it is listed in
    ``version_is_data`` (there ``version`` is the caller's data, e.g. a definition's).
    """

    name: str
    plane: Plane
    metadata: sa.MetaData
    versions: Path
    description: str = ""
    retention: tuple[Retention, ...] = ()
    seed: Mapping[str, Sequence[Mapping[str, Any]]] = dataclasses.field(default_factory=dict)
    views: tuple[str, ...] = ()
    state_machines: tuple[StateMachine, ...] = ()
    idempotency: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    after_write: Mapping[str, WriteHook] = dataclasses.field(default_factory=dict)
    version_is_data: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise InvalidInput(
                f"pack name must be 1-40 lower-case letters, digits or _: {self.name!r}"
            )
        if self.plane not in ("ops", "ledger"):
            raise InvalidInput(
                f"pack {self.name}: plane must be 'ops' or 'ledger', not {self.plane!r}"
            )
        if not Path(self.versions).is_dir():
            raise InvalidInput(f"pack {self.name}: no versions folder at {self.versions}")
        tables = self.metadata.tables
        for rule in self.retention:
            self._check_column(rule.table, rule.column, "retention")
            if rule.states:
                self._check_column(rule.table, rule.state_column, "retention")
        for machine in self.state_machines:
            self._check_column(machine.table, machine.column, "state machine")
        for table in {**self.seed, **self.idempotency, **self.after_write}:
            if table not in tables:
                raise InvalidInput(f"pack {self.name}: no table {table!r}")
        for table, columns in self.idempotency.items():
            for column in columns:
                self._check_column(table, column, "idempotency scope")

    def _check_column(self, table: str, column: str, what: str) -> None:
        found = self.metadata.tables.get(table)
        if found is None or column not in found.c:
            raise InvalidInput(f"pack {self.name}: {what} names unknown column {table}.{column}")

    @property
    def tables(self) -> list[str]:
        return [t.name for t in self.metadata.sorted_tables]

    def versioned(self, table: str) -> bool:
        """Whether writes to ``table`` are compare-and-set on its ``version`` column."""
        return "version" in self.metadata.tables[table].c and table not in self.version_is_data

    def machine(self, table: str) -> StateMachine | None:
        return next((m for m in self.state_machines if m.table == table), None)

    def describe(self) -> dict[str, Any]:
        """The pack's declarations as plain data (for ``pack status --json``)."""
        return {
            "name": self.name,
            "plane": self.plane,
            "description": self.description,
            "tables": self.tables,
            "views": list(self.views),
            "retention": [dataclasses.asdict(r) for r in self.retention],
            "state_machines": [
                {
                    "table": m.table,
                    "column": m.column,
                    "initial": list(m.initial),
                    "transitions": {k: list(v) for k, v in m.transitions.items()},
                }
                for m in self.state_machines
            ],
            "idempotency": {k: list(v) for k, v in self.idempotency.items()},
        }
