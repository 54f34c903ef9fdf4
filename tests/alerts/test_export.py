"""``export-rules``: the same rules as a Prometheus alerting-rules file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from doltplane.alerts import OBSERVATIONS, default_rules, export_prometheus_rules, parse_rules
from doltplane.alerts.prometheus import prometheus_duration
from doltplane.service.metrics import ServiceMetrics


def test_the_default_rules_export_with_the_metric_names() -> None:
    document = yaml.safe_load(export_prometheus_rules(default_rules()))
    (group,) = document["groups"]
    assert group["name"] == "doltplane"
    rules = {r["alert"]: r for r in group["rules"]}
    assert set(rules) == {"query_latency_high", "storage_growth_high", "server_down"}
    latency = rules["query_latency_high"]
    assert latency["expr"] == (
        "sum(rate(doltplane_query_latency_seconds_sum[5m]))"
        " / sum(rate(doltplane_query_latency_seconds_count[5m])) > 0.1"
    )
    assert latency["for"] == "5m"
    assert latency["labels"] == {"severity": "warning"}
    assert "100 ms" in latency["annotations"]["summary"]
    growth = rules["storage_growth_high"]
    assert growth["expr"] == "sum(doltplane_storage_growth_bytes_24h) > 200000000"
    assert "for" not in growth
    assert "retention" in growth["annotations"]["description"]
    server = rules["server_down"]
    assert server["expr"] == "doltplane_server_up < 1"
    assert (server["for"], server["labels"]["severity"]) == ("1m", "critical")
    for rule in group["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}


def test_every_observation_maps_to_a_doltplane_metric() -> None:
    for observation in OBSERVATIONS.values():
        assert observation.metric.startswith("doltplane_")
        assert observation.metric in observation.promql


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
        "expr": OBSERVATIONS["query_latency_avg_seconds"].promql + " > 0.25",
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


def test_the_exported_metrics_are_the_ones_the_service_serves() -> None:
    """Every metric an exported rule reads is a family on the service's /metrics."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    served = ServiceMetrics(server_engine=True)
    text = generate_latest(served.registry).decode()
    families = {f.name for f in text_string_to_metric_families(text)}
    for observation in OBSERVATIONS.values():
        assert observation.metric in families, observation.metric
