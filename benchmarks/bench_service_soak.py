"""`doltplane serve` for a simulated week: jobs on time, storage, alerts, service memory.

    python benchmarks/bench_service_soak.py [--days 7.5] [--speed 1500] [--agents 20]

The service runs as a real child process on an accelerated clock (the test and
benchmark hook ``DOLTPLANE_SERVICE_CLOCK=START,FACTOR``; see docs/service.md):
its schedules, cleanup's ``now=`` and its snapshot commit dates all follow the
simulated time, which starts ``--days`` before the real now and reaches it at the
end. Meanwhile this process plays the agents: every round each agent writes its
state (one ``set_many``, stamped with the real clock like live agents' rows) and a
heartbeat stamped with the simulated time, and about once a simulated hour one
agent creates an issue on its ledger branch and merges it (so pruning has work).
The agents never snapshot; only the service commits their writes.

It reports, per job, the runs against the runs due, failures and lateness; per
simulated day, the store sizes, rows and the service's resident memory; and every
alert that fired. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import doltplane  # first: loads doltlite before sqlite3
from doltplane.planes.ops_records import heartbeats, to_db_time

STATE = {"task": "gt-42", "notes": "n" * 150, "load": [1, 2, 3]}
DAY = 86400.0
# simulated seconds between runs (the defaults are 60 s snapshots, 15 s samples and 60 s
# alerts: at a speed of 1,500 those would be a run every few real milliseconds)
INTERVALS = {
    "DOLTPLANE_CHECKPOINT_EVERY_SECONDS": 600,
    "DOLTPLANE_CLEANUP_INTERVAL_SECONDS": 3600,
    "DOLTPLANE_LEDGER_PRUNE_INTERVAL_SECONDS": 3600,
    "DOLTPLANE_METRICS_SAMPLE_SECONDS": 900,
    "DOLTPLANE_ALERTS_INTERVAL_SECONDS": 900,
}
JOB_SETTING = {
    "snapshot": "DOLTPLANE_CHECKPOINT_EVERY_SECONDS",
    "cleanup": "DOLTPLANE_CLEANUP_INTERVAL_SECONDS",
    "ledger_prune": "DOLTPLANE_LEDGER_PRUNE_INTERVAL_SECONDS",
    "metrics_sample": "DOLTPLANE_METRICS_SAMPLE_SECONDS",
    "alerts": "DOLTPLANE_ALERTS_INTERVAL_SECONDS",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _insert(conn: sa.Connection, *, rows: list[dict[str, Any]]) -> None:
    conn.execute(heartbeats.insert(), rows)


class Agents:
    """The writers: states, simulated-time heartbeats, and now and then a merged issue."""

    def __init__(self, data_dir: Path, count: int) -> None:
        self.data_dir = data_dir
        self.names = [f"agent-{i:03d}" for i in range(count)]
        self.errors: list[str] = []
        self.writes = 0
        self.issues = 0
        self._open()

    def _open(self) -> None:
        self.dp = doltplane.connect(
            self.data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0
        )

    def round(self, sim: dt.datetime, with_issue: bool) -> None:
        began = time.monotonic()
        try:
            self.dp.ops.set_many(
                {"id": a, "rig": "rig-1", "agent": a, "status": "busy", "state": STATE}
                for a in self.names
            )
            beats = [
                {
                    "agent": a,
                    "timestamp": to_db_time(sim),
                    "status": {"ok": True},
                    "cycle_number": 0,
                }
                for a in self.names
            ]
            self.dp.engine("ops").write(functools.partial(_insert, rows=beats))
            self.writes += 2 * len(self.names)
            if with_issue:
                agent = self.names[self.issues % len(self.names)]
                session = self.dp.agent(agent)
                session.create_issue(f"work item {self.issues}", created_by=agent)
                session.merge()
                self.issues += 1
        except doltplane.DoltplaneError as exc:
            # how long the failing round ran says whether a writer waited out its busy
            # timeouts or was refused at once
            self.errors.append(
                f"{exc.one_line()} (after {time.monotonic() - began:.1f} s,"
                f" simulated {sim:%m-%d %H:%M})"
            )
            self.dp.close()  # a fresh connection, as an agent process would restart
            self._open()

    def close(self) -> None:
        self.dp.close()


def scrape(port: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=7.5)
    parser.add_argument("--speed", type=float, default=1500.0, help="simulated s per real s")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--round-seconds", type=float, default=0.25, help="real s per round")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-service-soak-"))
    data_dir = base / "dp"
    with doltplane.connect(data_dir) as dp:
        dp.migrate()
    total = args.days * DAY
    real_start = time.time()
    sim_start = real_start - total
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLTPLANE_")}
    env.pop("_DOLTLITE_BOOTSTRAPPED", None)
    env.update({k: str(v) for k, v in INTERVALS.items()})
    env["DOLTPLANE_SERVICE_CLOCK"] = f"{sim_start},{args.speed}"
    log_path = base / "service.log"
    command = [sys.executable, "-m", "doltplane.cli.main", "--data-dir", str(data_dir)]
    command += ["serve", "--log-json", "--metrics-port", str(port)]
    with open(log_path, "w") as log:
        service = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    launched = time.monotonic()
    try:
        while "service started" not in log_path.read_text():
            if service.poll() is not None or time.monotonic() - launched > 60:
                raise SystemExit(f"the service did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        began = time.monotonic()
        report = run(args, data_dir, service, port, began, sim_start)
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
        exit_code = service.wait(120)
    events = [
        json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    report.update(summarise(events, args, exit_code))
    report["data_dir"] = str(base)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        show(report)


def run(
    args: argparse.Namespace,
    data_dir: Path,
    service: subprocess.Popen[bytes],
    port: int,
    began: float,
    sim_start: float,
) -> dict[str, Any]:
    agents = Agents(data_dir, args.agents)
    days: list[dict[str, Any]] = []
    rss_start = rss_mb(service.pid)
    rss_first_hour: float | None = None
    next_day = 1
    next_issue = 3600.0
    stop = threading.Event()
    # simulated time as the service sees it (its clock started a moment before `began`)
    sim = lambda: sim_start + (time.monotonic() - began) * args.speed  # noqa: E731
    real_end = args.days * DAY / args.speed
    while time.monotonic() - began < real_end and service.poll() is None:
        round_began = time.monotonic()
        elapsed = sim() - sim_start
        with_issue = elapsed >= next_issue
        if with_issue:
            next_issue += 3600.0
        agents.round(dt.datetime.fromtimestamp(sim(), dt.UTC), with_issue)
        if rss_first_hour is None and elapsed >= 3600:
            rss_first_hour = rss_mb(service.pid)  # every job has run once: the working size
        if elapsed >= next_day * DAY:
            metrics = scrape(port)
            days.append(
                {
                    "day": next_day,
                    "ops_mb": metrics.get("doltplane_storage_bytes{plane=ops}", 0) / 1e6,
                    "ledger_mb": metrics.get("doltplane_storage_bytes{plane=ledger}", 0) / 1e6,
                    "ops_growth_24h_mb": metrics.get(
                        "doltplane_storage_growth_bytes_24h{plane=ops}", 0
                    )
                    / 1e6,
                    "heartbeat_rows": metrics.get(
                        "doltplane_live_rows{plane=ops,table=heartbeat_log}", 0
                    ),
                    "ops_commits": agents.dp.engine("ops").commit_count(),
                    "rss_mb": rss_mb(service.pid),
                }
            )
            next_day += 1
        stop.wait(max(0.0, args.round_seconds - (time.monotonic() - round_began)))
    final = scrape(port)
    rss_end = rss_mb(service.pid)
    agents.close()
    return {
        "real_seconds": round(time.monotonic() - began, 1),
        "simulated_days": round((sim() - sim_start) / DAY, 2),
        "agents": args.agents,
        "agent_writes": agents.writes,
        "issues_merged": agents.issues,
        "agent_errors": agents.errors[:5],
        "agent_error_count": len(agents.errors),
        "days": days,
        "rss_start_mb": round(rss_start, 1),
        "rss_after_first_hour_mb": round(rss_first_hour or float("nan"), 1),
        "rss_end_mb": round(rss_end, 1),
        "final_metrics": {k: v for k, v in final.items() if k.startswith("doltplane_job_")},
    }


def summarise(
    events: list[dict[str, Any]], args: argparse.Namespace, exit_code: int
) -> dict[str, Any]:
    jobs: dict[str, dict[str, Any]] = {}
    for job, setting in JOB_SETTING.items():
        runs = [e for e in events if e.get("job") == job and e["event"] in ("job ok", "job failed")]
        late = [float(e.get("late_seconds", 0)) for e in runs]
        interval = INTERVALS[setting]
        jobs[job] = {
            "interval_s": interval,
            "due": int(args.days * DAY // interval),
            "runs": len(runs),
            "failed": sum(e["event"] == "job failed" for e in runs),
            "late_median_sim_s": round(statistics.median(late), 1) if late else None,
            "late_max_sim_s": round(max(late), 1) if late else None,
            "late_median_real_ms": round(1000 * statistics.median(late) / args.speed, 1)
            if late
            else None,
            "on_time_pct": round(100 * sum(x < interval for x in late) / len(late), 1)
            if late
            else None,
            "errors": sorted({e["error"] for e in runs if e.get("error")})[:3],
        }
    alerts = [e["message"] for e in events if e.get("event") == "alert"]
    return {"jobs": jobs, "alerts": alerts, "service_exit_code": exit_code}


def show(report: dict[str, Any]) -> None:
    print(
        f"{report['simulated_days']} simulated days in {report['real_seconds']} s real,"
        f" {report['agents']} agents, {report['agent_writes']:,} writes,"
        f" {report['issues_merged']} issues merged, {report['agent_error_count']} agent errors"
    )
    print(
        "\njob             every(s)  due   runs  failed  on-time%"
        "  late median/max (sim s)  late median (real ms)"
    )
    for name, job in report["jobs"].items():
        print(
            f"{name:<15} {job['interval_s']:>8} {job['due']:>5} {job['runs']:>6} {job['failed']:>7}"
            f" {job['on_time_pct']!s:>9}  {job['late_median_sim_s']}/{job['late_max_sim_s']}"
            f"  {job['late_median_real_ms']}"
        )
        for error in job["errors"]:
            print(f"    error: {error}")
    print(
        "\nday  ops MB  ledger MB  ops growth 24h MB  heartbeat rows  ops commits  service RSS MB"
    )
    for day in report["days"]:
        print(
            f"{day['day']:>3} {day['ops_mb']:>7.2f} {day['ledger_mb']:>10.2f}"
            f" {day['ops_growth_24h_mb']:>18.2f} {day['heartbeat_rows']:>15,.0f}"
            f" {day['ops_commits']:>12} {day['rss_mb']:>14.1f}"
        )
    print(
        f"\nservice RSS: {report['rss_start_mb']} MB at start,"
        f" {report['rss_after_first_hour_mb']} MB after the first simulated hour,"
        f" {report['rss_end_mb']} MB at the end"
    )
    print(f"alerts fired: {len(report['alerts'])}")
    for line in report["alerts"][:10]:
        print(f"    {line}")
    print(f"service exit code after SIGTERM: {report['service_exit_code']}")
    if report["agent_errors"]:
        print("agent errors (first 5):", *report["agent_errors"], sep="\n    ")
    print(f"data: {report['data_dir']}")


if __name__ == "__main__":
    main()
