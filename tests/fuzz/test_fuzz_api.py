"""The public Python API under generated input: only DoltplaneErrors, no partial writes."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from doltplane import DataPlane, connect

from . import strategies as s
from .budget import fuzz_settings
from .harness import attempt, ledger_snapshot, ops_snapshot

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def dp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataPlane]:
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("DOLTPLANE_"):
                env.delenv(name)
        folder = tmp_path_factory.mktemp("fuzz-api")
        with connect(folder / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as plane:
            plane.ops.set_state("seed-1", rig="r", agent="toast", status="busy", state={"a": 1})
            plane.ops.checkpoint("seed")
            plane.ledger.create_issue("seed", id="gt-seed", owner="toast")
            yield plane


# --- operational plane -------------------------------------------------------------------


@fuzz_settings()
@given(
    id=s.ids,
    rig=s.ids,
    agent=s.ids,
    status=s.texts,
    state=s.json_objects | s.json_values,
    expected_version=st.none() | st.integers(min_value=-2, max_value=3),
)
def test_ops_set_state(
    dp: DataPlane, id: str, rig: str, agent: str, status: str, state: Any, expected_version: Any
) -> None:
    attempt(
        "ops.set_state",
        lambda: dp.ops.set_state(
            id, rig=rig, agent=agent, status=status, state=state, expected_version=expected_version
        ),
        ops_snapshot(dp),
    )


@fuzz_settings(0.5)
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"id": s.ids, "rig": s.ids, "agent": s.ids, "status": s.texts, "state": s.json_objects}
        ),
        max_size=4,
    )
)
def test_ops_set_many(dp: DataPlane, records: list[dict[str, Any]]) -> None:
    attempt("ops.set_many", lambda: dp.ops.set_many(records), ops_snapshot(dp))


@fuzz_settings()
@example(agent="a", status=None, cycle=2**63)  # was an OverflowError from the driver
@given(
    agent=s.ids, status=st.none() | s.json_objects, cycle=st.none() | st.integers(-(2**70), 2**70)
)
def test_ops_heartbeat(dp: DataPlane, agent: str, status: Any, cycle: Any) -> None:
    attempt(
        "ops.heartbeat",
        lambda: dp.ops.heartbeat(agent, status=status, cycle=cycle),
        ops_snapshot(dp),
    )


@fuzz_settings()
@given(
    id=s.ids,
    rig=st.none() | s.ids,
    since=st.none() | s.any_datetimes | s.aware_datetimes,
    limit=st.none() | st.integers(-5, 5),
    stale=st.none() | st.floats(allow_nan=False, allow_infinity=False),
)
def test_ops_reads(dp: DataPlane, id: str, rig: Any, since: Any, limit: Any, stale: Any) -> None:
    snapshot = ops_snapshot(dp)
    attempt("ops.get", lambda: dp.ops.get(id), snapshot)
    attempt("ops.history", lambda: dp.ops.history(id), snapshot)
    attempt("ops.heartbeats", lambda: dp.ops.heartbeats(id, limit=abs(limit or 1)), snapshot)
    attempt("ops.list", lambda: dp.ops.list(rig=rig, updated_since=since, limit=limit), snapshot)
    attempt("ops.agents", lambda: dp.ops.agents(stale_after=stale), snapshot)


# --- ledger plane ------------------------------------------------------------------------


@fuzz_settings()
@given(
    title=s.texts,
    type=s.texts,
    status=st.sampled_from(["open", "closed", "in_progress"]) | s.texts,
    owner=st.none() | s.ids,
    metadata=st.none() | s.json_objects,
    id=st.none() | s.ids,
    created_at=st.none() | s.any_datetimes | s.aware_datetimes,
)
def test_ledger_create_issue(
    dp: DataPlane,
    title: str,
    type: str,
    status: str,
    owner: Any,
    metadata: Any,
    id: Any,
    created_at: Any,
) -> None:
    attempt(
        "ledger.create_issue",
        lambda: dp.ledger.create_issue(
            title,
            type=type,
            status=status,
            owner=owner,
            metadata=metadata,
            id=id,
            created_at=created_at,
        ),
        ledger_snapshot(dp),
    )


@fuzz_settings()
@given(
    id=st.sampled_from(["gt-seed"]) | s.ids,
    changes=st.fixed_dictionaries(
        {},
        optional={
            "title": s.texts,
            "type": s.texts,
            "status": st.sampled_from(["open", "closed"]) | s.texts,
            "owner": st.none() | s.ids,
            "metadata": s.json_objects,
        },
    ),
)
def test_ledger_update_issue(dp: DataPlane, id: str, changes: dict[str, Any]) -> None:
    attempt(
        "ledger.update_issue", lambda: dp.ledger.update_issue(id, **changes), ledger_snapshot(dp)
    )


@fuzz_settings(0.5)
@given(
    owner_email=s.ids,
    activity_type=s.texts,
    bead_id=st.none() | s.ids,
    metadata=st.none() | s.json_objects,
    timestamp=st.none() | s.any_datetimes | s.aware_datetimes,
)
def test_ledger_cv_entry(
    dp: DataPlane, owner_email: str, activity_type: str, bead_id: Any, metadata: Any, timestamp: Any
) -> None:
    attempt(
        "ledger.add_cv_entry",
        lambda: dp.ledger.add_cv_entry(
            owner_email, activity_type, bead_id=bead_id, metadata=metadata, timestamp=timestamp
        ),
        ledger_snapshot(dp),
    )


@fuzz_settings()
@given(name=s.branch_names, title=s.texts.filter(lambda t: "\x00" not in t))
def test_agent_branch_names(dp: DataPlane, name: str, title: str) -> None:
    snapshot = ledger_snapshot(dp)
    session = attempt("ledger.agent", lambda: dp.agent(name), snapshot)
    if isinstance(session, Exception):
        return
    attempt("ledger.agent_write", lambda: session.create_issue(title), snapshot)
    attempt("ledger.agent_merge", session.merge, snapshot)


@fuzz_settings(0.5)
@given(name=s.branch_names, revision=s.revisions)
def test_ledger_tag(dp: DataPlane, name: str, revision: str) -> None:
    attempt("ledger.tag", lambda: dp.ledger.tag(name, revision), ledger_snapshot(dp))


@fuzz_settings(0.5)
@given(branch=st.none() | s.branch_names, limit=st.none() | st.integers(-3, 3))
def test_ledger_log_and_branches(dp: DataPlane, branch: Any, limit: Any) -> None:
    snapshot = ledger_snapshot(dp)
    attempt("ledger.log", lambda: dp.ledger.log(branch=branch, limit=limit), snapshot)
    attempt("ledger.agent_sync", lambda: dp.ledger.sync(branch or "main"), snapshot)


# --- revisions and times (issue 7 items 1-4: helper h1) ---------------------------------


@fuzz_settings()
@given(revision=s.revisions, other=s.revisions)
def test_ledger_revisions(dp: DataPlane, revision: str, other: str) -> None:
    snapshot = ledger_snapshot(dp)
    view = attempt("ledger.as_of(revision)", lambda: dp.ledger.as_of(revision), snapshot)
    if not isinstance(view, Exception):
        attempt("ledger.as_of(revision).issues", lambda: view.issues(), snapshot)
    attempt("ledger.diff", lambda: dp.ledger.diff(revision, other), snapshot)
    attempt("ledger.history", lambda: dp.ledger.history(revision), snapshot)


@fuzz_settings()
@given(when=s.times)
def test_times(dp: DataPlane, when: dt.datetime | str) -> None:
    ledger, ops = ledger_snapshot(dp), ops_snapshot(dp)
    view = attempt("ledger.as_of(time)", lambda: dp.ledger.as_of(when), ledger)
    if not isinstance(view, Exception):
        attempt("ledger.as_of(time).issues", lambda: view.issues(), ledger)
    ops_view = attempt("ops.as_of(time)", lambda: dp.ops.as_of(when), ops)
    if not isinstance(ops_view, Exception):
        attempt("ops.as_of(time).list", lambda: ops_view.list(), ops)


@fuzz_settings(0.5)
@given(revision=s.revisions)
def test_ops_revisions(dp: DataPlane, revision: str) -> None:
    ops = ops_snapshot(dp)
    view = attempt("ops.as_of(revision)", lambda: dp.ops.as_of(revision), ops)
    if not isinstance(view, Exception):
        attempt("ops.as_of(revision).get", lambda: view.get("seed-1"), ops)


# --- JSONL import ------------------------------------------------------------------------


def _import(dp: DataPlane, tmp: Path, lines: list[str], area: str) -> None:
    path = tmp / "input.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    snapshot = ledger_snapshot(dp)
    attempt(f"{area}.dry_run", lambda: dp.ledger.import_jsonl(path, dry_run=True), snapshot)
    attempt(area, lambda: dp.ledger.import_jsonl(path), snapshot)
    attempt(f"{area}.verify", lambda: dp.ledger.verify_jsonl(path), snapshot)


@fuzz_settings()
@given(lines=s.jsonl_lines)
def test_jsonl_import(
    dp: DataPlane, tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    _import(dp, tmp_path_factory.mktemp("jsonl"), lines, "jsonl.import")


# --- inputs that crashed before issue 7 (items 3, 13, 14) ---------------------------------


@fuzz_settings(0.5)
@given(when=s.extreme_times)
def test_extreme_times(dp: DataPlane, when: dt.datetime | str) -> None:
    ledger, ops = ledger_snapshot(dp), ops_snapshot(dp)
    attempt("ledger.as_of(extreme time)", lambda: dp.ledger.as_of(when), ledger)
    attempt("ops.as_of(extreme time)", lambda: dp.ops.as_of(when), ops)
    attempt("ledger.diff(extreme time)", lambda: dp.ledger.diff(str(when)), ledger)


@fuzz_settings(0.5)
@given(state=s.deep_json | s.non_finite_json | s.huge_int_json, id=s.simple_ids)
def test_hostile_json(dp: DataPlane, state: Any, id: str) -> None:
    ops, ledger = ops_snapshot(dp), ledger_snapshot(dp)
    attempt(
        "ops.set_state(hostile json)",
        lambda: dp.ops.set_state(id, rig="r", agent="a", status="s", state=state),
        ops,
    )
    attempt("ops.heartbeat(hostile json)", lambda: dp.ops.heartbeat("a", status=state), ops)
    attempt("ops.get(after hostile json)", lambda: dp.ops.list(limit=5), ops)
    attempt(
        "ledger.create_issue(hostile json)",
        lambda: dp.ledger.create_issue("t", metadata=state),
        ledger,
    )
    attempt("ledger.issues(after hostile json)", lambda: dp.ledger.issues(limit=5), ledger)


@fuzz_settings(0.3)
@given(name=s.branch_like, title=st.builds(lambda a, b: a + "\x00" + b, s.printable, s.printable))
def test_failed_first_agent_write_leaves_no_branch(dp: DataPlane, name: str, title: str) -> None:
    snapshot = ledger_snapshot(dp)
    attempt("ledger.agent_write(NUL title)", lambda: dp.agent(name).create_issue(title), snapshot)


wrong_types = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.integers(), st.integers(), max_size=2),
    st.just(object()),
    st.just(dt.date(2026, 1, 1)),
)


@fuzz_settings(0.5)
@given(value=wrong_types, which=st.integers(0, 9))
def test_wrong_typed_arguments(dp: DataPlane, value: Any, which: int) -> None:
    ops, ledger = ops_snapshot(dp), ledger_snapshot(dp)
    calls = [
        (
            "ops.set_state(id)",
            lambda: dp.ops.set_state(value, rig="r", agent="a", status="s", state={}),
            ops,
        ),
        (
            "ops.set_state(state)",
            lambda: dp.ops.set_state("w-1", rig="r", agent="a", status="s", state=value),
            ops,
        ),
        ("ops.get", lambda: dp.ops.get(value), ops),
        ("ops.as_of", lambda: dp.ops.as_of(value), ops),
        ("ops.list(limit)", lambda: dp.ops.list(limit=value), ops),
        ("ledger.create_issue(title)", lambda: dp.ledger.create_issue(value), ledger),
        (
            "ledger.update_issue(status)",
            lambda: dp.ledger.update_issue("gt-seed", status=value),
            ledger,
        ),
        ("ledger.as_of", lambda: dp.ledger.as_of(value), ledger),
        ("ledger.history", lambda: dp.ledger.history(value), ledger),
        ("agent(name)", lambda: dp.agent(value).create_issue("t"), ledger),
    ]
    area, call, snapshot = calls[which]
    attempt(f"wrong type: {area}", call, snapshot)


@fuzz_settings(0.5)
@given(lines=st.lists(s.kind_list_lines, min_size=1, max_size=3))
def test_jsonl_kind_not_text(
    dp: DataPlane, tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    _import(dp, tmp_path_factory.mktemp("jsonl"), lines, "jsonl.import(kind list)")


@fuzz_settings(0.5)  # h6 (issue 8) is teaching import these shapes: none crashes today
@given(lines=st.lists(s.beads_lines, min_size=1, max_size=4))
def test_jsonl_beads_lines(
    dp: DataPlane, tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    _import(dp, tmp_path_factory.mktemp("jsonl"), lines, "jsonl.import(beads)")


@fuzz_settings(0.5)
@given(text=s.unencodable)
def test_text_that_is_not_utf8(dp: DataPlane, text: str) -> None:
    ops, ledger = ops_snapshot(dp), ledger_snapshot(dp)
    attempt(
        "ops.set_state(surrogates)",
        lambda: dp.ops.set_state(text, rig="r", agent="a", status="s", state={"k": text}),
        ops,
    )
    attempt("ledger.create_issue(surrogates)", lambda: dp.ledger.create_issue(text), ledger)
    attempt("ledger.as_of(surrogates)", lambda: dp.ledger.as_of(text), ledger)
