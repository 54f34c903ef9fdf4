"""The engine boundary: ``open_engine(settings, plane)`` picks the engine a plane runs on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from doltplane.config import Settings
    from doltplane.store.base import Engine

PLANES = ("ops", "ledger")


def open_engine(settings: Settings, plane: str) -> Engine:
    """The engine holding ``plane``'s database: embedded doltlite unless a server URL is set."""
    if plane not in PLANES:
        raise ValueError(f"unknown plane {plane!r}")
    if settings.url is not None:
        from doltplane.config import mask_password
        from doltplane.errors import EngineUnavailable

        raise EngineUnavailable(
            f"no server engine yet for {mask_password(settings.url)}",
            hint="unset url / DOLTPLANE_URL to use the embedded engine",
        )
    from doltplane.remote_registry import Registry
    from doltplane.store.doltlite import DoltliteEngine

    Registry(settings.data_dir).check_usable()  # not a restore that never finished
    return DoltliteEngine(settings.data_dir / f"{plane}.db", settings)
