"""Loading doltlite into this interpreter, and checking a file really is a Dolt database.

``import doltlite`` swaps the process's SQLite for Dolt's engine, but only when
it runs before anything imports ``sqlite3``. It marks the environment with
``_DOLTLITE_BOOTSTRAPPED=1``; a child process inherits the mark, skips the
load and silently gets stock SQLite. We drop the mark once loaded so that
children load doltlite for themselves.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from types import ModuleType

from doltplane.errors import EngineUnavailable, NotADoltDatabase

_MARKER = "_DOLTLITE_BOOTSTRAPPED"
_STOCK_SQLITE_HEADER = b"SQLite format 3\x00"


def _load() -> None:
    """``import doltlite``, keeping its environment mark from misleading our children."""
    if "sqlite3" not in sys.modules and "_sqlite3" not in sys.modules:
        os.environ.pop(_MARKER, None)  # inherited from a parent: it did not load us
    import doltlite  # noqa: F401  (the import is the bootstrap)

    if "libdoltlite" not in os.environ.get("LD_PRELOAD", ""):
        os.environ.pop(_MARKER, None)  # so that our child processes load it too


def bootstrap() -> None:
    """Load doltlite now, before anyone imports ``sqlite3``; errors wait for first use."""
    if "sqlite3" in sys.modules or "_sqlite3" in sys.modules:
        return
    try:
        _load()
    except Exception:  # reported by sqlite_module() when an engine opens
        return


@functools.cache
def sqlite_module() -> ModuleType:
    """The ``sqlite3`` module, backed by doltlite; EngineUnavailable when that cannot be."""
    try:
        _load()
    except Exception as exc:
        raise EngineUnavailable(
            f"cannot load doltlite: {exc}".splitlines()[0],
            hint="reinstall with `pip install doltlite`",
        ) from None
    import sqlite3

    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("SELECT doltlite_engine()")
    except sqlite3.Error:
        raise EngineUnavailable(
            "this Python's sqlite3 is not doltlite (sqlite3 was imported before doltplane, or "
            "the interpreter links SQLite statically, as python-build-standalone builds do)",
            hint="import doltplane before sqlite3, or use a system/pyenv CPython",
        ) from None
    finally:
        probe.close()
    return sqlite3


def check_database_file(path: Path) -> None:
    """Refuse a file that stock SQLite (or anything else) made: Dolt features would fail later."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(16)
    if header == _STOCK_SQLITE_HEADER:
        raise NotADoltDatabase(str(path), "it was created by plain SQLite")
