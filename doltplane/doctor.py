"""``doltplane doctor``: what is wrong with this installation and data directory, each
finding with what to do about it.

The doctor only reads. On the embedded engine it opens each plane's file read-only and
never through the engine, because opening an engine tidies up (it removes scratch
branches of dead processes): the doctor reports what is there instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import sqlalchemy as sa

from doltplane.config import CONFIG_FILE, ENVIRONMENT_VARIABLES, Settings
from doltplane.errors import ConfigError, DoltplaneError

Status = Literal["ok", "info", "warning", "error"]
PROBLEMS: tuple[str, ...] = ("warning", "error")
MIN_PYTHON = (3, 11)
LIBRARIES = ("doltlite", "SQLAlchemy", "alembic", "PyYAML", "jsonschema", "click", "rich")


@dataclasses.dataclass(frozen=True)
class Check:
    """One finding: ``ok`` and ``info`` are fine, ``warning`` and ``error`` are problems."""

    name: str
    status: Status
    detail: str
    hint: str | None = None


@dataclasses.dataclass(frozen=True)
class DoctorReport:
    data_dir: str
    engine: str
    checks: list[Check]

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status in PROBLEMS]

    @property
    def ok(self) -> bool:
        return not self.problems


def doctor(
    overrides: Mapping[str, Any] | None = None, *, now: dt.datetime | None = None
) -> DoctorReport:
    """Load the settings (arguments, environment, doltplane.toml) and run every check; a
    settings file that does not load is itself a finding, checked with the defaults."""
    try:
        settings = Settings.load(overrides)
    except ConfigError as exc:
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        where = given.get("data_dir") or os.environ.get(ENVIRONMENT_VARIABLES["data_dir"])
        fallback = Settings(data_dir=Path(where or Settings.data_dir), url=given.get("url"))
        found = Check("settings", "error", exc.message, exc.hint or "fix the setting")
        return run_doctor(fallback, now=now, first=[found])
    return run_doctor(settings, now=now)


def run_doctor(
    settings: Settings, *, now: dt.datetime | None = None, first: Sequence[Check] = ()
) -> DoctorReport:
    """Every check, in order; a check that itself fails is reported as an error."""
    moment = now or dt.datetime.now(dt.UTC)
    checks: list[Check] = list(first) or [Check("settings", "ok", "settings load")]
    steps: list[tuple[str, Callable[[], list[Check]]]] = [
        ("python", _python),
        ("libraries", lambda: _libraries(settings)),
        ("dolt", lambda: _dolt(settings)),
        ("git", _git),
        ("data_dir", lambda: _data_dir(settings)),
        ("planes", lambda: _planes(settings, moment)),
        ("service", lambda: _service(settings)),
    ]
    for name, step in steps:
        try:
            checks += step()
        except DoltplaneError as exc:
            checks.append(Check(name, "error", exc.message, exc.hint))
        except Exception as exc:  # a diagnosis goes on past a check it cannot make
            checks.append(
                Check(
                    name,
                    "error",
                    f"the check itself failed: {type(exc).__name__}: {exc}",
                    "report it as a doltplane bug, with this message",
                )
            )
    engine = "server" if settings.url is not None else "embedded"
    return DoctorReport(str(settings.data_dir), engine, checks)


# --- versions ---------------------------------------------------------------------------


def _python() -> list[Check]:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return [Check("python", "error", f"Python {version}", f"use Python {need} or later")]
    return [Check("python", "ok", f"Python {version} ({sys.executable})")]


def _requirements() -> dict[str, str]:
    """doltplane's declared requirement of each library, by lower-case name."""
    from packaging.requirements import Requirement

    out: dict[str, str] = {}
    try:
        declared = importlib.metadata.requires("doltplane") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        declared = []
    for text in declared:
        requirement = Requirement(text)
        if requirement.marker is None:
            out[requirement.name.lower()] = str(requirement.specifier)
    return out


def _libraries(settings: Settings) -> list[Check]:
    from packaging.specifiers import SpecifierSet

    wanted = _requirements()
    found, wrong = [], []
    names = [*LIBRARIES, *(("PyMySQL",) if settings.url is not None else ())]
    for name in names:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            extra = " (pip install 'doltplane[server]')" if name == "PyMySQL" else ""
            wrong.append(f"{name} is not installed{extra}")
            continue
        spec = wanted.get(name.lower(), "")
        if spec and not SpecifierSet(spec).contains(version, prereleases=True):
            wrong.append(f"{name} {version} (doltplane needs {spec})")
        found.append(f"{name} {version}")
    checks = []
    if wrong:
        checks.append(
            Check(
                "libraries",
                "error",
                "; ".join(wrong),
                "reinstall doltplane (`pip install --force-reinstall doltplane`) to get the "
                "versions it was tested with",
            )
        )
    else:
        checks.append(Check("libraries", "ok", ", ".join(found)))
    checks.append(_engine_library())
    return checks


def _engine_library() -> Check:
    """The embedded engine really loads and is Dolt's (not the stock SQLite)."""
    from doltplane.store.loader import sqlite_module

    try:
        module = sqlite_module()
        connection = module.connect(":memory:")
        try:
            kind = connection.execute("SELECT doltlite_engine()").fetchone()[0]
        finally:
            connection.close()
    except DoltplaneError as exc:
        return Check("engine", "error", exc.message, exc.hint)
    except Exception as exc:
        return Check(
            "engine",
            "error",
            f"doltlite does not load: {exc}",
            "reinstall doltlite; it must load before anything imports sqlite3",
        )
    return Check("engine", "ok", f"doltlite engine {kind!s} (SQLite {module.sqlite_version})")


def _dolt(settings: Settings) -> list[Check]:
    """The dolt binary: needed to run a server; shown whenever it is installed."""
    binary = shutil.which("dolt")
    if binary is None:
        if settings.url is None:
            return [
                Check("dolt", "info", "no dolt binary on PATH (the embedded engine needs none)")
            ]
        return [
            Check(
                "dolt",
                "warning",
                "a server URL is set but no dolt binary is on PATH",
                "install Dolt (https://docs.dolthub.com) so a local server can be started "
                "and restarted",
            )
        ]
    try:
        out = subprocess.run(
            [binary, "version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return [Check("dolt", "error", f"{binary} does not run: {exc}", "reinstall Dolt")]
    first = out.strip().splitlines()[0] if out.strip() else "unknown version"
    return [Check("dolt", "ok", f"{first} ({binary})")]


def _git() -> list[Check]:
    from doltplane.errors import GitUnavailable
    from doltplane.federation.git import MIN_GIT_VERSION, git_version

    try:
        version = git_version()
    except GitUnavailable as exc:
        need = ".".join(map(str, MIN_GIT_VERSION))
        return [
            Check(
                "git",
                "warning",
                f"{exc.message}: the federation plane cannot work",
                exc.hint or f"install git >= {need}",
            )
        ]
    return [Check("git", "ok", f"git {'.'.join(map(str, version))}")]


# --- the data directory -------------------------------------------------------------------


def _data_dir(settings: Settings) -> list[Check]:
    where = settings.data_dir
    if not where.exists():
        if settings.url is not None:  # the databases live on the server
            return [Check("data_dir", "info", f"{where} does not exist (server engine)")]
        return [Check("data_dir", "error", f"{where} does not exist", "run `doltplane init`")]
    if not where.is_dir():
        return [
            Check("data_dir", "error", f"{where} is not a directory", "point --data-dir elsewhere")
        ]
    problems = []
    if not os.access(where, os.R_OK | os.W_OK | os.X_OK):
        problems.append(f"{where} is not readable and writable by this user")
    elif not _can_create(where):
        problems.append(f"cannot create files in {where}")
    for name in ("ops.db", "ledger.db", CONFIG_FILE):
        path = where / name
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            problems.append(f"{path} is not readable and writable by this user")
    if problems:
        user = _user()
        return [
            Check(
                "data_dir",
                "error",
                "; ".join(problems),
                f"give {user} read and write access (chown/chmod), or run as the owner",
            )
        ]
    return [Check("data_dir", "ok", f"{where} is readable and writable")]


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return "this user"


def _can_create(where: Path) -> bool:
    """A real write (os.access believes root can write to a read-only or immutable dir)."""
    probe = where / f".doctor-{socket.gethostname()}-{os.getpid()}"
    try:
        probe.write_bytes(b"")
    except OSError:
        return False
    probe.unlink(missing_ok=True)
    return True


# --- the planes -------------------------------------------------------------------------


@contextmanager
def _read_only(settings: Settings, plane: str) -> Iterator[sa.Connection | None]:
    """A read-only connection to ``plane`` (None: not created yet) that tidies nothing."""
    if settings.url is not None:
        import inspect

        from doltplane.store import open_engine

        # the server engine creates a missing database unless told not to: the doctor
        # must not (an engine without the option has no server databases to create)
        opener: Any = open_engine
        options = {"create": False} if "create" in inspect.signature(opener).parameters else {}
        plane_engine = opener(settings, plane, **options)
        try:
            with plane_engine.read() as conn:
                yield conn
        finally:
            plane_engine.close()
        return
    path = settings.data_dir / f"{plane}.db"
    if not path.is_file():
        yield None
        return
    from doltplane.store.loader import check_database_file, sqlite_module

    check_database_file(path)
    module = sqlite_module()
    uri = f"file:{quote(str(path))}?mode=ro"
    # the URL is a placeholder: the connection comes from the creator
    engine = sa.create_engine(
        "sqlite://",
        creator=lambda: module.connect(uri, uri=True),
        poolclass=sa.pool.NullPool,
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _db_time(value: object) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise ValueError(f"not a time: {value!r}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _planes(settings: Settings, now: dt.datetime) -> list[Check]:
    checks: list[Check] = []
    seen = False
    for plane in ("ops", "ledger"):
        try:
            with _read_only(settings, plane) as conn:
                if conn is None:
                    continue
                seen = True
                branches = [
                    (str(name), _db_time(date))
                    for name, date in conn.execute(
                        sa.text("SELECT name, latest_commit_date FROM dolt_branches")
                    )
                ]
                checks.append(_scratch(plane, [name for name, _ in branches], now))
                if plane == "ledger":
                    checks.append(_stale_branches(settings, branches, now))
                else:
                    checks.append(_storage(settings, conn, now))
        except DoltplaneError as exc:
            checks.append(Check(f"{plane} plane", "error", exc.message, exc.hint))
        except sa.exc.SQLAlchemyError as exc:
            message = " ".join(str(exc.orig if hasattr(exc, "orig") else exc).split())
            checks.append(
                Check(
                    f"{plane} plane",
                    "error",
                    f"cannot read the {plane} plane: {message}",
                    "run `doltplane migrate`, or restore it from a backup",
                )
            )
    if not seen and settings.url is None:
        checks.append(Check("planes", "warning", "no plane database yet", "run `doltplane init`"))
    return checks


def _scratch(plane: str, names: list[str], now: dt.datetime) -> Check:
    from doltplane.store.scratch import is_leftover, is_scratch

    moment = now.timestamp()
    leftovers = sorted(n for n in names if is_scratch(n) and is_leftover(n, now=moment))
    working = [n for n in names if is_scratch(n) and n not in leftovers]
    if leftovers:
        cleanup = "`doltplane ledger prune`" if plane == "ledger" else "`doltplane ops cleanup`"
        return Check(
            f"{plane} scratch branches",
            "warning",
            f"{len(leftovers)} left by processes that are gone: {', '.join(leftovers)}; they "
            "pin old history",
            f"run {cleanup} (the next doltplane command on this plane also removes them)",
        )
    detail = f"{len(working)} in use by running processes" if working else "none left over"
    return Check(f"{plane} scratch branches", "ok", detail)


def _stale_branches(
    settings: Settings, branches: list[tuple[str, dt.datetime]], now: dt.datetime
) -> Check:
    from doltplane.store.base import MAIN
    from doltplane.store.scratch import is_scratch

    limit = settings.branch_stale_days * 86400
    agents = [(n, d) for n, d in branches if n != MAIN and not is_scratch(n)]
    stale = sorted(n for n, d in agents if (now - d).total_seconds() >= limit)
    if stale:
        shown = ", ".join(stale[:10]) + (" ..." if len(stale) > 10 else "")
        return Check(
            "agent branches",
            "warning",
            f"{len(stale)} of {len(agents)} idle for {settings.branch_stale_days:g}+ days: {shown}",
            "merge finished work (`doltplane ledger merge AGENT`); `doltplane ledger prune` "
            "deletes merged and empty branches; `doltplane ledger branches --stale` lists them",
        )
    return Check("agent branches", "ok", f"{len(agents)} agent branch(es), none stale")


def _storage(settings: Settings, conn: sa.Connection, now: dt.datetime) -> Check:
    """The operational plane against its retention window: rows and unsquashed history
    older than ``retention_days`` mean cleanup is not running."""
    from doltplane.planes.ops_records import heartbeats, operational_state, to_db_time

    cutoff = now - dt.timedelta(days=settings.retention_days)
    expired = sum(
        int(conn.execute(sa.select(sa.func.count()).where(col < to_db_time(cutoff))).scalar_one())
        for col in (operational_state.c.updated_at, heartbeats.c.timestamp)
    )
    live = sum(
        int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in (operational_state, heartbeats)
    )
    # cleanup squashes history only once it is squash_every_hours past the window (reads
    # refuse it meanwhile): only history older than that is overdue
    squash_due = cutoff - dt.timedelta(hours=settings.squash_every_hours)
    old_commits = int(
        conn.execute(
            sa.text("SELECT count(*) FROM dolt_log WHERE date < :cutoff"),
            {"cutoff": to_db_time(squash_due).strftime("%Y-%m-%d %H:%M:%S")},
        ).scalar_one()
    )
    size = (settings.data_dir / "ops.db").stat().st_size if settings.url is None else None
    shown = f"{size / 1e6:,.1f} MB, " if size is not None else ""
    detail = f"{shown}{live:,} live rows, retention {settings.retention_days:g} days"
    growth = _growth_24h(settings)
    if growth is not None:
        detail += f", grew {growth / 1e6:,.1f} MB in 24 h"
    # a squash folds everything older than the cutoff into one commit (plus the root)
    if expired or old_commits > 2:
        found = []
        if expired:
            found.append(f"{expired:,} rows")
        if old_commits > 2:
            found.append(f"{old_commits:,} commits")
        return Check(
            "storage",
            "warning",
            f"{' and '.join(found)} older than the retention window ({detail}): cleanup "
            "is not running",
            "run `doltplane ops cleanup`, or keep `doltplane serve` running (it cleans up hourly)",
        )
    return Check("storage", "ok", detail)


def _growth_24h(settings: Settings) -> float | None:
    """The day's growth the service last measured (None: no service state, or no rule on
    it): the number the storage_growth_high alert watches."""
    from doltplane.alerts import read_service_state

    try:
        state = read_service_state(settings.data_dir)
    except DoltplaneError:
        return None
    if state is None:
        return None
    return next(
        (
            a.value
            for a in state.alerts.values()
            if a.observe == "storage_growth_bytes_24h" and a.value is not None
        ),
        None,
    )


# --- the service ------------------------------------------------------------------------


def _service(settings: Settings) -> list[Check]:
    from doltplane.alerts import read_lock, read_service_state

    checks = []
    lock = read_lock(settings.data_dir)
    running = lock is not None and lock.running
    if lock is None:
        checks.append(Check("service", "info", "no `doltplane serve` has run here"))
    elif running:
        checks.append(Check("service", "ok", f"`doltplane serve` runs (pid {lock.pid})"))
    elif lock.stale:
        checks.append(
            Check(
                "service",
                "warning",
                f"the service lock names pid {lock.pid} on this host, which is gone: the "
                "service died without cleaning up",
                f"start `doltplane serve` again (it takes the lock over), or remove {lock.path}",
            )
        )
    else:
        checks.append(Check("service", "info", "`doltplane serve` is not running"))
    try:
        state = read_service_state(settings.data_dir)
    except DoltplaneError as exc:
        return [*checks, Check("alerts", "warning", exc.message, exc.hint)]
    if state is None:
        return checks
    firing = [a for a in state.alerts.values() if a.state == "firing"]
    if not firing:
        return [*checks, Check("alerts", "ok", f"{len(state.alerts)} rule(s), none firing")]
    when = "" if running else f" (as the stopped service left them at {state.updated_at})"
    for alert in firing:
        checks.append(
            Check(
                f"alert {alert.name}",
                "error" if alert.severity == "critical" else "warning",
                f"firing ({alert.severity}): {alert.summary}{when}",
                "see docs/alerts.md for what to do; `doltplane alerts` shows every rule",
            )
        )
    return checks
