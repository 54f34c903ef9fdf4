"""Ops AS OF is exactly right: sub-second snapshots, a typed error naming the oldest time
still answerable after cleanup, and hashes seen before cleanup still naming their content."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from doltplane import DataPlane, InvalidRevision


def cli_run(data_dir: Path, *args: str) -> Result:
    from doltplane.cli.main import cli

    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def snapshot(dp: DataPlane, prefix: str, rounds: int, count: int = 5) -> None:
    for r in range(rounds):
        dp.ops.set_many(
            {"id": f"{prefix}{i}", "rig": "r", "agent": "a", "status": "s", "state": {"r": r}}
            for i in range(count)
        )
        dp.ops.checkpoint()


@pytest.fixture
def manual(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_WRITES", "0")
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_SECONDS", "0")


@pytest.mark.embedded_only("1 s commit times (doltlite); Dolt has ms, so the setup never happens")
def test_two_snapshots_in_one_second_are_told_apart(dp: DataPlane, data_dir: Path) -> None:
    record = {"rig": "r", "agent": "a", "status": "s"}
    for _ in range(5):  # until both snapshots land in one Dolt second
        dp.ops.set_state("x", **record, state={"n": 1})
        dp.ops.checkpoint()
        moment = dt.datetime.now(dt.UTC)
        dp.ops.set_state("x", **record, state={"n": 2})
        dp.ops.checkpoint()
        commits = dp.engine("ops").log(limit=2)
        if commits[0].date == commits[1].date:
            break
    assert commits[0].date == commits[1].date
    assert dp.ops.as_of(moment).get("x").state == {"n": 1}
    assert dp.ops.as_of(moment.isoformat()).get("x").state == {"n": 1}
    shown = cli_run(data_dir, "ops", "as-of", moment.isoformat(), "x", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["state"] == {"n": 1}


def test_cleanup_keeps_hashes_and_names_the_oldest_answerable_time(
    dp: DataPlane, data_dir: Path, manual: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # squash at every cleanup (the CLI reads its settings from the environment); no
    # snapshot thinning, which would drop all but one of these week-old snapshots
    dp.ops.settings = dataclasses.replace(
        dp.ops.settings, squash_every_hours=0, snapshot_thin_seconds=0
    )
    monkeypatch.setenv("DOLTPLANE_SQUASH_EVERY_HOURS", "0")
    monkeypatch.setenv("DOLTPLANE_SNAPSHOT_THIN_SECONDS", "0")
    snapshot(dp, "old", 2)
    before_cutoff = dt.datetime.now(dt.UTC)  # inside the history cleanup will squash
    snapshot(dp, "old", 2)
    time.sleep(2.2)
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1.1)
    snapshot(dp, "new", 3)
    shown = cli_run(data_dir, "ops", "history", "new0", "--json")
    assert shown.exit_code == 0, shown.output
    seen = json.loads(shown.stdout)[1]["commit"]  # what `ops history` showed (12 characters)
    short = seen[:12]
    rows_then = {s.id: s.state for s in dp.ops.as_of(short).list()}
    assert dp.ops.as_of(before_cutoff).get("old0")  # answerable before cleanup

    dp.ops.cleanup(now=cutoff + dt.timedelta(days=7))

    with pytest.raises(InvalidRevision, match="oldest time still answerable is") as info:
        dp.ops.as_of(before_cutoff)
    oldest_text = str(info.value).split("answerable is ")[1].split(" ")[0].rstrip("'")
    oldest = dt.datetime.fromisoformat(oldest_text.replace("Z", "+00:00"))
    assert oldest <= cutoff
    assert dp.ops.as_of(oldest).get("old0")  # the time named really answers
    refused = cli_run(data_dir, "ops", "as-of", before_cutoff.isoformat())
    assert refused.exit_code == 3, refused.output
    assert "oldest time still answerable" in refused.stderr
    assert refused.stderr.count("\n") == 1

    for name in (seen, short, seen[:7]):
        assert {s.id: s.state for s in dp.ops.as_of(name).list()} == rows_then, name
    listed = cli_run(data_dir, "ops", "as-of", short, "--json")
    assert listed.exit_code == 0, listed.output
    assert {r["id"]: r["state"] for r in json.loads(listed.stdout)} == rows_then
