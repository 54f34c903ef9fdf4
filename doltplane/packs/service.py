"""``dp.packs``: list, install, migrate, seed, inspect and clean up schema packs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from doltplane.errors import InvalidInput, NotFound
from doltplane.packs import registry, rows
from doltplane.packs.installed import ensure_framework, installed_names, packs_table
from doltplane.packs.model import Pack
from doltplane.packs.table import PackTable

if TYPE_CHECKING:
    from doltplane.client import DataPlane
    from doltplane.migrations.runner import Revision


@dataclasses.dataclass(frozen=True)
class PackStatus:
    name: str
    plane: str
    description: str
    installed: bool
    tables: tuple[str, ...]
    applied: tuple[str, ...]
    pending: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class InstallResult:
    name: str
    plane: str
    newly_installed: bool
    migrations: tuple[str, ...]
    seeded_rows: int


@dataclasses.dataclass(frozen=True)
class RetentionResult:
    pack: str
    table: str
    cutoff: dt.datetime
    states: tuple[str, ...]
    deleted: int
    dry_run: bool


class Packs:
    """The schema packs of one data plane (``dp.packs``)."""

    def __init__(self, dp: DataPlane) -> None:
        self._dp = dp

    def available(self) -> list[Pack]:
        return list(registry.available().values())

    def installed(self) -> list[Pack]:
        """Installed packs, opening each plane that has any."""
        found = registry.available()
        names = {n for plane in ("ops", "ledger") for n in self._installed(plane)}
        return [found[n] for n in sorted(names) if n in found]

    def _installed(self, plane: str) -> list[str]:
        return installed_names(self._dp.engine(plane))

    def register(self, pack: Pack) -> Pack:
        return registry.register(pack)

    # --- install, migrate, seed ----------------------------------------------
    def install(self, name: str) -> InstallResult:
        """Record the pack in its plane, apply its migrations (each its own commit) and
        upsert its seed rows; running it again changes nothing."""
        from doltplane.migrations import runner

        pack = registry.get(name)
        engine = self._dp.engine(pack.plane)

        def record(conn: sa.Connection) -> bool:
            ensure_framework(conn)
            exists = conn.execute(
                sa.select(packs_table.c.name).where(packs_table.c.name == pack.name)
            ).first()
            if exists is None:
                conn.execute(
                    packs_table.insert().values(name=pack.name, installed_at=rows.utc_now())
                )
            return exists is None

        new = engine.write(record, message=lambda n: f"pack install {pack.name}" if n else None)
        applied = runner.upgrade(engine, pack.plane)
        seeded = self.seed(pack.name)
        return InstallResult(
            pack.name,
            pack.plane,
            new,
            tuple(r.revision for r in applied if r.revision.startswith(f"{pack.name}_")),
            seeded,
        )

    def seed(self, name: str) -> int:
        """Upsert the seed rows; how many were inserted or changed (0 the second time)."""
        pack = self._require(name)
        if not pack.seed:
            return 0
        engine = self._dp.engine(pack.plane)

        def apply(conn: sa.Connection) -> int:
            changed = 0
            for table_name in [t for t in pack.tables if t in pack.seed]:
                table = pack.metadata.tables[table_name]
                for seed_row in pack.seed[table_name]:
                    key = rows.key_of(table, {c.name: seed_row[c.name] for c in table.primary_key})
                    found = (
                        conn.execute(sa.select(table).where(rows.where_key(table, key)))
                        .mappings()
                        .first()
                    )
                    if found is not None and rows.same(table, found, seed_row):
                        continue
                    values = dict(seed_row)
                    now = rows.utc_now()
                    for system in ("created_at", "updated_at"):
                        if system in table.c and system not in values and found is None:
                            values[system] = now
                    if "updated_at" in table.c and "updated_at" not in seed_row:
                        values["updated_at"] = now
                    if pack.versioned(table_name) and "version" not in seed_row:
                        values["version"] = 1 if found is None else found["version"] + 1
                    rows.upsert(conn, table, key, values)
                    changed += 1
            return changed

        count: int = engine.write(
            rows.guarded(f"{pack.name} seed", apply),
            message=lambda n: f"pack {pack.name}: seed {n} row(s)" if n else None,
        )
        return count

    def migrate(self) -> list[Revision]:
        """Apply pending migrations of every plane, installed packs included."""
        return self._dp.migrate()

    def status(self, name: str | None = None) -> list[PackStatus]:
        """Each available pack (or one) with its installed state and migrations; reads only."""
        from doltplane.migrations import runner

        packs = [registry.get(name)] if name is not None else self.available()
        report: list[PackStatus] = []
        plane_status: dict[str, runner.MigrationStatus] = {}
        for pack in packs:
            engine = self._dp.engine(pack.plane)
            installed = pack.name in installed_names(engine)
            applied: list[str] = []
            pending: list[str] = []
            if installed:
                if pack.plane not in plane_status:
                    plane_status[pack.plane] = runner.status(engine, pack.plane)
                for rev in plane_status[pack.plane].revisions:
                    if rev.revision.startswith(f"{pack.name}_"):
                        (applied if rev.applied else pending).append(rev.revision)
            report.append(
                PackStatus(
                    pack.name,
                    pack.plane,
                    pack.description,
                    installed,
                    tuple(pack.tables),
                    tuple(applied),
                    tuple(pending),
                )
            )
        return report

    def _require(self, name: str) -> Pack:
        pack = registry.get(name)
        if pack.name not in installed_names(self._dp.engine(pack.plane)):
            raise NotFound(
                "installed pack", name, hint=f"run `doltplane pack install {name}` first"
            )
        return pack

    # --- tables and views ----------------------------------------------------
    def _owner(self, name: str, kind: str) -> Pack:
        if not isinstance(name, str):
            raise InvalidInput(f"a {kind} name is text, not {type(name).__name__}")
        owners = [
            p
            for p in registry.available().values()
            if (name in p.metadata.tables if kind == "table" else name in p.views)
        ]
        if not owners:
            raise NotFound(f"pack {kind}", name, hint="`doltplane pack list` shows the packs")
        for pack in owners:
            if pack.name in self._installed(pack.plane):
                return pack
        raise NotFound(
            f"pack {kind}",
            name,
            hint=f"it belongs to pack {owners[0].name}: `doltplane pack install {owners[0].name}`",
        )

    def table(self, name: str) -> PackTable:
        """Generic access to one table of an installed pack."""
        pack = self._owner(name, "table")
        engine = self._dp.engine(pack.plane)
        return PackTable(self._dp, pack, engine, pack.metadata.tables[name])

    def view(self, name: str, *, revision: str | None = None) -> list[dict[str, Any]]:
        """Every row of one view of an installed pack."""
        pack = self._owner(name, "view")
        engine = self._dp.engine(pack.plane)
        with engine.read(revision) as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            return [dict(r) for r in conn.exec_driver_sql(f"SELECT * FROM {quoted}").mappings()]

    # --- retention -----------------------------------------------------------
    def cleanup(
        self, *, now: dt.datetime | None = None, dry_run: bool = False
    ) -> list[RetentionResult]:
        """Apply every installed pack's retention rules: delete exactly the rows older than
        each rule's window (and, when it names states, only rows in them)."""
        from doltplane.packs.retention import apply_rules

        moment = rows.utc_now() if now is None else now
        results: list[RetentionResult] = []
        for pack in self.installed():
            results += apply_rules(self._dp, self._dp.engine(pack.plane), pack, moment, dry_run)
        return results
