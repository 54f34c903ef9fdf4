"""``doltplane serve``: one process per data directory that runs the jobs on their
intervals, evaluates the alerts, serves the metrics, and stops cleanly on SIGTERM."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, cast

from doltplane.client import DataPlane, require_data_dir
from doltplane.config import Settings, mask_password
from doltplane.errors import DoltplaneError, InvalidInput
from doltplane.service.clock import Clock, clock_from_env
from doltplane.service.jobs import JOBS, Job, JobContext
from doltplane.service.lock import ServiceLock
from doltplane.service.metrics import ServiceMetrics
from doltplane.service.sampling import StoreSampler
from doltplane.service.state import JobState, ServiceState, iso, previous_jobs, write_state

EventLog = Callable[[str, Mapping[str, Any]], None]
"""``(event, fields)``: one line per event; the CLI renders it as text or JSON."""

IDLE_WAIT = 3600.0


@dataclasses.dataclass(frozen=True)
class JobRun:
    job: str
    result: str
    """``ok``, ``failed`` or ``skipped``."""
    duration_seconds: float
    error: str | None
    report: Mapping[str, Any]
    exit_code: int = 0


def _describe(exc: BaseException) -> tuple[str, int]:
    if isinstance(exc, DoltplaneError):
        return exc.one_line(), exc.exit_code
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}", 1


class Service:
    """Call ``run()`` (until ``stop()``) or ``run_once(job)``; either holds the lock."""

    def __init__(
        self,
        settings: Settings,
        *,
        log: EventLog | None = None,
        clock: Clock | None = None,
        metrics_port: int | None = None,
        jobs: Mapping[str, Job] | None = None,
    ) -> None:
        self.settings = settings
        self.log: EventLog = log or (lambda event, fields: None)
        self.clock = clock or clock_from_env()
        self.metrics_port = settings.metrics_port if metrics_port is None else metrics_port
        self.jobs = dict(JOBS if jobs is None else jobs)
        self.metrics = ServiceMetrics(server_engine=not settings.embedded)
        self.lock = ServiceLock(settings.data_dir)
        self.stopping = threading.Event()
        self.state = ServiceState(pid=os.getpid(), started_at=iso(self.clock.time()) or "")
        self._next: dict[str, float] = {}
        self._http: Any = None
        self._dp: DataPlane | None = None
        self._ctx: JobContext | None = None
        self._stop_reason = "stopped"

    # --- life cycle ---------------------------------------------------------------------
    def _open(self) -> JobContext:
        require_data_dir(self.settings)
        url = mask_password(self.settings.url) if self.settings.url else None
        self.lock.acquire(url=url, metrics_port=self.metrics_port)
        try:
            self._dp = DataPlane(self.settings, create=False)
            self._ctx = JobContext(self._dp, self.clock, self.metrics, StoreSampler(self.metrics))
            self._ctx.extra.update(self._alerts_hooks())
            self.metrics.cache.source = functools.partial(_cache_stats, self._dp)
        except BaseException:
            self._close()
            raise
        return self._ctx

    def _alerts_hooks(self) -> dict[str, Any]:
        """The alert rules of ``alerts.yaml`` (written with the defaults when missing; an
        invalid file stops the start with ``path:line: message``), with the states the last
        service left, so a rule already firing does not notify again."""
        from doltplane.alerts import AlertState, Evaluator, ensure_rules_file, load_rules
        from doltplane.service.state import read_state

        rules = load_rules(ensure_rules_file(self.settings.data_dir))
        previous: dict[str, AlertState] = {}
        for name, raw in ((read_state(self.settings.data_dir) or {}).get("alerts") or {}).items():
            try:
                previous[name] = AlertState.from_json(raw)
            except ValueError:
                continue  # a state this version cannot read starts over as ok
        evaluator = Evaluator(
            rules,
            restart_server=None if self.settings.embedded else self._restart_server,
            log=lambda line: self.log("alert", {"message": line}),
            previous=previous,
        )
        return {"evaluator": evaluator}

    def _close(self) -> None:
        if self._http is not None:
            server, _thread = self._http
            server.shutdown()
            server.server_close()
            self._http = None
        dp, self._dp = self._dp, None
        try:
            if dp is not None:
                dp.close()
        finally:
            self.lock.release()

    def _serve_metrics(self) -> None:
        if self.metrics_port is None:
            return
        from prometheus_client import start_http_server

        try:
            self._http = start_http_server(
                self.metrics_port, addr="127.0.0.1", registry=self.metrics.registry
            )
        except (OSError, OverflowError) as exc:  # in use, not allowed, or not a port number
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise InvalidInput(
                f"cannot serve metrics on 127.0.0.1:{self.metrics_port}: {reason}",
                hint="pick another --metrics-port",
            ) from None
        port = self._http[0].server_port
        self.metrics_port = port
        self.lock.update(metrics_port=port)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT finish the running job, take a last snapshot, and return."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self._stop_reason = signal.Signals(signum).name
            self.stopping.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def stop(self) -> None:
        self.stopping.set()

    # --- scheduling ---------------------------------------------------------------------
    def _plan(self, now: float) -> None:
        """Each enabled job's first run: one interval after its last run (carried over from
        the state file, so a restart does not postpone an hourly job by another hour)."""
        previous = previous_jobs(self.settings.data_dir)
        for name, job in self.jobs.items():
            interval = job.interval(self.settings)
            if interval <= 0:
                continue
            state = previous.get(name) or JobState(interval)
            state.interval_seconds = interval
            # the last service died in this run ("running" is how versions before
            # running_since recorded a run in flight)
            legacy_running = cast(str | None, state.last_result) == "running"
            if state.running_since is not None or legacy_running:
                state.last_result = "failed"
                state.last_error = "interrupted: the service stopped during the run"
                state.running_since = None
            last = _epoch(state.last_started_at)
            first = now + interval if last is None else max(now, last + interval)
            self._next[name] = first
            state.next_run_at = iso(first)
            self.metrics.add_job(name)
            self.state.jobs[name] = state

    def run(self) -> int:
        """Run until ``stop()`` or a signal; always exits through a final snapshot."""
        ctx = self._open()
        try:
            self._serve_metrics()
            now = self.clock.time()
            self._plan(now)
            self._save()
            self.log(
                "service started",
                {
                    "data_dir": str(self.settings.data_dir),
                    "url": self.lock.info.get("url"),
                    "pid": os.getpid(),
                    "metrics_port": self.metrics_port,
                    "jobs": {n: s.interval_seconds for n, s in self.state.jobs.items()},
                    "clock": "accelerated" if self.clock.simulated else "real",
                },
            )
            self._loop()
            self.log("service stopping", {"reason": self._stop_reason})
            self._final_snapshot(ctx)
            self._save()
        finally:
            self._close()
        self.log("service stopped", {"reason": self._stop_reason})
        return 0

    def _loop(self) -> None:
        while not self.stopping.is_set():
            now = self.clock.time()
            due = sorted((when, name) for name, when in self._next.items() if when <= now)
            for scheduled, name in due:
                if self.stopping.is_set():
                    return
                self._run_scheduled(name, scheduled)
            if due:
                continue
            wait = min(self._next.values(), default=now + IDLE_WAIT) - self.clock.time()
            self.clock.wait(wait, self.stopping)

    def _run_scheduled(self, name: str, scheduled: float) -> None:
        job_state = self.state.jobs[name]
        interval = job_state.interval_seconds
        self.run_job(name, scheduled=scheduled)
        after = self.clock.time()
        following = scheduled + interval
        if following <= after:  # the run overran whole intervals: skip them, keep the phase
            following += ((after - following) // interval + 1) * interval
        self._next[name] = following
        job_state.next_run_at = iso(following)
        self._save()

    def _final_snapshot(self, ctx: JobContext) -> None:
        snapshot = self.jobs.get("snapshot") or JOBS["snapshot"]
        began = time.perf_counter()
        try:
            report = snapshot.run(ctx)
        except Exception as exc:  # reported; the service still stops cleanly
            text, _ = _describe(exc)
            self.log("final snapshot failed", {"error": text})
            return
        self.log(
            "final snapshot",
            {**report, "duration_seconds": round(time.perf_counter() - began, 4)},
        )

    # --- one job ------------------------------------------------------------------------
    def run_job(self, name: str, *, scheduled: float | None = None) -> JobRun:
        """Run one job now, record it (state, metrics, log); never raises for its failure."""
        assert self._ctx is not None, "open the service first"
        job = self.jobs[name]
        ctx = self._ctx
        state = self.state.jobs.setdefault(name, JobState(job.interval(self.settings)))
        try:
            reason = job.skip(ctx)
        except Exception as exc:  # a broken check is a failed run
            reason = None
            skip_error: BaseException | None = exc
        else:
            skip_error = None
        if reason is not None:
            self.log("job skipped", {"job": name, "reason": reason})
            return JobRun(name, "skipped", 0.0, None, {"reason": reason})
        started = self.clock.time()
        state.last_started_at = iso(started)
        state.running_since = iso(started)  # last_result keeps the previous run's outcome
        self._save()
        began = time.perf_counter()
        error: str | None = None
        exit_code = 0
        report: Mapping[str, Any] = {}
        try:
            if skip_error is not None:
                raise skip_error
            report = job.run(ctx)
        except Exception as exc:  # a failing job never stops the service
            error, exit_code = _describe(exc)
        finally:
            self._release(ctx)
        duration = time.perf_counter() - began
        finished = self.clock.time()
        state.runs += 1
        state.last_finished_at = iso(finished)
        state.last_duration_seconds = round(duration, 6)
        state.last_error = error
        state.last_result = "failed" if error else "ok"
        state.running_since = None
        m = self.metrics
        m.job_runs.labels(name).inc()
        m.job_duration.labels(name).observe(duration)
        if error:
            state.failures += 1
            m.job_failures.labels(name).inc()
        else:
            state.last_success_at = iso(finished)
            m.job_last_success.labels(name).set(finished)
        if "alert_states" in ctx.extra:
            self.state.alerts = dict(ctx.extra["alert_states"])
        self._save()
        fields: dict[str, Any] = {"job": name, "duration_seconds": round(duration, 4)}
        if scheduled is not None:
            fields["late_seconds"] = round(max(0.0, started - scheduled), 3)
        if error:
            self.log("job failed", {**fields, "error": error})
        else:
            self.log("job ok", {**fields, **report})
        result = "failed" if error else "ok"
        return JobRun(name, result, duration, error, report, exit_code)

    def _release(self, ctx: JobContext) -> None:
        """Between runs the service holds no connection and no cached read: each job opens
        what it needs. Kept open, the readers it had gathered (one per commit the probes
        read, per branch, per thread) each grew a page cache with the store, and the service
        grew with them (docs/service.md, "Memory")."""
        try:
            ctx.dp.release()
        except Exception as exc:  # never fails a run; the next run's connections start over
            text, _ = _describe(exc)
            self.log("release failed", {"error": text})

    def _restart_server(self) -> None:
        """The alerts' restart action: restart this data directory's supervised server
        (a server this directory does not supervise is left alone, and the log says so)."""
        from doltplane.server.control import server_status, start_server, stop_server

        if server_status(self.settings).pid is None:
            self.log("alert", {"message": "restart skipped: no supervisor for this data dir"})
            return
        stop_server(self.settings)
        start_server(self.settings)

    def run_once(self, name: str) -> JobRun:
        """``serve --once JOB`` (cron): take the lock, run the job, record it, release."""
        if name not in self.jobs:
            raise InvalidInput(
                f"unknown job {name!r}", hint=f"one of: {', '.join(sorted(self.jobs))}"
            )
        self._open()
        try:
            for job_name, job_state in previous_jobs(self.settings.data_dir).items():
                self.state.jobs[job_name] = job_state
            return self.run_job(name)
        finally:
            self._close()

    def _save(self) -> None:
        write_state(self.settings.data_dir, self.state, self.clock.time())


def _cache_stats(dp: DataPlane) -> dict[str, Mapping[str, int]]:
    """The read cache counters of the planes this service opened (doltplane/cache.py gives
    each plane a ``cache`` with ``stats()``; absent until that lands, then nothing)."""
    found: dict[str, Mapping[str, int]] = {}
    for plane in ("ops", "ledger"):
        opened = vars(dp).get(plane)  # never open a plane from the scrape thread
        stats = getattr(getattr(opened, "cache", None), "stats", None)
        if callable(stats):
            found[plane] = stats()
    return found


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
