"""Ledger AS OF is exactly right: main's own line, sub-second times, typed errors for times
outside history, and the short hashes tables print."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from doltplane import DataPlane, InvalidRevision
from doltplane.cli.main import cli


def cli_run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def titles_at(data_dir: Path, when: str) -> set[str]:
    result = cli_run(data_dir, "ledger", "as-of", when, "--json")
    assert result.exit_code == 0, result.output
    return {issue["title"] for issue in json.loads(result.stdout)}


def test_as_of_before_a_merge_never_shows_the_merged_agent_work(
    dp: DataPlane, data_dir: Path
) -> None:
    dp.ledger.create_issue("on main")
    toast = dp.agent("gastown/polecats/toast")
    toast.create_issue("agent work")  # made before `moment`, merged into main after it
    time.sleep(1.1)  # past the agent commit's Dolt second too
    moment = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    assert toast.merge().ok
    assert {i.title for i in dp.ledger.issues()} == {"on main", "agent work"}
    for when in (moment, moment.isoformat(), moment.replace(tzinfo=None).isoformat()):
        assert {i.title for i in dp.ledger.as_of(when).issues()} == {"on main"}, when
    assert titles_at(data_dir, moment.isoformat()) == {"on main"}
    after = dt.datetime.now(dt.UTC)
    assert {i.title for i in dp.ledger.as_of(after).issues()} == {"on main", "agent work"}


def test_a_time_on_an_agent_branch_follows_that_branch(dp: DataPlane) -> None:
    dp.ledger.create_issue("on main")
    toast = dp.agent("gastown/polecats/toast")
    toast.create_issue("agent work")
    moment = dt.datetime.now(dt.UTC)
    dp.ledger.create_issue("later on main")
    toast.create_issue("later agent work")
    on_branch = dp.ledger.as_of(moment, branch=toast.branch)
    assert {i.title for i in on_branch.issues()} == {"on main", "agent work"}
    assert {i.title for i in dp.ledger.as_of(moment).issues()} == {"on main"}
    with pytest.raises(InvalidRevision):
        dp.ledger.as_of(moment, branch="no-such-branch")


@pytest.mark.embedded_only("1 s commit times (doltlite); Dolt has ms, so the setup never happens")
def test_two_writes_in_one_second_are_told_apart(dp: DataPlane, data_dir: Path) -> None:
    for _ in range(5):  # until both commits land in one Dolt second
        dp.ledger.create_issue("first")
        moment = dt.datetime.now(dt.UTC)
        second = dp.ledger.create_issue("second")
        commits = dp.ledger.log(limit=2)
        if commits[0].date == commits[1].date:
            break
    assert commits[0].date == commits[1].date
    expected = {i.id for i in dp.ledger.issues()} - {second.id}
    assert {i.id for i in dp.ledger.as_of(moment).issues()} == expected
    result = cli_run(data_dir, "ledger", "as-of", moment.isoformat(), "--json")
    assert {i["id"] for i in json.loads(result.stdout)} == expected


@pytest.mark.parametrize(
    ("when", "says"),
    [
        ("0999-01-01", "oldest time still answerable"),
        ("0001-01-01T00:00:00", "oldest time still answerable"),
        ("2000-01-01T00:00:00Z", "oldest time still answerable"),
        ("9999-12-31T23:59:59-14:00", "supported range"),
        ("0001-01-01T00:00:00+05:00", "supported range"),
    ],
)
def test_times_outside_history_are_one_line_typed_errors(
    dp: DataPlane, data_dir: Path, when: str, says: str
) -> None:
    dp.ledger.create_issue("exists")
    with pytest.raises(InvalidRevision, match=says):
        dp.ledger.as_of(when)
    result = cli_run(data_dir, "ledger", "as-of", when)
    assert result.exit_code == 3, result.output
    assert says in result.stderr and result.stderr.count("\n") == 1


def test_the_short_hashes_tables_print_are_revisions(dp: DataPlane, data_dir: Path) -> None:
    issue = dp.ledger.create_issue("tracked")
    dp.ledger.update_issue(issue.id, status="closed")
    listed = cli_run(data_dir, "ledger", "log", "--json")
    assert listed.exit_code == 0, listed.output
    earlier = json.loads(listed.stdout)[1]["hash"]
    assert "doltplane-time" not in json.loads(listed.stdout)[1]["message"]
    for short in (earlier[:12], earlier[:7]):
        assert dp.ledger.as_of(short).get_issue(issue.id).status == "open"
        shown = cli_run(data_dir, "ledger", "show", issue.id, "--as-of", short, "--json")
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout)["status"] == "open"
    assert dp.ledger.as_of(earlier[:12] + "~0").get_issue(issue.id).status == "open"
    refused = cli_run(data_dir, "ledger", "as-of", "0000000")
    assert refused.exit_code == 3 and refused.stderr.count("\n") == 1
