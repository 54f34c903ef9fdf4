"""Wrongly typed or out-of-range arguments to the public ``dp.ledger`` and ``dp.agent(...)``
API: InvalidInput (never TypeError, AttributeError, KeyError or OverflowError), and nothing
written on any branch."""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable
from typing import Any

import pytest

from doltplane import DataPlane, InvalidInput, InvalidRevision
from doltplane.errors import InvalidBranchName
from doltplane.validation import MAX_JSON_DEPTH

from .conftest import ledger_state

Call = Callable[[DataPlane], object]
AGENT = "gastown/polecats/toast"
FAR_WEST = dt.timezone(dt.timedelta(hours=-14))


def deep(depth: int) -> dict[str, Any]:
    node: Any = 1
    for _ in range(depth - 1):
        node = {"k": node}
    return {"root": node}


BAD_CALLS: list[tuple[str, Call]] = [
    ("as_of int", lambda dp: dp.ledger.as_of(42)),  # type: ignore[arg-type]
    ("as_of bytes", lambda dp: dp.ledger.as_of(b"main")),  # type: ignore[arg-type]
    ("as_of overflow", lambda dp: dp.ledger.as_of("9999-12-31T23:59:59-14:00")),
    ("as_of early overflow", lambda dp: dp.ledger.as_of("0001-01-01T00:00:00+14:00")),
    (
        "as_of datetime overflow",
        lambda dp: dp.ledger.as_of(dt.datetime.max.replace(tzinfo=FAR_WEST)),
    ),
    ("agent bytes", lambda dp: dp.agent(b"x")),  # type: ignore[arg-type]
    ("agent None", lambda dp: dp.agent(None)),  # type: ignore[arg-type]
    ("agent surrogate", lambda dp: dp.agent("a\udcff")),
    ("create_issue title int", lambda dp: dp.ledger.create_issue(title=5)),  # type: ignore[arg-type]
    ("create_issue title surrogate", lambda dp: dp.ledger.create_issue("t\udcff")),
    ("create_issue prefix int", lambda dp: dp.ledger.create_issue("t", prefix=5)),  # type: ignore[arg-type]
    ("create_issue created_at str", lambda dp: dp.ledger.create_issue("t", created_at="x")),  # type: ignore[arg-type]
    (
        "create_issue created_at overflow",
        lambda dp: dp.ledger.create_issue("t", created_at=dt.datetime.max.replace(tzinfo=FAR_WEST)),
    ),
    (
        "create_issue metadata deep",
        lambda dp: dp.ledger.create_issue("t", metadata=deep(MAX_JSON_DEPTH + 1)),
    ),
    ("create_issue owner list", lambda dp: dp.ledger.create_issue("t", owner=["me"])),  # type: ignore[arg-type]
    ("create_issues int", lambda dp: dp.ledger.create_issues(5)),  # type: ignore[arg-type]
    ("create_issues mapping", lambda dp: dp.ledger.create_issues({"title": "t"})),  # type: ignore[arg-type]
    ("update_issue id int", lambda dp: dp.ledger.update_issue(5, title="x")),  # type: ignore[arg-type]
    ("update_issue title int", lambda dp: dp.ledger.update_issue(_first(dp), title=5)),  # type: ignore[arg-type]
    ("update_issues int", lambda dp: dp.ledger.update_issues(5)),  # type: ignore[arg-type]
    ("update_issues id list", lambda dp: dp.ledger.update_issues([{"id": [1]}])),
    ("add_cv_entry ints", lambda dp: dp.ledger.add_cv_entry(5, 5)),  # type: ignore[arg-type]
    ("add_cv_entry timestamp str", lambda dp: dp.ledger.add_cv_entry("a@b", "x", timestamp="x")),  # type: ignore[arg-type]
    ("add_cv_entries int", lambda dp: dp.ledger.add_cv_entries(5)),  # type: ignore[arg-type]
    ("get_issue None", lambda dp: dp.ledger.get_issue(None)),  # type: ignore[arg-type]
    ("get_issues int", lambda dp: dp.ledger.get_issues(5)),  # type: ignore[arg-type]
    ("get_issues str", lambda dp: dp.ledger.get_issues("gt-1")),
    ("issues status int", lambda dp: dp.ledger.issues(status=5)),  # type: ignore[arg-type]
    ("issues created_since str", lambda dp: dp.ledger.issues(created_since="x")),  # type: ignore[arg-type]
    ("issues limit str", lambda dp: dp.ledger.issues(limit="x")),  # type: ignore[arg-type]
    ("issues include_unmerged str", lambda dp: dp.ledger.issues(include_unmerged="yes")),  # type: ignore[arg-type]
    (
        "issues unmerged created_since str",
        lambda dp: dp.ledger.issues(include_unmerged=True, created_since="x"),  # type: ignore[arg-type]
    ),
    ("cv_entries since int", lambda dp: dp.ledger.cv_entries(since=5)),  # type: ignore[arg-type]
    ("cv_entries bead_id int", lambda dp: dp.ledger.cv_entries(bead_id=5)),  # type: ignore[arg-type]
    ("count unknown kind", lambda dp: dp.ledger.count("x")),  # type: ignore[arg-type]
    ("count list kind", lambda dp: dp.ledger.count([1])),  # type: ignore[arg-type]
    ("history kind list", lambda dp: dp.ledger.history("gt-1", kind=[1])),  # type: ignore[arg-type]
    ("history id int", lambda dp: dp.ledger.history(5)),  # type: ignore[arg-type]
    ("diff int", lambda dp: dp.ledger.diff(5)),  # type: ignore[arg-type]
    ("log limit str", lambda dp: dp.ledger.log(limit="x")),  # type: ignore[arg-type]
    ("log branch int", lambda dp: dp.ledger.log(branch=5)),  # type: ignore[arg-type]
    ("commit_count int", lambda dp: dp.ledger.commit_count(5)),  # type: ignore[arg-type]
    ("tag int", lambda dp: dp.ledger.tag(5)),  # type: ignore[arg-type]
    ("branches stale_after str", lambda dp: dp.ledger.branches(stale_after="x")),  # type: ignore[arg-type]
    ("branches stale_after nan", lambda dp: dp.ledger.branches(stale_after=math.nan)),
    ("branches stale_after inf", lambda dp: dp.ledger.branches(stale_after=math.inf)),
    ("prune dry_run str", lambda dp: dp.ledger.prune(dry_run="no")),  # type: ignore[arg-type]
    ("sync int", lambda dp: dp.ledger.sync(5)),  # type: ignore[arg-type]
    ("merge None", lambda dp: dp.ledger.merge(None)),  # type: ignore[arg-type]
    ("conflicts bytes", lambda dp: dp.ledger.conflicts(b"x")),  # type: ignore[arg-type]
    ("resolve int agent", lambda dp: dp.ledger.resolve(5, "ours")),  # type: ignore[arg-type]
    ("export_jsonl int", lambda dp: dp.ledger.export_jsonl(5)),  # type: ignore[arg-type]
    ("export_jsonl progress int", lambda dp: dp.ledger.export_jsonl(io.StringIO(), progress=5)),  # type: ignore[arg-type]
    ("import_jsonl int", lambda dp: dp.ledger.import_jsonl(5)),  # type: ignore[arg-type]
    ("import_jsonl None", lambda dp: dp.ledger.import_jsonl(None)),  # type: ignore[arg-type]
    ("verify_jsonl int", lambda dp: dp.ledger.verify_jsonl(5)),  # type: ignore[arg-type]
    ("write_records int", lambda dp: dp.ledger.write_records(5, "m")),  # type: ignore[arg-type]
    ("write_records item int", lambda dp: dp.ledger.write_records([5], "m")),  # type: ignore[list-item]
    ("completed_per_owner since int", lambda dp: dp.ledger.completed_per_owner_per_month(since=5)),  # type: ignore[arg-type]
    ("cv_entries_per_owner until str", lambda dp: dp.ledger.cv_entries_per_owner(until="x")),  # type: ignore[arg-type]
    ("agent create_issue title int", lambda dp: dp.agent(AGENT).create_issue(title=5)),  # type: ignore[arg-type]
    ("agent update_issues int", lambda dp: dp.agent(AGENT).update_issues(5)),  # type: ignore[arg-type]
    ("agent issues limit float", lambda dp: dp.agent(AGENT).issues(limit=1.5)),  # type: ignore[arg-type]
    ("agent resolve int", lambda dp: dp.agent(AGENT).resolve(5)),  # type: ignore[arg-type]
]


def _first(dp: DataPlane) -> str:
    return dp.ledger.issues()[0].id


@pytest.mark.parametrize(("case", "call"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_wrong_types_are_invalid_input_and_write_nothing(
    dp: DataPlane, case: str, call: Call
) -> None:
    dp.ledger.create_issue("existing")
    dp.agent(AGENT).create_issue("on a branch")
    before = ledger_state(dp)
    with pytest.raises(InvalidInput) as info:
        call(dp)
    assert "\n" not in info.value.one_line()
    assert ledger_state(dp) == before


def test_time_outside_utc_range_is_an_invalid_revision(dp: DataPlane) -> None:
    dp.ledger.create_issue("x")
    for when in ("9999-12-31T23:59:59-14:00", dt.datetime.max.replace(tzinfo=FAR_WEST)):
        with pytest.raises(InvalidRevision, match="the years 1 to 9999 in UTC"):
            dp.ledger.as_of(when)


def test_agent_name_in_bytes_is_an_invalid_branch_name(dp: DataPlane) -> None:
    with pytest.raises(InvalidBranchName):
        dp.agent(b"x")  # type: ignore[arg-type]


def test_error_messages_stay_short_whatever_the_input(dp: DataPlane) -> None:
    with pytest.raises(InvalidInput) as info:
        dp.ledger.create_issue(["x" * 1000] * 1000)  # type: ignore[arg-type]
    assert len(info.value.one_line()) < 200
    with pytest.raises(InvalidInput) as info:
        dp.ledger.create_issue("t" * 100_000 + "\udcff")
    assert len(info.value.one_line()) < 200
