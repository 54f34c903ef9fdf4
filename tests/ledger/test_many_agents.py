"""Eight agent processes, each on its own branch, write 200 records and merge: none lost."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from doltplane import DataPlane, MergeStatus, connect

AGENTS = 8
RECORDS = 200
BATCH = 10


def agent_process(data_dir: str, number: int) -> tuple[str, list[str], str]:
    name = f"gastown/polecats/agent{number}"
    with connect(data_dir) as dp:
        agent = dp.agent(name)
        ids = []
        # half one commit per record, half in batches: both paths under contention
        for i in range(RECORDS // 2):
            ids.append(agent.create_issue(f"{name} #{i}", owner=name).id)
        for start in range(RECORDS // 2, RECORDS, BATCH):
            made = agent.create_issues(
                [{"title": f"{name} #{i}", "owner": name} for i in range(start, start + BATCH)]
            )
            ids.extend(m.id for m in made)
        result = agent.merge()
        return name, ids, result.status.value


def test_eight_agents_times_200_records_merge_into_main(dp: DataPlane, data_dir: Path) -> None:
    dp.migrate()
    assert "_DOLTLITE_BOOTSTRAPPED" not in os.environ  # children load doltlite themselves
    context = multiprocessing.get_context("spawn")
    with context.Pool(AGENTS) as pool:
        done = pool.starmap(agent_process, [(str(data_dir), n) for n in range(AGENTS)])
    assert {status for _, _, status in done} == {MergeStatus.MERGED.value}
    written = [i for _, ids, _ in done for i in ids]
    assert len(written) == len(set(written)) == AGENTS * RECORDS
    with connect(data_dir) as fresh:
        issues = fresh.ledger.issues()
        assert len(issues) == AGENTS * RECORDS
        assert {i.id for i in issues} == set(written)
        for name, ids, _ in done:
            mine = fresh.ledger.issues(owner=name)
            assert sorted(i.id for i in mine) == sorted(ids)
            assert sorted(int(i.title.split("#")[1]) for i in mine) == list(range(RECORDS))
        assert fresh.ledger.branches() == []
        assert not fresh.engine("ledger").is_dirty()
