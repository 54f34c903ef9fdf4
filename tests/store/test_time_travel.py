"""Time travel on the engine: precise commit times, the first-parent line, safe fallbacks for
commits other tools made, hash prefixes and the hashes a squash replaced."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from doltplane.config import Settings
from doltplane.errors import InvalidRevision
from doltplane.store import trailers
from doltplane.store.doltlite import DoltliteEngine
from doltplane.store.loader import sqlite_module

from .conftest import put, rows


def raw_commit(engine: DoltliteEngine, message: str, **values: int) -> str:
    """A commit made by another tool: plain SQL, no doltplane trailer."""
    conn = sqlite_module().connect(str(engine.path), isolation_level=None)
    try:
        for key, value in values.items():
            conn.execute("INSERT OR REPLACE INTO t VALUES (?, ?)", (key, value))
        return str(conn.execute("SELECT dolt_commit('-A', '-m', ?)", (message,)).fetchone()[0])
    finally:
        conn.close()


def test_every_commit_path_records_its_precise_time_and_shows_a_clean_message(
    engine: DoltliteEngine,
) -> None:
    start = dt.datetime.now(dt.UTC)
    put(engine, a=1)
    engine.commit("plain commit")
    engine.write(
        lambda c: c.exec_driver_sql("INSERT INTO t VALUES ('b', 2)"), message=lambda _: "w"
    )
    engine.create_branch("side")
    put(engine, "side", c=3)
    engine.commit("on side", branch="side")
    put(engine, d=4)
    engine.commit("on main")
    engine.merge("side", message="merge side")
    made = engine.log(limit=4)
    assert [c.message for c in made] == ["merge side", "on main", "on side", "w"]
    assert all(c.time is not None and start <= c.time for c in made)
    assert all(trailers.TIME not in c.message for c in made)
    assert all(trailers.TIME not in b.last_commit_message for b in engine.branches())
    times = [c.time for c in engine.first_parent_line()[:-1]]
    assert times == sorted(times, reverse=True)  # times follow the order of commits


def test_trailers_round_trip_and_text_people_wrote_is_never_taken_for_one() -> None:
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)
    facts = trailers.Trailers(moment, ("a" * 40, "b" * 40), 3)
    assert trailers.parse(trailers.stamp("title\n\nbody", facts)) == ("title\n\nbody", facts)
    forged = "fix\n\ndoltplane-time: 1999-01-01T00:00:00Z\nnot a trailer"
    assert trailers.parse(forged) == (forged, trailers.Trailers())
    assert trailers.parse("one line") == ("one line", trailers.Trailers())
    early = dt.datetime(999, 1, 1, tzinfo=dt.UTC)
    assert trailers.format_time(early) == "0999-01-01T00:00:00.000000Z"


def test_time_is_resolved_along_the_first_parent_line(engine: DoltliteEngine) -> None:
    engine.create_branch("side")
    put(engine, "side", side=1)
    engine.commit("side work", branch="side")  # made before `moment`, merged after it
    put(engine, main=1)
    before = engine.commit("main work")
    moment = dt.datetime.now(dt.UTC)
    engine.merge("side")
    line = engine.first_parent_line()
    assert [c.message for c in line[:3]] == ["Merge side", "main work", "create t"]
    assert "side work" not in {c.message for c in line}
    assert engine.resolve_time(moment) == before
    assert rows(engine, engine.resolve_time(moment)) == {"main": 1}
    side_line = engine.first_parent_line("side")
    assert [c.message for c in side_line[:2]] == ["side work", "create t"]
    assert engine.resolve_time(moment, branch="side") == side_line[0].hash


def test_two_commits_in_one_second_are_told_apart(engine: DoltliteEngine) -> None:
    for _ in range(5):  # until both land in one Dolt second
        put(engine, n=1)
        first = engine.commit("first")
        moment = dt.datetime.now(dt.UTC)
        put(engine, n=2)
        second = engine.commit("second")
        dates = {c.hash: c.date for c in engine.log(limit=2)}
        if first and second and dates[first] == dates[second]:
            break
    assert dates[first] == dates[second]
    assert engine.resolve_time(moment) == first
    assert rows(engine, engine.resolve_time(moment))["n"] == 1


def test_a_commit_without_a_recorded_time_counts_only_once_its_second_is_over(
    engine: DoltliteEngine,
) -> None:
    put(engine, n=1)
    ours = engine.commit("ours")
    time.sleep(1.05)
    theirs = raw_commit(engine, "by another tool", n=2)
    [foreign] = engine.log(limit=1)
    assert foreign.hash == theirs and foreign.time is None
    # within its second it may be later than the time asked for: never pick it there
    assert engine.resolve_time(foreign.date + dt.timedelta(microseconds=999_999)) == ours
    assert engine.resolve_time(foreign.date + dt.timedelta(seconds=1)) == theirs


def test_times_outside_history_are_typed_errors_naming_the_oldest_answerable(
    engine: DoltliteEngine,
) -> None:
    oldest = engine.first_parent_line()[-2]  # the root commit is the empty database
    assert oldest.message == "create t" and oldest.time is not None
    for when in (
        dt.datetime(999, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        oldest.time - dt.timedelta(microseconds=1),
    ):
        with pytest.raises(InvalidRevision, match="oldest time still answerable is") as info:
            engine.resolve_time(when)
        assert trailers.format_time(oldest.time) in str(info.value)
    overflow = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone(-dt.timedelta(hours=14)))
    with pytest.raises(InvalidRevision, match="supported range"):
        engine.resolve_time(overflow)
    assert engine.resolve_time(oldest.time) == oldest.hash


def test_unique_hash_prefixes_resolve_and_ambiguous_ones_are_refused(
    engine: DoltliteEngine,
) -> None:
    put(engine, a=1)
    engine.commit("one")
    put(engine, a=2)
    target = engine.commit("two")
    assert target is not None
    for length in (7, 12, 39):
        assert engine.resolve_revision(target[:length]) == target
    assert rows(engine, target[:12]) == {"a": 2}
    assert rows(engine, target[:12] + "~1") == {"a": 1}
    with pytest.raises(InvalidRevision):
        engine.resolve_revision(target[:6])  # too short to be taken for a hash
    # another commit claims to replace a different hash with the same 8-character prefix
    other = target[:8] + ("0" if target[8] != "0" else "1") + target[9:]
    conn = sqlite_module().connect(str(engine.path), isolation_level=None)
    try:
        conn.execute(
            "SELECT dolt_commit('--allow-empty', '-m', ?)",
            (trailers.stamp("imported", trailers.Trailers(replaces=(other,))),),
        )
    finally:
        conn.close()
    with pytest.raises(InvalidRevision, match="ambiguous") as info:
        engine.resolve_revision(target[:8])
    assert target[:12] in str(info.value) and other[:12] in str(info.value)
    assert engine.resolve_revision(target[:9]) == target


def test_hashes_a_squash_replaced_keep_naming_the_same_content(engine: DoltliteEngine) -> None:
    def group(name: str, count: int) -> list[str]:
        made = []
        for i in range(count):
            put(engine, **{f"{name}{i}": i})
            made.append(str(engine.commit(f"{name} {i}")))
        time.sleep(1.1)  # the next group starts in a later Dolt second
        return made

    group("old", 4)
    middle = group("middle", 2)
    kept, _ = group("new", 2)
    seen = rows(engine, kept)
    dates = {c.hash: c.date for c in engine.log()}
    engine.squash_before(dates[middle[0]])
    engine.gc()
    fresh = DoltliteEngine(engine.path, Settings.load({"data_dir": engine.path.parent}, env={}))
    try:
        replay = fresh.resolve_revision(kept)
        assert replay != kept
        assert fresh.resolve_revision(kept[:12]) == replay
        assert rows(fresh, kept) == rows(fresh, kept[:7]) == seen
        [replayed] = [c for c in fresh.log() if c.hash == replay]
        assert replayed.message == "new 0" and replayed.replaces == (kept,)
        # a second squash replays it again and carries the first alias forward
        assert fresh.squash_before(dates[kept]).squashed >= 2
        fresh.gc()
    finally:
        fresh.close()
    again = DoltliteEngine(engine.path, Settings.load({"data_dir": engine.path.parent}, env={}))
    try:
        newest = {c.hash for c in again.first_parent_line()}
        assert replay not in newest
        assert again.resolve_revision(kept) == again.resolve_revision(replay) in newest
        assert rows(again, kept[:12]) == rows(again, replay) == seen
    finally:
        again.close()


def test_a_hash_remembered_before_another_process_squashed_is_looked_up_again(
    engine: DoltliteEngine,
) -> None:
    for i in range(4):
        put(engine, k=i)
        engine.commit(f"old {i}")
    time.sleep(1.1)
    put(engine, k=10)
    kept = str(engine.commit("kept"))
    put(engine, k=11)
    engine.commit("newest")
    assert engine.resolve_revision(kept) == kept  # remembered from here on
    other = DoltliteEngine(engine.path, Settings.load({"data_dir": engine.path.parent}, env={}))
    try:
        other.squash_before(other.log(limit=2)[1].date)
        other.gc()
    finally:
        other.close()
    assert rows(engine, kept) == {"k": 10}
    assert engine.resolve_revision(kept) != kept  # now the replay that holds its content
