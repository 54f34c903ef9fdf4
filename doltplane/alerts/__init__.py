"""The design's alerts: rules in ``<data_dir>/alerts.yaml``, evaluated by ``doltplane serve``.

``load_rules`` reads and checks a rules file, ``ensure_rules_file`` writes the default one,
``Evaluator`` advances each rule (ok -> pending -> firing) and runs its actions, and
``export_prometheus_rules`` turns the rules into a Prometheus alerting-rules file.
"""

from __future__ import annotations

from doltplane.alerts.evaluator import AlertState, Evaluator
from doltplane.alerts.prometheus import export_prometheus_rules
from doltplane.alerts.rules import (
    OBSERVATIONS,
    RULES_FILE,
    Action,
    Observation,
    Rule,
    default_rules,
    ensure_rules_file,
    load_rules,
    parse_rules,
    rules_path,
)
from doltplane.alerts.service_state import (
    LockInfo,
    ServiceState,
    lock_path,
    read_lock,
    read_service_state,
    serve_dir,
    service_running,
    state_path,
)

__all__ = [
    "OBSERVATIONS",
    "RULES_FILE",
    "Action",
    "AlertState",
    "Evaluator",
    "LockInfo",
    "Observation",
    "Rule",
    "ServiceState",
    "default_rules",
    "ensure_rules_file",
    "export_prometheus_rules",
    "load_rules",
    "lock_path",
    "parse_rules",
    "read_lock",
    "read_service_state",
    "rules_path",
    "serve_dir",
    "service_running",
    "state_path",
]
