"""The service's notion of time: the real clock, or (benchmarks and tests only) an
accelerated one, so that a week of schedules runs in minutes."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Mapping

from doltplane.errors import ConfigError

CLOCK_VARIABLE = "DOLTPLANE_SERVICE_CLOCK"
"""``START,FACTOR``: simulated time begins at START (ISO-8601 or epoch seconds) and runs
FACTOR times faster than real time. For benchmarks and tests; never set in production."""


class Clock:
    """Wall-clock time in epoch seconds, and waiting that a stop event cuts short."""

    simulated = False

    def time(self) -> float:
        return time.time()

    def utcnow(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.time(), dt.UTC)

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Sleep ``seconds`` of this clock's time; True when ``stop`` was set meanwhile."""
        return stop.wait(max(0.0, seconds))

    def real_seconds(self, seconds: float) -> float:
        """How long ``seconds`` of this clock's time take in real time."""
        return seconds


class AcceleratedClock(Clock):
    simulated = True

    def __init__(self, start: float, factor: float) -> None:
        if factor <= 0:
            raise ConfigError(f"{CLOCK_VARIABLE}: the speed factor must be positive")
        self._start = start
        self._factor = factor
        self._began = time.monotonic()

    def time(self) -> float:
        return self._start + (time.monotonic() - self._began) * self._factor

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(max(0.0, seconds) / self._factor)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self._factor


def clock_from_env(env: Mapping[str, str] | None = None) -> Clock:
    env = os.environ if env is None else env
    spec = env.get(CLOCK_VARIABLE, "").strip()
    if not spec:
        return Clock()
    try:
        start_text, factor_text = spec.split(",")
        try:
            start = float(start_text)
        except ValueError:
            start = dt.datetime.fromisoformat(start_text).timestamp()
        return AcceleratedClock(start, float(factor_text))
    except ValueError:
        raise ConfigError(
            f"{CLOCK_VARIABLE} must be START,FACTOR (e.g. 2026-01-01T00:00:00+00:00,1000),"
            f" got {spec!r}"
        ) from None
