"""The engine boundary: ``open_engine(settings, plane)`` picks the engine a plane runs on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from doltplane.config import Settings
    from doltplane.store.base import Engine

PLANES = ("ops", "ledger")


def _check_plane(plane: str) -> None:
    if plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}")


def open_engine(settings: Settings, plane: str, *, create: bool = True) -> Engine:
    """The engine holding ``plane``'s database: embedded doltlite unless a server URL is set.
    On a server, ``create=False`` refuses a database that does not exist (NotFound)."""
    _check_plane(plane)
    if settings.url is not None:
        from doltplane.store.server import open_server_engine

        return open_server_engine(settings, plane, create=create)
    from doltplane.remote_registry import Registry
    from doltplane.store.doltlite import DoltliteEngine

    Registry(settings.data_dir).check_usable()  # not a restore that never finished
    return DoltliteEngine(settings.data_dir / f"{plane}.db", settings)


def plane_location(settings: Settings, plane: str) -> str:
    """Where ``plane``'s database lives: its file, or ``server/database`` (password masked)."""
    _check_plane(plane)
    if settings.url is None:
        return str(settings.data_dir / f"{plane}.db")
    from doltplane.config import mask_password

    database = settings.ops_database if plane == "ops" else settings.ledger_database
    return f"{mask_password(settings.url).rstrip('/')}/{database}"


def plane_exists(settings: Settings, plane: str) -> bool:
    """Whether ``plane``'s database was created (changes nothing)."""
    _check_plane(plane)
    if settings.url is None:
        from pathlib import Path

        return Path(plane_location(settings, plane)).exists()
    from doltplane.errors import NotFound

    try:
        open_engine(settings, plane, create=False).close()
    except NotFound:
        return False
    return True
