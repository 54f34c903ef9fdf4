"""``export-rules``: the same rules as a Prometheus alerting-rules file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from doltplane.alerts import OBSERVATIONS, default_rules, export_prometheus_rules, parse_rules
from doltplane.alerts.prometheus import prometheus_duration


def test_the_default_rules_export_with_the_metric_names() -> None:
    document = yaml.safe_load(export_prometheus_rules(default_rules()))
    (group,) = document["groups"]
    assert group["name"] == "doltplane"
    rules = {r["alert"]: r for r in group["rules"]}
    assert set(rules) == {"query_latency_high", "storage_growth_high", "server_down"}
    latency = rules["query_latency_high"]
    assert latency["expr"] == "doltplane_query_latency_avg_seconds > 0.1"
    assert latency["for"] == "5m"
    assert latency["labels"] == {"severity": "warning"}
    assert "100 ms" in latency["annotations"]["summary"]
    growth = rules["storage_growth_high"]
    assert growth["expr"] == "doltplane_storage_growth_bytes_24h > 200000000"
    assert "for" not in growth
    assert "retention" in growth["annotations"]["description"]
    server = rules["server_down"]
    assert server["expr"] == "doltplane_server_up < 1"
    assert (server["for"], server["labels"]["severity"]) == ("1m", "critical")
    for rule in group["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}


def test_every_observation_maps_to_a_doltplane_metric() -> None:
    for name, observation in OBSERVATIONS.items():
        assert observation.metric == f"doltplane_{name}"


def test_an_edited_rule_exports_its_own_values() -> None:
    rules = parse_rules(
        "rules:\n"
        "  - name: tiny\n"
        "    observe: query_latency_avg_seconds\n"
        "    above: 250ms\n"
        "    for: 90m\n"
        "    severity: critical\n"
        "    summary: 'quotes: \"and\" colons'\n"
    )
    (rule,) = yaml.safe_load(export_prometheus_rules(rules))["groups"][0]["rules"]
    assert rule == {
        "alert": "tiny",
        "expr": "doltplane_query_latency_avg_seconds > 0.25",
        "for": "1h30m",
        "labels": {"severity": "critical"},
        "annotations": {"summary": 'quotes: "and" colons'},
    }


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (0.25, "250ms"), (90, "1m30s"), (300, "5m"), (86400, "1d")]
)
def test_prometheus_durations(seconds: float, text: str) -> None:
    assert prometheus_duration(seconds) == text


def test_no_rules_export_an_empty_group(tmp_path: Path) -> None:
    document = yaml.safe_load(export_prometheus_rules([]))
    assert document == {"groups": [{"name": "doltplane", "rules": []}]}
