"""The L1 read cache: answers to hot reads kept in this process.

Two kinds of entry, both holding the driver's row tuples (immutable, so no
caller can change what another one gets back; each hit still decodes them):

- reads at a commit (an AS OF view) are keyed by the commit hash. What a
  commit holds never changes, so these never expire; the least recently used
  go when the cache is full.
- live reads (the working state) are kept for ``cache_ttl_seconds`` and
  dropped whenever this client writes to the plane. Another process's writes
  are not seen until the entry expires: staleness across processes is bounded
  by the TTL. That is why live caching is off unless ``cache_live`` is set.

``stats()`` gives hit and miss counters as plain ints for metrics.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

Rows = list[tuple[Any, ...]]


class ReadCache:
    """A bounded (``max_entries`` of each kind), thread-safe cache of read results; see
    the module docstring."""

    def __init__(
        self,
        *,
        ttl_seconds: float = 300.0,
        live: bool = False,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.live = live
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # live entries apart, so that a write drops them all in O(1)
        self._commits: OrderedDict[tuple[str, Hashable], tuple[float, Rows]] = OrderedDict()
        self._live: OrderedDict[tuple[str | None, Hashable], tuple[float, Rows]] = OrderedDict()
        self._generation = 0
        self._counts = dict.fromkeys(
            (
                "commit_hits",
                "commit_misses",
                "live_hits",
                "live_misses",
                "live_expired",
                "live_dropped",
                "evicted",
            ),
            0,
        )

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def rows(
        self,
        key: Hashable,
        commit: str | None,
        fetch: Callable[[], Sequence[tuple[Any, ...]]],
    ) -> Rows:
        """The rows for ``key`` (the statement and its parameters) read at ``commit`` (a
        resolved commit hash; None: the live state), from the cache or from ``fetch``."""
        if not self.enabled or (commit is None and not self.live):
            return list(fetch())
        kind = "live" if commit is None else "commit"
        full_key = (commit, key)
        now = self._clock()
        with self._lock:
            entries: OrderedDict[Any, tuple[float, Rows]] = (
                self._live if commit is None else self._commits
            )
            entry = entries.get(full_key)
            if entry is not None:
                expires, rows = entry
                if expires >= now:
                    entries.move_to_end(full_key)
                    self._counts[f"{kind}_hits"] += 1
                    return rows
                del entries[full_key]
                self._counts["live_expired"] += 1
            self._counts[f"{kind}_misses"] += 1
            generation = self._generation
        rows = list(fetch())
        expires = now + self.ttl_seconds if commit is None else float("inf")
        with self._lock:
            if commit is None:
                if generation != self._generation:
                    return rows  # this client wrote while we read: the rows may predate it
                entries = self._live
            entries[full_key] = (expires, rows)
            entries.move_to_end(full_key)
            while len(entries) > self.max_entries:
                entries.popitem(last=False)
                self._counts["evicted"] += 1
        return rows

    def wrote(self) -> None:
        """This client changed the live state: forget every live entry."""
        with self._lock:
            self._generation += 1
            if self._live:
                self._counts["live_dropped"] += len(self._live)
                self._live = OrderedDict()

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._live = OrderedDict()
            self._commits.clear()

    def stats(self) -> dict[str, int]:
        """Counters since this cache was made, and the entries it holds now."""
        with self._lock:
            counts = dict(self._counts)
            counts["entries"] = len(self._commits) + len(self._live)
        counts["hits"] = counts["commit_hits"] + counts["live_hits"]
        counts["misses"] = counts["commit_misses"] + counts["live_misses"]
        return counts


def from_settings(settings: Any) -> ReadCache:
    """The cache a plane gets from its client's settings."""
    return ReadCache(
        ttl_seconds=settings.cache_ttl_seconds,
        live=settings.cache_live,
        max_entries=settings.cache_max_entries,
    )
