"""The service's Prometheus metrics, on a registry of its own (never the global one, so a
program embedding doltplane keeps its own metrics apart)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)
PULL_STATUSES = ("up_to_date", "fast_forward", "merged", "conflict", "error")
ALERT_STATES = ("ok", "pending", "firing")
DAY = 86400.0


class LatencyWindow:
    """Probe latencies of the last ``span`` seconds, for the average the latency alert reads."""

    def __init__(self, span: float = 300.0) -> None:
        self.span = span
        self._samples: collections.deque[tuple[float, float]] = collections.deque()

    def add(self, now: float, seconds: float) -> None:
        self._samples.append((now, seconds))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - self.span:
            self._samples.popleft()

    def average(self, now: float) -> float | None:
        self._trim(now)
        if not self._samples:
            return None
        return sum(s for _, s in self._samples) / len(self._samples)


class GrowthWindow:
    """Store size samples of the last day, one kept per ``step`` seconds (bounded memory),
    so that growth over 24 h is the size now minus the oldest size inside the day."""

    def __init__(self, span: float = DAY, step: float = 300.0) -> None:
        self.span = span
        self.step = step
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def add(self, now: float, size: int) -> None:
        if not self._samples or now - self._samples[-1][0] >= self.step:
            self._samples.append((now, size))
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.span:
            self._samples.popleft()

    def growth(self, size: int) -> int:
        return size - self._samples[0][1] if self._samples else 0

    def latest_growth(self) -> int | None:
        return self._samples[-1][1] - self._samples[0][1] if self._samples else None


CacheStats = Callable[[], Mapping[str, Mapping[str, int]]]
"""Each plane's L1 read cache counters (``plane -> cache.stats()``), in this process."""


class CacheCollector(Collector):
    """The L1 read caches' counters (``doltplane/cache.py``: ``ReadCache.stats()``),
    read at scrape time from the source the service sets; nothing without one."""

    def __init__(self) -> None:
        self.source: CacheStats | None = None

    def collect(self) -> Iterable[Metric]:
        if self.source is None:
            return []
        return list(_cache_families(self.source()))


def _cache_families(per_plane: Mapping[str, Mapping[str, Any]]) -> Iterator[Metric]:
    """``hits``/``misses`` and the other counters as ``doltplane_cache_<name>_total``;
    ``entries`` (a size, not a count of events) as a gauge."""
    families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
    for plane, stats in sorted(per_plane.items()):
        for key, value in sorted(stats.items()):
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            name = "".join(c if c.isalnum() else "_" for c in str(key)).lower()
            family = families.get(name)
            if family is None:
                doc = f"L1 read cache {key} in the service process"
                family = (
                    GaugeMetricFamily(f"doltplane_cache_{name}", doc, labels=["plane"])
                    if name == "entries"
                    else CounterMetricFamily(f"doltplane_cache_{name}", doc, labels=["plane"])
                )
                families[name] = family
            family.add_metric([plane], float(value))
    yield from families.values()


class ServiceMetrics:
    """Every metric ``doltplane serve`` exports; the service and its jobs set them."""

    def __init__(self, *, server_engine: bool = False) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.lock = threading.Lock()
        self.query_latency = Histogram(
            "doltplane_query_latency_seconds",
            "Latency of the service's probe reads, per plane and operation",
            ["plane", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.writes = Counter(
            "doltplane_writes",
            "Writes seen in the stores, by any process (sampled)",
            ["plane"],
            registry=r,
        )
        self.commits = Counter(
            "doltplane_commits",
            "New commits seen on main, by any process (sampled)",
            ["plane"],
            registry=r,
        )
        self.busy_retries = Counter(
            "doltplane_busy_retries",
            "Writes or reads of this service that met a locked database (DatabaseBusy)",
            ["plane"],
            registry=r,
        )
        self.storage_bytes = Gauge(
            "doltplane_storage_bytes", "Size of each plane's store", ["plane"], registry=r
        )
        self.storage_growth = Gauge(
            "doltplane_storage_growth_bytes_24h",
            "Growth of each plane's store over the last 24 h (since the service started, if later)",
            ["plane"],
            registry=r,
        )
        self.live_rows = Gauge(
            "doltplane_live_rows", "Rows in each table's live state", ["plane", "table"], registry=r
        )
        self.oldest_as_of = Gauge(
            "doltplane_oldest_as_of_timestamp_seconds",
            "Date of the oldest commit on main: the earliest moment AS OF can answer",
            ["plane"],
            registry=r,
        )
        self.job_runs = Counter("doltplane_job_runs", "Job runs", ["job"], registry=r)
        self.job_failures = Counter(
            "doltplane_job_failures", "Failed job runs", ["job"], registry=r
        )
        self.job_duration = Histogram(
            "doltplane_job_duration_seconds",
            "Job run time",
            ["job"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.job_last_success = Gauge(
            "doltplane_job_last_success_timestamp_seconds",
            "When each job last succeeded",
            ["job"],
            registry=r,
        )
        self.federation_pull = Gauge(
            "doltplane_federation_pull_status",
            "1 for the outcome of the last federation pull",
            ["status"],
            registry=r,
        )
        self.federation_conflicts = Gauge(
            "doltplane_federation_conflicts",
            "Files in conflict after the last federation pull (never auto-resolved)",
            registry=r,
        )
        self.stale_branches = Gauge(
            "doltplane_ledger_stale_branches",
            "Ledger agent branches idle longer than branch_stale_days",
            registry=r,
        )
        self.alert_firing = Gauge(
            "doltplane_alert_firing",
            "1 while an alert rule fires",
            ["rule", "severity"],
            registry=r,
        )
        self.alert_state = Gauge(
            "doltplane_alert_state",
            "1 for each rule's current state",
            ["rule", "state"],
            registry=r,
        )
        ProcessCollector(registry=r)
        self.cache = CacheCollector()
        r.register(self.cache)
        self.latency = LatencyWindow()
        self.growth: dict[str, GrowthWindow] = {}
        # server engine: set by the server supervision job (issue 9); absent on the embedded one
        self.server: dict[str, Gauge] = {}
        self.server_up: float | None = None
        if server_engine:
            self.server = {
                "up": Gauge("doltplane_server_up", "1 while the server answers", registry=r),
                "restarts": Gauge(
                    "doltplane_server_restarts", "Restarts by the supervisor", registry=r
                ),
                "pool_size": Gauge(
                    "doltplane_pool_connections", "Pooled connections", ["plane"], registry=r
                ),
                "pool_checked_out": Gauge(
                    "doltplane_pool_checked_out", "Connections in use", ["plane"], registry=r
                ),
            }

    def add_job(self, job: str) -> None:
        """Export a job's counters at 0 from the start (a labelled series is otherwise absent
        until its first increment, and a rate over it is then wrong)."""
        self.job_runs.labels(job)
        self.job_failures.labels(job)
        self.job_duration.labels(job)

    def observe_latency(self, plane: str, operation: str, seconds: float, now: float) -> None:
        self.query_latency.labels(plane, operation).observe(seconds)
        with self.lock:
            self.latency.add(now, seconds)

    def record_storage(self, plane: str, size: int, now: float) -> int:
        """Set the size and the day's growth of one plane; the growth."""
        with self.lock:
            window = self.growth.setdefault(plane, GrowthWindow())
            window.add(now, size)
            growth = window.growth(size)
        self.storage_bytes.labels(plane).set(size)
        self.storage_growth.labels(plane).set(growth)
        return growth

    def record_pull(self, status: str, conflicts: int) -> None:
        for known in PULL_STATUSES:
            self.federation_pull.labels(known).set(1 if known == status else 0)
        self.federation_conflicts.set(conflicts)

    def record_alert(self, rule: str, severity: str, state: str) -> None:
        self.alert_firing.labels(rule, severity).set(1 if state == "firing" else 0)
        for known in ALERT_STATES:
            self.alert_state.labels(rule, known).set(1 if known == state else 0)

    def observations(self, now: float) -> dict[str, float]:
        """The numbers the alert rules read (a name is left out when it does not apply)."""
        out: dict[str, float] = {}
        with self.lock:
            average = self.latency.average(now)
            found = [w.latest_growth() for w in self.growth.values()]
        growth = [g for g in found if g is not None]
        if average is not None:
            out["query_latency_avg_seconds"] = average
        if growth:
            out["storage_growth_bytes_24h"] = float(sum(growth))
        if self.server_up is not None:
            out["server_up"] = self.server_up
        return out

    def set_server_up(self, up: bool) -> None:
        """For the server supervision job: the health probe's answer feeds the alerts."""
        self.server_up = 1.0 if up else 0.0
        if "up" in self.server:
            self.server["up"].set(self.server_up)
