"""doltplane: a version-controlled data plane on Dolt for multi-agent systems.

import doltplane
with doltplane.connect() as dp:          # embedded doltlite in ./.doltplane
    dp.ops.set_state("a1", rig="r", agent="toast", status="busy", state={})
"""

from doltplane.store.loader import bootstrap as _bootstrap

_bootstrap()  # doltlite must be loaded before anything imports sqlite3

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
from doltplane.store.base import Commit, MergeResult, MergeStatus

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
