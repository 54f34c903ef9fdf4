"""The service's parts in-process: the lock, the registry, the scheduler's bookkeeping."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import prometheus_client
import pytest

from doltplane.config import Settings
from doltplane.errors import ServiceRunning
from doltplane.service.clock import AcceleratedClock, Clock, clock_from_env
from doltplane.service.jobs import JOBS, Job, JobContext
from doltplane.service.lock import ServiceLock
from doltplane.service.metrics import GrowthWindow, LatencyWindow, ServiceMetrics
from doltplane.service.runner import Service
from doltplane.service.state import read_state


def test_the_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    first = ServiceLock(tmp_path)
    first.acquire(url=None, metrics_port=None)
    with pytest.raises(ServiceRunning, match=r"pid \d+") as caught:
        ServiceLock(tmp_path).acquire(url=None, metrics_port=None)
    assert caught.value.exit_code == 14 and "kill" in (caught.value.hint or "")
    first.release()
    again = ServiceLock(tmp_path)
    again.acquire(url=None, metrics_port=7)
    assert again.info["metrics_port"] == 7
    again.release()


def test_metrics_use_their_own_registry() -> None:
    ServiceMetrics()
    names = set(prometheus_client.REGISTRY._names_to_collectors)
    assert not any(name.startswith("doltplane_") for name in names)


def test_the_service_never_imports_click() -> None:
    code = (
        "import sys, doltplane.service.runner, doltplane.service.status;"
        "print('click' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_windows_average_and_grow_over_their_span() -> None:
    window = LatencyWindow(span=300)
    window.add(0, 1.0)
    window.add(200, 3.0)
    assert window.average(250) == 2.0
    assert window.average(400) == 3.0  # the first sample left the window
    assert window.average(1000) is None
    growth = GrowthWindow(span=86400, step=300)
    for hour in range(30):
        growth.add(hour * 3600, 1000 + hour * 10)
    assert growth.latest_growth() == 240  # the last 24 h, not since the first sample


def test_the_accelerated_clock_is_read_from_the_environment() -> None:
    assert type(clock_from_env({})) is Clock
    clock = clock_from_env({"DOLTPLANE_SERVICE_CLOCK": "2026-01-01T00:00:00+00:00,1000"})
    assert isinstance(clock, AcceleratedClock) and clock.simulated
    assert clock.real_seconds(3600) == pytest.approx(3.6)
    with pytest.raises(Exception, match="START,FACTOR"):
        clock_from_env({"DOLTPLANE_SERVICE_CLOCK": "soon"})


def test_a_raising_job_is_counted_and_the_loop_goes_on(data_dir: Path) -> None:
    from doltplane import connect

    with connect(data_dir) as dp:
        dp.migrate()
    calls: list[str] = []

    def boom(ctx: JobContext) -> dict[str, Any]:
        calls.append("boom")
        raise RuntimeError("disk on fire")

    seen_while_running: list[dict[str, Any]] = []

    def tick(ctx: JobContext) -> dict[str, Any]:
        calls.append("tick")
        shown = read_state(data_dir)
        assert shown is not None
        seen_while_running.append(shown["jobs"]["tick"])
        if calls.count("tick") >= 4:
            service.stop()
        return {}

    jobs = {
        "boom": Job("boom", lambda s: 0.05, boom),
        "tick": Job("tick", lambda s: 0.05, tick),
        "snapshot": JOBS["snapshot"],
    }
    events: list[tuple[str, dict[str, Any]]] = []
    settings = Settings(data_dir=data_dir, checkpoint_every_seconds=0, alerts_interval_seconds=0)
    service = Service(settings, jobs=jobs, log=lambda e, f: events.append((e, dict(f))))
    timer = threading.Timer(60, service.stop)  # a safety net if the loop hangs
    timer.start()
    try:
        assert service.run() == 0
    finally:
        timer.cancel()
    assert calls.count("boom") >= 3 and calls.count("tick") == 4
    failed = [f for e, f in events if e == "job failed"]
    assert failed and failed[0]["error"] == "RuntimeError: disk on fire"
    boom_state = service.state.jobs["boom"]
    assert boom_state.failures == boom_state.runs >= 3 and boom_state.last_result == "failed"
    # while a run is in flight the file says so, and still shows the previous run's result
    assert all(seen["running_since"] for seen in seen_while_running)
    assert [seen["last_result"] for seen in seen_while_running] == [None, "ok", "ok", "ok"]
    assert service.state.jobs["tick"].running_since is None
    assert "snapshot" not in service.state.jobs  # interval 0: off (the final one still ran)
    assert events[-2][0] == "final snapshot"


def test_read_cache_counters_are_exported_per_plane() -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    metrics = ServiceMetrics()
    assert b"doltplane_cache" not in generate_latest(metrics.registry)  # no source: nothing
    metrics.cache.source = lambda: {
        "ops": {"hits": 5, "misses": 2, "entries": 3, "commit_hits": 4},
        "ledger": {"hits": 1, "misses": 0, "entries": 0},
    }
    found = {
        (s.name, s.labels.get("plane")): s.value
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for s in family.samples
    }
    assert found[("doltplane_cache_hits_total", "ops")] == 5
    assert found[("doltplane_cache_misses_total", "ledger")] == 0
    assert found[("doltplane_cache_commit_hits_total", "ops")] == 4
    assert found[("doltplane_cache_entries", "ops")] == 3
