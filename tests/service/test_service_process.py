"""The real ``doltplane serve`` in a child process: jobs, metrics, signals, the lock."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from doltplane import connect
from doltplane.config import Settings
from doltplane.federation import Federation
from tests.servers import running_server

from .conftest import ServiceProcess, child_env

Start = Callable[..., ServiceProcess]


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    matches = [
        v for lab, v in found.get(name, []) if all(lab.get(k) == x for k, x in labels.items())
    ]
    assert len(matches) == 1, f"{name} {labels}: {matches}"
    return matches[0]


def cli(data_dir: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "doltplane.cli.main", "--data-dir", str(data_dir), *args]
    return subprocess.run(
        command, env=child_env(home, **env), capture_output=True, text=True, timeout=120
    )


def idle_writer(data_dir: Path) -> Any:
    """A client that writes and then goes idle: it never snapshots by itself."""
    return connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0)


def test_jobs_run_on_their_intervals_and_metrics_are_scraped(
    start_service: Start, initialised: Path
) -> None:
    service = start_service()
    service.wait_for(lambda e: e.get("event") == "service started")
    for job in ("snapshot", "cleanup", "ledger_prune", "metrics_sample", "alerts"):
        service.wait_runs(job, 2, "ok")
    skipped = {e["job"] for e in service.events if e.get("event") == "job skipped"}
    # neither is configured here (server_supervision, skipped on the embedded engine, first
    # comes due after its 30 s probe interval)
    assert {"federation_pull", "backup_push"} <= skipped
    assert skipped <= {"federation_pull", "backup_push", "server_supervision"}

    # another process writes; the service's sampling sees it
    with idle_writer(initialised) as dp:
        dp.ops.set_many(
            [
                {"id": f"a{n}", "rig": "r", "agent": "x", "status": "s", "state": {}}
                for n in range(7)
            ]
        )
    before = len(service.job_runs("metrics_sample", "ok"))
    service.wait_runs("metrics_sample", before + 2, "ok")

    found = samples(service.scrape())
    buckets = {
        lab["le"]
        for lab, _ in found["doltplane_query_latency_seconds_bucket"]
        if lab["plane"] == "ops" and lab["operation"] == "get"
    }
    assert {"0.01", "0.1"} <= buckets
    assert (
        value(found, "doltplane_query_latency_seconds_count", plane="ledger", operation="issues")
        >= 1
    )
    assert value(found, "doltplane_live_rows", plane="ops", table="operational_state") == 7
    assert value(found, "doltplane_writes_total", plane="ops") >= 7
    assert value(found, "doltplane_storage_bytes", plane="ops") > 0
    assert value(found, "doltplane_storage_growth_bytes_24h", plane="ledger") == 0
    assert value(found, "doltplane_oldest_as_of_timestamp_seconds", plane="ledger") > 1.7e9
    assert value(found, "doltplane_job_runs_total", job="snapshot") >= 2
    assert value(found, "doltplane_job_failures_total", job="snapshot") == 0
    assert value(found, "doltplane_job_last_success_timestamp_seconds", job="cleanup") > 1.7e9
    assert value(found, "doltplane_job_duration_seconds_count", job="ledger_prune") >= 2
    for rule in ("query_latency_high", "storage_growth_high", "server_down"):
        assert value(found, "doltplane_alert_state", rule=rule, state="ok") == 1
    assert value(found, "process_resident_memory_bytes") > 0
    assert service.terminate() == 0


def test_an_idle_writers_changes_are_committed_by_the_timer(
    start_service: Start, initialised: Path
) -> None:
    service = start_service()
    service.wait_for(lambda e: e.get("event") == "service started")
    with idle_writer(initialised) as dp:
        dp.ops.set_state("idle-1", rig="r", agent="x", status="busy", state={"n": 1})
        service.wait_for(lambda e: e.get("job") == "snapshot" and e.get("commit"))
        assert dp.ops.as_of("HEAD").get("idle-1").status == "busy"
        assert dp.ops.history("idle-1")[0].record.state == {"n": 1}
    assert service.terminate() == 0


def test_sigterm_takes_a_final_snapshot_and_exits_0(
    start_service: Start, initialised: Path
) -> None:
    service = start_service(DOLTPLANE_CHECKPOINT_EVERY_SECONDS="0")  # no timer: only the last
    service.wait_for(lambda e: e.get("event") == "service started")
    with idle_writer(initialised) as dp:
        dp.ops.set_state("last-1", rig="r", agent="x", status="done", state={})
        before = dp.engine("ops").commit_count()
        assert service.terminate() == 0
        log = dp.engine("ops").log(limit=1)
        assert dp.engine("ops").commit_count() == before + 1
        assert log[0].message.startswith("ops snapshot (service)")
        assert dp.ops.as_of("HEAD").get("last-1").status == "done"
    assert [e["event"] for e in service.events][-3:] == [
        "service stopping",
        "final snapshot",
        "service stopped",
    ]
    assert json.loads((initialised / ".serve" / "lock").read_text() or "{}") == {}


def test_a_second_instance_is_refused(start_service: Start, initialised: Path, home: Path) -> None:
    service = start_service()
    service.wait_for(lambda e: e.get("event") == "service started")
    pid = service.proc.pid
    second = cli(initialised, home, "serve")
    assert second.returncode == 14
    assert second.stderr.count("\n") == 1
    assert "already runs" in second.stderr and f"pid {pid}" in second.stderr
    once = cli(initialised, home, "serve", "--once", "snapshot")
    assert once.returncode == 14
    shown = json.loads(cli(initialised, home, "status", "--json").stdout)["service"]
    assert shown["running"] is True and shown["pid"] == pid
    assert shown["metrics_port"] == service.metrics_port
    text = cli(initialised, home, "status").stdout
    assert f"service: running (pid {pid}" in text and "service jobs" in text
    assert service.terminate() == 0
    after = json.loads(cli(initialised, home, "status", "--json").stdout)["service"]
    assert after["running"] is False and after["jobs"]["snapshot"]["last_result"] == "ok"


def broken_federation(data_dir: Path, home: Path, monkeypatch: Any) -> None:
    """A federation clone whose shared repository has gone away."""
    env = child_env(home)
    for key in (
        "HOME",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_GLOBAL",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.setenv(key, env[key])
    shared = data_dir.parent / "shared.git"
    Federation.init_shared(str(shared))
    Federation(Settings(data_dir=data_dir, site="here")).init(str(shared))
    shutil.rmtree(shared)


def test_a_failing_job_does_not_stop_the_others(
    start_service: Start, initialised: Path, home: Path, monkeypatch: Any
) -> None:
    broken_federation(initialised, home, monkeypatch)
    service = start_service()
    service.wait_runs("federation_pull", 3, "failed")
    snapshots = len(service.job_runs("snapshot", "ok"))
    service.wait_runs("snapshot", snapshots + 2, "ok")
    service.wait_runs("federation_pull", 4, "failed")
    assert service.proc.poll() is None
    found = samples(service.scrape())
    assert value(found, "doltplane_job_failures_total", job="federation_pull") >= 3
    assert value(found, "doltplane_federation_pull_status", status="error") == 1
    assert value(found, "doltplane_federation_pull_status", status="up_to_date") == 0
    shown = json.loads(cli(initialised, home, "status", "--json").stdout)["service"]
    pull = shown["jobs"]["federation_pull"]
    assert pull["last_result"] == "failed" and pull["failures"] >= 3 and pull["last_error"]
    assert shown["jobs"]["snapshot"]["failures"] == 0
    assert service.terminate() == 0


def test_once_runs_one_job_and_exits(initialised: Path, home: Path, monkeypatch: Any) -> None:
    ran = cli(initialised, home, "serve", "--once", "cleanup", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"] == "ok"
    jobs = json.loads(cli(initialised, home, "status", "--json").stdout)["service"]["jobs"]
    assert jobs["cleanup"]["runs"] == 1 and jobs["cleanup"]["last_result"] == "ok"
    unknown = cli(initialised, home, "serve", "--once", "teleport")
    assert unknown.returncode == 3 and "one of: alerts, backup_push" in unknown.stderr
    broken_federation(initialised, home, monkeypatch)
    failed = cli(initialised, home, "serve", "--once", "federation_pull")
    assert failed.returncode != 0 and "federation_pull: failed" in failed.stdout


def test_a_missing_data_directory_is_refused(tmp_path: Path, home: Path) -> None:
    result = cli(tmp_path / "nowhere", home, "serve")
    assert result.returncode == 4 and "doltplane init" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_a_metrics_port_in_use_is_refused_and_the_lock_released(
    initialised: Path, home: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(initialised, home, "serve", "--metrics-port", str(port))
    assert result.returncode == 3 and "pick another --metrics-port" in result.stderr
    assert cli(initialised, home, "serve", "--once", "snapshot").returncode == 0  # lock free


def test_once_prunes_merged_agent_branches_and_pushes_backups(
    initialised: Path, home: Path, tmp_path: Path
) -> None:
    from doltplane import backups

    with connect(initialised) as dp:
        dp.engine("ledger").create_branch("toast")  # an agent branch with nothing on it
        dp.agent("nux").create_issue("unmerged work")
        assert {b.name for b in dp.ledger.branches()} == {"toast", "nux"}
    skipped = cli(initialised, home, "serve", "--once", "backup_push", "--json")
    assert json.loads(skipped.stdout)["result"] == "skipped"  # no remote yet
    pruned = cli(initialised, home, "serve", "--once", "ledger_prune", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["report"]["deleted"] == ["toast"]
    with connect(initialised) as dp:
        assert {b.name for b in dp.ledger.branches()} == {"nux"}
        backups.add_remote(dp, "disk", f"file://{tmp_path}/backup")
    pushed = cli(initialised, home, "serve", "--once", "backup_push", "--json")
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["report"]["remotes"] == ["disk"]
    with connect(initialised) as dp:
        assert backups.verify_backup(dp, "disk").ok


def test_cleanup_job_applies_installed_packs_retention(initialised: Path, home: Path) -> None:
    import datetime as dt

    import sqlalchemy as sa

    from doltplane import connect
    from doltplane.packs import registry

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with connect(initialised) as dp:
        dp.packs.install("workflow")
        history = registry.get("workflow").metadata.tables["execution_history"]
        rows = [
            {
                "id": id,
                "workflow_instance_id": "i",
                "event_type": "workflow_started",
                "created_at": now - dt.timedelta(days=days),
            }
            for id, days in (("expired", 91), ("kept", 89))
        ]

        def insert(conn: sa.Connection) -> None:
            conn.execute(history.insert(), rows)

        dp.engine("ops").write(insert)
    ran = cli(initialised, home, "serve", "--once", "cleanup", "--json")
    assert ran.returncode == 0, ran.stderr
    with connect(initialised) as dp:
        assert {r["id"] for r in dp.table("execution_history").list()} == {"kept"}


def test_server_supervision_probes_the_server(
    initialised: Path, home: Path, start_service: Start, tmp_path: Path
) -> None:
    with running_server(tmp_path / "server") as server:
        env = {
            "DOLTPLANE_URL": server.url,
            "DOLTPLANE_SERVER_PROBE_INTERVAL_SECONDS": "0.5",
            "DOLTPLANE_SERVER_PROBE_TIMEOUT_SECONDS": "1",
        }
        assert cli(initialised, home, "init", **env).returncode == 0
        ran = cli(initialised, home, "serve", "--once", "server_supervision", "--json", **env)
        assert ran.returncode == 0, ran.stderr
        report = json.loads(ran.stdout)
        assert report["result"] == "ok" and report["report"]["version"].count(".") == 2
        service = start_service(**env)
        service.wait_runs("server_supervision", 1, "ok")
        assert value(samples(service.scrape()), "doltplane_server_up") == 1
        server.stop()  # the server goes away under the running service
        service.wait_runs("server_supervision", 1, "failed")
    failed = service.job_runs("server_supervision", "failed")[0]
    assert "not responding" in str(failed.get("error"))
    assert value(samples(service.scrape()), "doltplane_server_up") == 0
    assert service.terminate() == 0
