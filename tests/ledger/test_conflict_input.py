"""Final rows given to resolve a conflict are validated like any write, and only conflicting
keys may be given: a refused resolution writes nothing, and the ledger stays readable."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from doltplane import DataPlane, InvalidInput, MergeStatus
from doltplane.cli.main import cli
from doltplane.planes.ledger_agents import AgentSession, final_rows
from doltplane.planes.ledger_records import Issue

from .conftest import ledger_state

TOAST = "gastown/polecats/toast"
NUX = "gastown/polecats/nux"


def _conflicting(dp: DataPlane) -> tuple[AgentSession, Issue, Issue]:
    """nux's branch conflicts with main on ``shared``; toast merged ``other`` meanwhile."""
    shared = dp.ledger.create_issue("shared")
    toast, nux = dp.agent(TOAST), dp.agent(NUX)
    toast.update_issue(shared.id, title="toast's title")
    other = toast.create_issue("toast's own work", owner="toast")
    nux.update_issue(shared.id, title="nux's title")
    assert toast.merge().ok
    assert nux.merge().status is MergeStatus.CONFLICT
    return nux, shared, other


def _final(nux: AgentSession, **changes: Any) -> dict[str, Any]:
    [conflict] = nux.conflicts()
    return {**(conflict.ours or {}), **changes}


def _still_readable(dp: DataPlane) -> None:
    dp.ledger.issues()
    dp.ledger.as_of(dt.datetime.now(dt.UTC)).issues()
    dp.ledger.export_jsonl(io.StringIO())


@pytest.mark.parametrize(
    "changes",
    [
        {"created_at": "garbage"},
        {"created_at": None},
        {"completed_at": 12},
        {"title": ""},
        {"status": ""},
        {"type": "x" * 65},
        {"owner": "bad\x00owner"},
        {"metadata": "[1, 2]"},
        {"metadata": {"_jsonl": "reserved"}},
        {"unknown_column": 1},
    ],
    ids=lambda c: next(iter(c)),
)
def test_invalid_final_row_is_refused_and_writes_nothing(
    dp: DataPlane, changes: dict[str, Any]
) -> None:
    nux, shared, _ = _conflicting(dp)
    final = _final(nux, **changes)
    before = ledger_state(dp)
    with pytest.raises(InvalidInput):
        nux.resolve({"issues": [final]})
    assert ledger_state(dp) == before
    assert not dp.engine("ledger").is_dirty(nux.branch)
    _still_readable(dp)
    # and the conflict can still be finished properly
    assert nux.resolve({"issues": [_final(nux, title="agreed")]}).ok
    assert dp.ledger.get_issue(shared.id).title == "agreed"
    _still_readable(dp)


def test_row_for_a_key_outside_the_conflict_is_refused(dp: DataPlane) -> None:
    nux, _, other = _conflicting(dp)
    hijack = dataclasses.replace(other, owner="nux", title="overwritten by nux")
    before = ledger_state(dp)
    with pytest.raises(InvalidInput, match="not in the conflict"):
        nux.resolve({"issues": [_final(nux, title="agreed"), hijack]})
    with pytest.raises(InvalidInput, match="not in the conflict"):
        nux.resolve({"issues": [_final(nux, title="agreed")], "cv_entries": []})
    assert ledger_state(dp) == before
    assert nux.resolve({"issues": [_final(nux, title="agreed")]}).ok
    assert dp.ledger.get_issue(other.id) == other  # toast's merged change survives


def test_final_rows_may_be_records_mappings_or_raw_conflict_rows(dp: DataPlane) -> None:
    nux, shared, _ = _conflicting(dp)
    typed = dataclasses.replace(
        dp.ledger.get_issue(shared.id),
        title="typed",
        metadata={"n": 1},
        created_at=dt.datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
    )
    assert nux.resolve({"issues": [typed]}).ok
    assert dp.ledger.get_issue(shared.id) == typed
    _still_readable(dp)


def test_cli_resolve_rows_refuses_garbage_with_one_line(dp: DataPlane, tmp_path: Path) -> None:
    nux, _, _ = _conflicting(dp)
    final = _final(nux, created_at="garbage")
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"issues": [final]}), encoding="utf-8")
    data_dir = str(dp.settings.data_dir)
    before = ledger_state(dp)
    result = CliRunner().invoke(cli, ["--data-dir", data_dir, "ledger", "resolve", NUX,
                                      "--rows", str(rows)])  # fmt: skip
    assert result.exit_code == InvalidInput.exit_code, result.output
    assert "created_at" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert ledger_state(dp) == before


def test_imported_record_resolves_from_its_stored_row_keeping_extra_fields(
    dp: DataPlane, tmp_path: Path
) -> None:
    line = {"kind": "issue", "id": "bd-1", "type": "task", "title": "imported", "status": "open",
            "created_by": "beads", "created_at": "2025-01-02T03:04:05+00:00",
            "labels": ["a", {"nested": True}]}  # fmt: skip
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    dp.ledger.import_jsonl(source)
    nux = dp.agent(NUX)
    nux.update_issue("bd-1", title="nux's")
    dp.ledger.update_issue("bd-1", title="main's")
    [conflict] = nux.merge().conflicts
    final = {**(conflict.theirs or {}), "status": "closed"}
    assert nux.resolve({"issues": [final]}).ok
    merged = dp.ledger.get_issue("bd-1")
    assert (merged.title, merged.status) == ("main's", "closed")
    assert merged.extra == {"labels": ["a", {"nested": True}]}
    assert merged.original_text == {"created_at": "2025-01-02T03:04:05+00:00"}
    out = io.StringIO()
    dp.ledger.export_jsonl(out)
    assert json.loads(out.getvalue())["labels"] == ["a", {"nested": True}]


def test_cv_entry_conflict_resolves_with_a_typed_row(dp: DataPlane) -> None:
    nux = dp.agent(NUX)
    nux_entry = nux.add_cv_entry("nux@x", "fixed", id="cv-1")  # both sides add cv-1
    dp.ledger.add_cv_entry("main@x", "reviewed", id="cv-1")
    result = nux.merge()
    assert result.status is MergeStatus.CONFLICT
    [conflict] = result.conflicts
    assert conflict.table == "cv_entries" and conflict.base is None
    before = ledger_state(dp)
    with pytest.raises(InvalidInput, match="timestamp"):
        nux.resolve({"cv_entries": [{**(conflict.ours or {}), "timestamp": "soon"}]})
    with pytest.raises(InvalidInput, match="not a ledger table"):
        nux.resolve({"operational_state": []})
    assert ledger_state(dp) == before
    agreed = dataclasses.replace(nux_entry, activity_type="agreed", metadata={"by": "both"})
    assert nux.resolve({"cv_entries": [agreed]}).ok
    assert dp.ledger.get_cv_entry("cv-1") == agreed


def test_cli_conflicts_json_edited_then_resolve_rows(dp: DataPlane, tmp_path: Path) -> None:
    _, shared, other = _conflicting(dp)
    data_dir = str(dp.settings.data_dir)
    runner = CliRunner()
    shown = runner.invoke(cli, ["--data-dir", data_dir, "ledger", "conflicts", NUX, "--json"])
    assert shown.exit_code == 0, shown.output
    [conflict] = json.loads(shown.stdout)
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps({"issues": [{**conflict["ours"], "title": "edited"}]}))
    done = runner.invoke(cli, ["--data-dir", data_dir, "ledger", "resolve", NUX,
                               "--rows", str(rows), "--json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["status"] == "merged"
    assert dp.ledger.get_issue(shared.id).title == "edited"
    assert dp.ledger.get_issue(other.id) == other
    _still_readable(dp)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8) | st.integers(), max_size=3),
    st.lists(st.integers(), max_size=3),
    st.sampled_from(["garbage", "2025-01-02", "2025-01-02T03:04:05Z", "{}", '{"_jsonl": 1}',
                     '{"_jsonl": {"extra": "x"}}', "9999-12-31T23:59:59-14:00", "bad\x00id"]),
)  # fmt: skip
_BASE = {"id": "gt-1", "type": "task", "title": "t", "status": "open", "created_by": "me",
         "created_at": "2025-01-02 03:04:05.000001", "metadata": "{}"}  # fmt: skip
_ISSUE_COLUMNS = ["id", "type", "title", "status", "created_by", "created_at", "completed_at",
                  "owner", "metadata", "other"]  # fmt: skip


_EDGES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00", "garbage", "", "2025-13-01"]


@settings(max_examples=300, deadline=None)
@example(base=_BASE, changes={"created_at": _EDGES[0]})
@example(base=_BASE, changes={"completed_at": _EDGES[1]})
@example(
    base=_BASE,
    changes={"created_at": dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))},
)
@example(base=_BASE, changes={"metadata": '{"_jsonl": {"extra": "x"}}'})
@given(
    base=st.fixed_dictionaries(
        {
            "id": st.just("gt-1"),
            "type": st.just("task"),
            "title": st.just("t"),
            "status": st.just("open"),
            "created_by": st.just("me"),
            "created_at": st.just("2025-01-02 03:04:05.000001") | st.sampled_from(_EDGES),
            "metadata": st.just("{}"),
        }
    ),
    changes=st.dictionaries(st.sampled_from(_ISSUE_COLUMNS), _values, max_size=4),
)
def test_final_rows_only_ever_pass_or_raise_invalid_input(
    base: dict[str, Any], changes: dict[str, Any]
) -> None:
    """No final row crashes the check: it becomes a valid record or an InvalidInput."""
    try:
        resolution = final_rows({"issues": [{**base, **changes}]})
    except InvalidInput as exc:
        assert "\n" not in exc.one_line()
        return
    assert not isinstance(resolution, str)
    [row] = resolution["issues"]
    Issue.from_row(row)  # reads back: what is stored is what every reader understands


@pytest.mark.parametrize(
    "changes",
    [{"title": ""}, {"status": ""}, {"created_at": "garbage"}, {"metadata": {"_jsonl": 5}}],
    ids=lambda c: next(iter(c)),
)
def test_write_records_checks_whole_records_too(dp: DataPlane, changes: dict[str, Any]) -> None:
    issue = dp.ledger.create_issue("x")
    before = ledger_state(dp)
    with pytest.raises(InvalidInput):
        dp.ledger.write_records([dataclasses.replace(issue, **changes)], "bad")
    assert ledger_state(dp) == before
    _still_readable(dp)
