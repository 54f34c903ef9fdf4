"""backup push / list / verify / restore across two data directories, over file:// and http."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from doltplane import DataPlane, backups, connect
from doltplane.store.remote_server import RemoteServer

from .conftest import Site


def _fill(dp: DataPlane) -> dict[str, object]:
    """A site with history worth keeping: commits over time, an agent branch, a tag, ops."""
    first = dp.ledger.create_issue("first", owner="mayor")
    time.sleep(1.1)  # Dolt commit times have one-second resolution
    between = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    dp.ledger.update_issue(first.id, status="closed")
    dp.ledger.tag("release-1")
    toast = dp.agent("gastown/polecats/toast")
    unmerged = toast.create_issue("unmerged work", owner="toast")
    dp.ops.set_state("toast-1", rig="gastown", agent="toast", status="busy", state={"n": 1})
    dp.ops.checkpoint("snapshot")
    return {"first": first.id, "between": between, "unmerged": unmerged.id}


def _check_restored(source: DataPlane, restored: DataPlane, facts: dict[str, object]) -> None:
    first, unmerged = str(facts["first"]), str(facts["unmerged"])
    assert [c.hash for c in restored.ledger.log()] == [c.hash for c in source.ledger.log()]
    assert restored.ledger.get_issues([first])[first].status == "closed"
    past = restored.ledger.as_of(facts["between"])  # type: ignore[arg-type]
    assert past.get_issues([first])[first].status == "open"
    assert restored.ledger.as_of("release-1").get_issues([first])[first].status == "closed"
    assert [v.record.status for v in restored.ledger.history(first)] == ["closed", "open"]
    assert [b.name for b in restored.ledger.branches()] == ["gastown/polecats/toast"]
    agent = restored.agent("gastown/polecats/toast")
    assert unmerged in {i.id for i in agent.issues()}
    assert restored.ops.get("toast-1").state == {"n": 1}
    assert restored.ops.history("toast-1")


def test_push_verify_restore_over_file(site: Site, tmp_path: Path) -> None:
    a = site("a")
    facts = _fill(a)
    backups.add_remote(a, "disk", f"file://{tmp_path}/backup")
    [pushed] = backups.push_backup(a, "disk")
    assert pushed.ok and pushed.tags == 1
    assert {(r.plane, r.branch, r.outcome) for r in pushed.refs} == {
        ("ops", "main", "pushed"),
        ("ledger", "main", "pushed"),
        ("ledger", "gastown/polecats/toast", "pushed"),
    }
    assert backups.verify_backup(a, "disk").ok

    restored = backups.restore(f"file://{tmp_path}/backup", tmp_path / "b", remote="disk")
    assert restored.into == tmp_path / "b"
    with connect(tmp_path / "b") as b:
        _check_restored(a, b, facts)
        assert backups.verify_backup(b, "disk").ok  # the restored site knows its remote
    assert not list(tmp_path.glob(".b.restore-*"))


def test_push_restore_over_http_on_loopback(site: Site, tmp_path: Path) -> None:
    a = site("a")
    facts = _fill(a)
    (tmp_path / "hub").mkdir()
    with RemoteServer(tmp_path / "hub") as server:
        assert server.url.startswith("http://127.0.0.1:")
        backups.add_remote(a, "web", server.url)
        assert backups.push_backup(a, "web")[0].ok
        assert backups.verify_backup(a, "web").ok
        backups.restore(server.url, tmp_path / "b")
    assert (tmp_path / "hub" / "ledger.db").exists()
    with connect(tmp_path / "b") as b:
        _check_restored(a, b, facts)


def test_serve_a_live_site_for_another_to_clone(site: Site, tmp_path: Path) -> None:
    a = site("a")
    facts = _fill(a)
    with backups.serve(a, 0) as server:
        backups.restore(server.url, tmp_path / "b")
        with connect(tmp_path / "b") as b:
            _check_restored(a, b, facts)
    assert not server.running


def test_second_push_changes_nothing_and_merged_branches_leave_the_backup(
    site: Site, tmp_path: Path
) -> None:
    a = site("a")
    _fill(a)
    backups.add_remote(a, "disk", f"file://{tmp_path}/backup")
    backups.push_backup(a, "disk")
    again = backups.push_backup(a, "disk")[0]
    assert {r.outcome for r in again.refs} == {"unchanged"}

    assert a.agent("gastown/polecats/toast").merge().ok  # the branch is deleted here
    refs = {(r.plane, r.branch): r.outcome for r in backups.push_backup(a, "disk")[0].refs}
    assert refs[("ledger", "gastown/polecats/toast")] == "deleted"
    assert refs[("ledger", "main")] == "pushed"
    check = backups.verify_backup(a, "disk")
    assert check.ok and all(not p.extra for p in check.planes)


def test_rewritten_history_is_forced_but_someone_elses_push_is_not(
    site: Site, tmp_path: Path
) -> None:
    a = site("a")
    for n in range(4):
        a.ops.set_state("x", rig="r", agent="a", status=f"s{n}", state={})
        a.ops.checkpoint(f"snapshot {n}")
    backups.add_remote(a, "disk", f"file://{tmp_path}/backup")
    backups.push_backup(a, "disk")
    # retention cleanup folds old snapshots: ops main is no longer a fast-forward
    squashed = a.engine("ops").squash_before(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert squashed.squashed >= 2
    [result] = backups.push_backup(a, "disk")
    assert [(r.plane, r.outcome) for r in result.refs if r.plane == "ops"] == [("ops", "forced")]
    assert backups.verify_backup(a, "disk").ok

    # another site moves the ledger there: ours is now behind, and it is not overwritten
    backups.restore(f"file://{tmp_path}/backup", tmp_path / "b", remote="disk")
    with connect(tmp_path / "b") as b:
        b.ledger.create_issue("only at b")
        backups.push_backup(b, "disk")
    a.ledger.create_issue("only at a")
    [result] = backups.push_backup(a, "disk")
    assert [(r.plane, r.branch) for r in result.rejected] == [("ledger", "main")]
    assert not backups.verify_backup(a, "disk").ok
    [forced] = backups.push_backup(a, "disk", force=True)
    assert forced.ok and backups.verify_backup(a, "disk").ok


def test_list_shows_what_each_remote_holds_and_when(site: Site, tmp_path: Path) -> None:
    a = site("a")
    _fill(a)
    backups.add_remote(a, "disk", f"file://{tmp_path}/backup")
    backups.add_remote(a, "spare", f"file://{tmp_path}/spare")
    before = dt.datetime.now(dt.UTC)
    backups.push_backup(a, "disk")
    found = {info.name: info for info in backups.list_backups(a)}
    assert found["disk"].last_push is not None and found["disk"].last_push >= before
    ledger = found["disk"].holds["ledger"]
    assert ledger is not None and set(ledger.branches) == {"main", "gastown/polecats/toast"}
    assert set(ledger.tags) == {"release-1"}
    assert found["spare"].last_push is None and found["spare"].holds == {
        "ops": None,
        "ledger": None,
    }


def test_bookkeeping_lives_outside_the_databases(site: Site, tmp_path: Path) -> None:
    a = site("a")
    a.ledger.create_issue("x")
    backups.add_remote(a, "disk", f"file://{tmp_path}/backup")
    backups.push_backup(a, "disk")
    registry = json.loads((tmp_path / "a" / "remotes.json").read_text())
    assert registry["remotes"]["disk"]["last_push"]
    for plane in ("ops", "ledger"):
        engine = a.engine(plane)
        assert not engine.is_dirty()
        with engine.read() as conn:
            tables = conn.exec_driver_sql("SELECT name FROM sqlite_master").scalars().all()
        assert not [t for t in tables if "remote" in t or "backup" in t]


@pytest.mark.parametrize("scheme", ["file", "http"])
def test_restore_keeps_as_of_by_time_on_every_plane(
    site: Site, tmp_path: Path, scheme: str
) -> None:
    a = site("a")
    a.ops.set_state("k", rig="r", agent="a", status="before", state={})
    a.ops.checkpoint("before")
    time.sleep(1.1)
    moment = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    a.ops.set_state("k", rig="r", agent="a", status="after", state={})
    a.ops.checkpoint("after")
    a.ledger.create_issue("so the ledger has a commit")
    (tmp_path / "hub").mkdir()
    with RemoteServer(tmp_path / "hub") as server:
        url = server.url if scheme == "http" else f"file://{tmp_path}/hub"
        backups.add_remote(a, "there", url)
        backups.push_backup(a, "there")
        backups.restore(url, tmp_path / "b")
    with connect(tmp_path / "b") as b:
        assert b.ops.get("k").status == "after"
        assert b.ops.as_of(moment).get("k").status == "before"
