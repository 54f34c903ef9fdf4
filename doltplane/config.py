"""Settings: arguments > ``DOLTPLANE_*`` environment > ``doltplane.toml`` > defaults.

Every setting is a field of :class:`Settings`; its environment variable is
``DOLTPLANE_`` plus the field name in upper case (``ENVIRONMENT_VARIABLES``
lists them all), and its key in ``<data_dir>/doltplane.toml`` is the field
name itself.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from doltplane.errors import ConfigError

ENV_PREFIX = "DOLTPLANE_"
DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
"""A plane's database name on a server (it is quoted into USE and CREATE DATABASE)."""
CONFIG_FILE = "doltplane.toml"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every knob doltplane has, typed, with its default."""

    data_dir: Path = Path(".doltplane")
    """Where the embedded databases and the federation clone live."""
    url: str | None = None
    """A server URL (``mysql+pymysql://...``); unset means the embedded engine."""
    author: str = "doltplane <doltplane@localhost>"
    """Commit author when no agent is acting."""
    busy_timeout_ms: int = 5000
    """How long one statement waits for another writer's lock."""
    write_retries: int = 10
    """Retries of a whole write transaction that met a lock, before DatabaseBusy."""
    checkpoint_every_writes: int = 0
    """Snapshot-commit the operational plane after this many writes (0: by time only; a
    count makes busy stores snapshot more often, which is when history costs most)."""
    checkpoint_every_seconds: float = 300.0
    """...or when this many seconds passed since the last snapshot (0: never). Five
    minutes: at 200 agents each snapshot records about 90 KB of changed state, so a
    snapshot a minute alone would pass the 100 MB/day storage budget."""
    gc_growth_mb: float = 32.0
    """Collect garbage after a snapshot once the plane's file grew this many MB since the
    last collection, whichever process wrote (0: only during cleanup); every write leaves
    tens of KB of garbage."""
    gc_growth_factor: float = 0.25
    """...and by at least this multiple of its size after that collection, so that
    collecting (which costs time in proportion to the live data) stays rare on big stores."""
    gc_every_writes: int = 0
    """Deprecated (counts only one process's writes; use gc_growth_mb): also collect after
    a snapshot once this process made this many writes since its last collection (0: off)."""
    retention_days: float = 7.0
    """Operational rows and history older than this are cleaned up."""
    heartbeat_full_hours: float = 24.0
    """Cleanup keeps every heartbeat this young; older ones inside the window are thinned."""
    heartbeat_thin_seconds: float = 3600.0
    """...to one per agent per interval of this many seconds (the newest beat in each;
    0: no thinning, every beat is kept until the window ends)."""
    snapshot_full_hours: float = 24.0
    """Cleanup keeps every snapshot this young; older ones inside the window are thinned..."""
    snapshot_thin_seconds: float = 3600.0
    """...to the newest of each interval of this many seconds (0: every snapshot is kept
    until the window ends). Thinning rewrites history with the squash, when one is due."""
    cleanup_interval_seconds: float = 3600.0
    """How often the long-running service runs cleanup."""
    squash_every_hours: float = 24.0
    """Cleanup deletes expired rows every run but squashes the history past the window
    only once its oldest snapshot is this many hours past it (0: every run): a squash
    replays every snapshot it keeps. Reads never answer past the window either way."""
    cleanup_batch_size: int = 1000
    """Rows deleted per transaction during cleanup."""
    stale_after_seconds: float = 300.0
    """An agent with no heartbeat for this long is reported stale."""
    branch_stale_days: float = 7.0
    """A ledger agent branch idle this long is listed as stale."""
    site: str = dataclasses.field(default_factory=lambda: _default_site())
    """This site's name in federation review branches (review/<site>/<topic>)."""
    federation_remote: str | None = None
    """URL of the shared federation repository."""
    federation_pull_interval_seconds: float = 3600.0
    """Automatic pull interval for the long-running service (0: off)."""
    cache_ttl_seconds: float = 300.0
    """How long the in-process read cache keeps a live read (see ``cache_live``)."""
    cache_live: bool = False
    """Cache live reads too (``ops.get``/``get_many``, ledger point reads) for
    ``cache_ttl_seconds``: another process's writes then show up within that time, this
    client's own at once. Reads at a commit (AS OF) are always cached: they never change."""
    cache_max_entries: int = 10_000
    """Reads the in-process cache holds, least recently used dropped first (0: no cache)."""
    query_timeout_seconds: float = 30.0
    """A cross-plane query (``dp.query``, ``doltplane query``) still running after this
    many seconds is stopped with QueryTimeout (0: no limit)."""
    ledger_prune_interval_seconds: float = 3600.0
    """How often the service prunes merged and empty ledger agent branches (0: off)."""
    backup_interval_seconds: float = 3600.0
    """How often the service pushes to every backup remote, when one is added (0: off)."""
    alerts_interval_seconds: float = 60.0
    """How often the service evaluates the alert rules in ``alerts.yaml`` (0: off)."""
    metrics_sample_seconds: float = 15.0
    """How often the service samples the stores and times probe reads for metrics (0: off)."""
    metrics_port: int | None = None
    """Serve Prometheus metrics on 127.0.0.1 at this port (unset: no metrics endpoint)."""
    server_autostart: bool = False
    """``connect()`` without a url starts (and supervises) a local dolt sql-server for
    data_dir, as ``doltplane server start`` does, and connects to it."""
    server_port: int = 0
    """Port of the supervised server on 127.0.0.1 (0: a free port picked at first start,
    then kept in ``<data_dir>/server/config.yaml``)."""
    server_metrics_port: int = 0
    """Port of the supervised server's Prometheus endpoint (0: picked like server_port)."""
    server_max_connections: int = 500
    """The supervised server's connection limit."""
    server_wait_timeout_seconds: int = 900
    """The server closes client connections idle this long; above the pool's idle time."""
    server_dolt: str | None = None
    """The dolt binary to run (default: dolt on PATH, else Go's bin)."""
    server_probe_interval_seconds: float = 30.0
    """How often the supervisor probes its server (liveness plus a small write)."""
    server_probe_timeout_seconds: float = 5.0
    """A probe slower than this fails."""
    server_probe_failures: int = 2
    """Consecutive failed probes that make the supervisor restart the server."""
    server_restart_delay_seconds: float = 5.0
    """First restart delay; it doubles on each restart..."""
    server_restart_delay_max_seconds: float = 300.0
    """...up to this."""
    server_max_restarts: int = 5
    """Restarts allowed within server_restart_window_seconds; one more and it gives up."""
    server_restart_window_seconds: float = 600.0
    server_healthy_reset_seconds: float = 300.0
    """After this long healthy, the restart delay goes back to its first value."""
    server_replicate_to: str | None = None
    """A remote folder URL (``file:///...``) the supervised server pushes every commit to,
    one subfolder per database, for read replicas."""
    server_replica_of: str | None = None
    """Run the supervised server as a read-only replica of the primary whose
    server_replicate_to is this URL: it pulls at the start of every transaction."""
    server_start_timeout_seconds: float = 60.0
    """How long a start waits for the server to answer."""
    read_url: str | None = None
    """A read replica's URL: AS OF, history, diff and log reads go there, the rest to url."""
    ops_database: str = "ops"
    """The operational plane's database on the server (projects sharing one server differ)."""
    ledger_database: str = "ledger"
    """The ledger's database on the server."""
    pool_max_open: int = 25
    """At most this many connections to one server per process."""
    pool_max_idle: int = 5
    """...of which at most this many are kept idle."""
    pool_lifetime_seconds: int = 3600
    """A pooled connection older than this is replaced."""
    pool_idle_seconds: int = 600
    """An idle connection older than this is discarded at checkout (keep it below the
    server's wait_timeout)."""
    ui_port: int = 8470
    """The port ``doltplane ui`` serves its read-only page on (on 127.0.0.1 unless
    ``--host`` is given; 0: any free port)."""

    def __post_init__(self) -> None:
        if isinstance(self.data_dir, str | os.PathLike) and not isinstance(self.data_dir, Path):
            object.__setattr__(self, "data_dir", Path(self.data_dir))  # frozen: set once here
        if not isinstance(self.data_dir, Path):
            raise ConfigError(f"setting data_dir must be a path, got {self.data_dir!r}")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"setting {field.name} must not be negative, got {value}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"setting {field.name} must be a finite number, got {value}")
        if self.url is not None and "://" not in self.url:
            raise ConfigError(f"setting url must be a URL, got {self.url!r}")
        if self.read_url is not None and "://" not in self.read_url:
            raise ConfigError("setting read_url must be a URL")
        for name in ("ops_database", "ledger_database"):
            if not DATABASE_NAME.fullmatch(getattr(self, name)):
                raise ConfigError(
                    f"setting {name} must be a database name, got {getattr(self, name)!r}"
                )
        if self.ops_database == self.ledger_database:
            raise ConfigError("settings ops_database and ledger_database must differ")
        if self.pool_max_open < 1:
            raise ConfigError("setting pool_max_open must be at least 1")

    @property
    def embedded(self) -> bool:
        return self.url is None

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Merge the sources in priority order and coerce every value to its type."""
        env = os.environ if env is None else env
        overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(overrides) - set(_FIELDS)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        from_env = {
            name: env[var]
            for name, var in ENVIRONMENT_VARIABLES.items()
            if env.get(var) not in (None, "")
        }
        data_dir = Path(overrides.get("data_dir") or from_env.get("data_dir") or cls.data_dir)
        merged: dict[str, Any] = {**_read_config_file(data_dir), **from_env, **overrides}
        merged["data_dir"] = data_dir
        return cls(**{name: _coerce(name, value) for name, value in merged.items()})

    def display(self) -> dict[str, str]:
        """Every setting as text, with any password in a URL masked."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            text = "" if value is None else str(value)
            out[field.name] = (
                mask_password(text) if "url" in field.name or "remote" in field.name else text
            )
        return out


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


@functools.cache
def _types() -> dict[str, Any]:
    """The fields' types, resolved on first need: a cold CLI read coerces nothing."""
    return typing.get_type_hints(Settings)


ENVIRONMENT_VARIABLES: dict[str, str] = {name: ENV_PREFIX + name.upper() for name in _FIELDS}
"""Setting name -> the environment variable that sets it."""


def _default_site() -> str:
    if hasattr(os, "uname"):  # the host name, without importing socket (a cold start)
        host = os.uname().nodename
    else:  # pragma: no cover - Windows
        import socket

        host = socket.gethostname()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", host).strip("-.")
    return name or "site"


def _read_config_file(data_dir: Path) -> dict[str, Any]:
    path = data_dir / CONFIG_FILE
    if not path.is_file():
        return {}
    import tomllib  # only when the file exists (about 10 ms of a cold start otherwise)

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}")
    return raw


def _coerce(name: str, value: Any) -> Any:
    kind = _types()[name]
    if isinstance(kind, types.UnionType):  # "X | None"
        if value is None:
            return None
        kind = next(t for t in typing.get_args(kind) if t is not type(None))
    try:
        if kind is Path:
            return Path(value)
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if kind in (int, float) and isinstance(value, bool):
            raise ValueError("a boolean is not a number")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"setting {name} must be {kind.__name__}, got {value!r} ({exc})"
        ) from None


def mask_password(url: str) -> str:
    """``mysql://u:secret@h/db`` -> ``mysql://u:***@h/db``."""
    return re.sub(r"(://[^:/@]+:)[^@/]+@", r"\1***@", url)
