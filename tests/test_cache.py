"""The L1 read cache: commit reads cached for good, live reads only when asked and
only until this client writes or the TTL runs out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from doltplane import DataPlane, connect
from doltplane.cache import ReadCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_commit_entries_stay_live_entries_expire_and_writes_drop_them() -> None:
    clock = Clock()
    cache = ReadCache(ttl_seconds=10, live=True, max_entries=100, clock=clock)
    fetched: list[str] = []

    def fetch(value: str) -> list[tuple[str]]:
        fetched.append(value)
        return [(value,)]

    assert cache.rows("k", "c1", lambda: fetch("at c1")) == [("at c1",)]
    assert cache.rows("k", None, lambda: fetch("live 1")) == [("live 1",)]
    clock.now = 5
    assert cache.rows("k", "c1", lambda: fetch("again")) == [("at c1",)]
    assert cache.rows("k", None, lambda: fetch("live 2")) == [("live 1",)]
    clock.now = 11  # past the TTL: live reads again, the commit read never expires
    assert cache.rows("k", None, lambda: fetch("live 3")) == [("live 3",)]
    clock.now = 1_000
    assert cache.rows("k", "c1", lambda: fetch("again")) == [("at c1",)]
    cache.wrote()
    assert cache.rows("k", None, lambda: fetch("live 4")) == [("live 4",)]
    assert cache.rows("k", "c1", lambda: fetch("again")) == [("at c1",)]
    assert fetched == ["at c1", "live 1", "live 3", "live 4"]
    stats = cache.stats()
    assert (stats["commit_hits"], stats["commit_misses"]) == (3, 1)
    assert (stats["live_hits"], stats["live_misses"], stats["live_expired"]) == (1, 3, 1)
    assert stats["live_dropped"] == 1 and stats["entries"] == 2
    assert stats["hits"] == 4 and stats["misses"] == 4
    assert all(isinstance(v, int) for v in stats.values())


def test_bounded_least_recently_used_and_off() -> None:
    cache = ReadCache(max_entries=2)
    for key in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" comes
        cache.rows(key, "c1", lambda key=key: [(key,)])  # type: ignore[misc]
    assert cache.rows("b", "c1", lambda: [("fresh",)]) == [("fresh",)]
    assert cache.stats()["evicted"] == 2
    off = ReadCache(max_entries=0)
    assert off.rows("k", "c1", lambda: [(1,)]) == [(1,)]
    assert off.rows("k", "c1", lambda: [(2,)]) == [(2,)]
    assert off.stats()["hits"] == 0
    live_off = ReadCache()  # live caching is off by default
    assert live_off.rows("k", None, lambda: [(1,)]) == [(1,)]
    assert live_off.rows("k", None, lambda: [(2,)]) == [(2,)]


def test_a_write_during_a_live_read_keeps_that_read_out() -> None:
    cache = ReadCache(live=True)

    def racing_fetch() -> list[tuple[int]]:
        cache.wrote()  # this client's write lands while the read runs
        return [(1,)]

    cache.rows("k", None, racing_fetch)
    assert cache.rows("k", None, lambda: [(2,)]) == [(2,)]


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[DataPlane, DataPlane]]:
    for name in ("DOLTPLANE_CACHE_LIVE", "DOLTPLANE_CACHE_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    manual = {"checkpoint_every_writes": 0, "checkpoint_every_seconds": 0}
    with (
        connect(tmp_path / "dp", cache_live=True, cache_ttl_seconds=1.0, **manual) as cached,
        connect(tmp_path / "dp", **manual) as other,
    ):
        yield cached, other


def test_ops_reads_through_the_cache(two: tuple[DataPlane, DataPlane]) -> None:
    cached, other = two
    cached.ops.set_state("x", rig="r", agent="a", status="s", state={"n": 1})
    commit = cached.ops.checkpoint()
    assert commit is not None
    view = cached.ops.as_of(commit)
    first = view.get("x")
    first.state["n"] = 99  # a caller changing its copy changes nothing cached
    assert view.get("x").state == {"n": 1}
    assert cached.ops.as_of(commit).get_many(["x", "y"])["x"].state == {"n": 1}
    assert cached.ops.as_of(commit).get_many(["x", "y"]).keys() == {"x"}
    stats = cached.ops.cache.stats()
    assert stats["commit_hits"] == 2 and stats["commit_misses"] == 2

    assert cached.ops.get("x").version == 1
    cached.ops.set_state("x", rig="r", agent="a", status="s", state={"n": 2})
    assert cached.ops.get("x").state == {"n": 2}  # its own write: seen at once
    assert cached.ops.get("x").state == {"n": 2}
    assert cached.ops.cache.stats()["live_hits"] >= 1

    other.ops.set_state("x", rig="r", agent="a", status="s", state={"n": 3})
    assert cached.ops.get("x").state == {"n": 2}  # another client's: stale up to the TTL
    assert other.ops.get("x").state == {"n": 3}  # live caching off: never stale
    assert other.ops.cache.stats()["live_hits"] == 0
    time.sleep(1.1)
    assert cached.ops.get("x").state == {"n": 3}


def test_ledger_as_of_reads_are_cached_live_reads_are_not(
    two: tuple[DataPlane, DataPlane],
) -> None:
    cached, other = two
    issue = cached.ledger.create_issue("first")
    at = cached.engine("ledger").resolve_revision("main")
    view = cached.ledger.as_of(at)
    assert view.get_issue(issue.id).title == "first"
    other.ledger.update_issue(issue.id, title="second")
    assert view.get_issue(issue.id).title == "first"
    assert cached.ledger.as_of(at).get_issue(issue.id).title == "first"
    assert cached.ledger.get_issue(issue.id).title == "second"  # live: never cached
    stats = cached.ledger.cache.stats()
    assert (stats["commit_hits"], stats["commit_misses"]) == (2, 1)
