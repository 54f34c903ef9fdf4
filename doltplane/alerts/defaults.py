"""The rules file a data directory starts with: the design's three alerts, commented."""

from __future__ import annotations

DEFAULT_RULES_TEXT = """\
# Alert rules of this data directory. `doltplane serve` evaluates them every minute.
# Edit freely: `doltplane alerts check` validates this file, `doltplane alerts` shows
# each rule's state, `doltplane alerts export-rules` writes them for Prometheus.
#
# A rule watches one observation,
#   query_latency_avg_seconds  average query latency over the last 5 minutes
#   storage_growth_bytes_24h   growth of the stored bytes over the last 24 hours
#   server_up                  1 while the Dolt server answers, 0 when not (server engine)
# and is pending once it is `above` (or `below`) its threshold, firing once that held
# for the `for` duration, and ok again as soon as it clears.
# Thresholds take units (100ms, 2s, 200MB, 1GiB); durations are 30s, 5m, 1h or 1d.
#
# Actions run when a rule fires, and again as a resolve notice when it clears:
#   - log                             one line in the service log
#   - command: [program, arg, ...]    runs without a shell (timeout: 10s, at most 60s);
#                                     the alert is on its stdin as JSON
#   - webhook: https://host/path      POSTs the alert as JSON (timeout: 5s, at most 30s)
#   - restart_server                  restarts the supervised Dolt server (not on resolve)
# `repeat: 10m` runs the actions again while the rule keeps firing.
version: 1
rules:
  - name: query_latency_high
    observe: query_latency_avg_seconds
    above: 100ms
    for: 5m
    severity: warning
    summary: Average query latency has been over 100 ms for 5 minutes.
    description: >-
      Look for a plane that grew (doltplane status), an agent issuing heavy queries,
      or a cleanup that has not run (doltplane ops cleanup).
    actions:
      - log
      # - webhook: https://hooks.example.com/doltplane
      # - command: [notify-send, doltplane, "query latency is high"]

  - name: storage_growth_high
    observe: storage_growth_bytes_24h
    above: 200MB
    severity: warning
    summary: Stored data grew by more than 200 MB in the last 24 hours.
    description: >-
      Review the retention policy: retention_days, heartbeat thinning and how often
      cleanup runs (doltplane ops cleanup squashes and collects garbage).
    actions:
      - log

  - name: server_down
    observe: server_up
    below: 1
    for: 1m
    repeat: 5m
    severity: critical
    summary: The Dolt SQL server is not responding.
    description: >-
      The service restarts it; if it keeps failing, read the server log and check
      its port, disk space and the dolt binary (doltplane doctor).
    actions:
      - log
      - restart_server
"""
