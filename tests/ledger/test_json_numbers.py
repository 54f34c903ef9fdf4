"""JSON fields keep every number exactly on both engines: Dolt's JSON column type holds
numbers as doubles, which rounds integers past 2**53 (a silent change of committed data)."""

from __future__ import annotations

from doltplane import DataPlane

BIG = 2**63 - 1
EXACT = {"big": BIG, "negative": -(2**62) - 3, "fraction": 0.1, "nested": [{"n": 2**53 + 1}]}


def test_ledger_metadata_keeps_big_integers(dp: DataPlane) -> None:
    made = dp.ledger.create_issue("numbers", metadata=EXACT)
    assert dp.ledger.get_issue(made.id).metadata == EXACT
    toast = dp.agent("toast")
    branch_made = toast.create_issue("on a branch", metadata=EXACT)
    assert toast.get_issue(branch_made.id).metadata == EXACT
    assert toast.merge().ok
    assert dp.ledger.get_issue(branch_made.id).metadata == EXACT


def test_ops_state_and_heartbeats_keep_big_integers(dp: DataPlane) -> None:
    dp.ops.set_state("toast-1", rig="gastown", agent="toast", status="busy", state=EXACT)
    assert dp.ops.get("toast-1").state == EXACT
    commit = dp.ops.checkpoint()
    assert dp.ops.as_of(commit).get("toast-1").state == EXACT
    dp.ops.heartbeat("toast", status=EXACT)
    (beat,) = dp.ops.heartbeats("toast")
    assert beat.status == EXACT
