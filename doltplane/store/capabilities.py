"""What an engine can do beyond SQL and commits; planes ask instead of assuming."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """Each flag says whether the engine does it; ``missing`` says why one does not."""

    gc_on_demand: bool
    """``gc()`` collects garbage now (else the engine collects by itself, or never)."""
    history_squash: bool
    """``squash_before()`` folds old commits."""
    remotes: bool
    """push, fetch, clone and ``remote_heads`` work (backups, multi-host sync)."""
    file_size: bool
    """``size_bytes()`` and ``size_after_gc()`` measure the database's storage."""
    sqlite_syntax: bool = False
    """Raw SQL may use SQLite-only syntax (``INSERT ... ON CONFLICT ... RETURNING``); else
    only what both dialects share (``?`` parameters, double-quoted names) reaches it."""
    missing: tuple[tuple[str, str], ...] = ()
    """(flag, reason) for every flag that is False."""

    def why_not(self, flag: str) -> str | None:
        return dict(self.missing).get(flag)


EMBEDDED = Capabilities(
    gc_on_demand=True, history_squash=True, remotes=True, file_size=True, sqlite_syntax=True
)
