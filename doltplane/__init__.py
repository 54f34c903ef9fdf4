"""doltplane: a version-controlled data plane on Dolt for multi-agent systems.

import doltplane
with doltplane.connect() as dp:          # embedded doltlite in ./.doltplane
    dp.ops.set_state("a1", rig="r", agent="toast", status="busy", state={})
"""

from doltplane.store.loader import bootstrap as _bootstrap

_bootstrap()  # doltlite must be loaded before anything imports sqlite3

from typing import TYPE_CHECKING, Any

from doltplane.client import DataPlane, connect
from doltplane.config import Settings
from doltplane.errors import (
    DoltplaneError,
    InvalidInput,
    InvalidRevision,
    MergeConflict,
    NotFound,
    VersionConflict,
)

if TYPE_CHECKING:
    from doltplane.store.base import Commit, MergeResult, MergeStatus

_LAZY = {"Commit", "MergeResult", "MergeStatus"}


def __getattr__(name: str) -> Any:
    # store.base defines the engine Protocol and eight dataclasses (~15 ms to import):
    # a cold `doltplane ops get` never needs them, so they load on first access
    if name in _LAZY:
        from doltplane.store import base

        return getattr(base, name)
    raise AttributeError(f"module 'doltplane' has no attribute {name!r}")


__all__ = [
    "Commit",
    "DataPlane",
    "DoltplaneError",
    "InvalidInput",
    "InvalidRevision",
    "MergeConflict",
    "MergeResult",
    "MergeStatus",
    "NotFound",
    "Settings",
    "VersionConflict",
    "connect",
]
