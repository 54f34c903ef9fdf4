"""ok -> pending -> firing -> ok with a clock passed as ``now``; the actions run on each
change, and an absent observation never fires."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from doltplane.alerts import AlertState, Evaluator, default_rules, parse_rules

from .conftest import Hook

LATENCY = "query_latency_avg_seconds"


def rules(actions: str = "      - log\n", extra: str = "") -> str:
    return (
        "rules:\n"
        "  - name: slow\n"
        f"    observe: {LATENCY}\n"
        "    above: 100ms\n"
        "    for: 5m\n"
        "    severity: warning\n"
        "    summary: queries are slow\n"
        f"{extra}"
        "    actions:\n"
        f"{actions}"
    )


def states(evaluator: Evaluator, value: float | None, now: float) -> str:
    observations = {} if value is None else {LATENCY: value}
    (state,) = evaluator.evaluate(observations, now)
    return state.state


def test_pending_then_firing_then_resolved() -> None:
    lines: list[str] = []
    evaluator = Evaluator(parse_rules(rules()), log=lines.append)
    assert states(evaluator, 0.05, 0) == "ok"
    assert states(evaluator, 0.2, 60) == "pending"
    assert states(evaluator, 0.3, 300) == "pending"  # 4 minutes: not yet
    assert lines == []
    assert states(evaluator, 0.3, 360) == "firing"  # held for 5 minutes
    (state,) = evaluator.states
    assert (state.since, state.value, state.severity) == (360, 0.3, "warning")
    assert len(lines) == 1 and "slow firing (warning)" in lines[0] and "300 ms" in lines[0]
    assert states(evaluator, 0.4, 420) == "firing"
    assert len(lines) == 1  # no repeat unless asked
    assert states(evaluator, 0.01, 480) == "ok"
    assert evaluator.states[0].since == 480
    assert len(lines) == 2 and "slow resolved" in lines[1]


def test_a_dip_resets_pending() -> None:
    evaluator = Evaluator(parse_rules(rules()), log=lambda line: None)
    assert states(evaluator, 0.2, 0) == "pending"
    assert states(evaluator, 0.05, 200) == "ok"
    assert states(evaluator, 0.2, 240) == "pending"
    assert states(evaluator, 0.2, 500) == "pending"  # 260 s since the dip: not 5 minutes
    assert states(evaluator, 0.2, 540) == "firing"


def test_an_absent_observation_is_never_firing() -> None:
    lines: list[str] = []
    evaluator = Evaluator(parse_rules(rules()), log=lines.append)
    for now in range(0, 3600, 60):
        assert states(evaluator, None, now) == "ok"
    assert evaluator.states[0].value is None
    assert states(evaluator, 0.2, 3600) == "pending"
    assert states(evaluator, float("nan"), 3660) == "ok"  # NaN is no measurement either
    assert lines == []


def test_an_observation_that_disappears_resolves_a_firing_rule() -> None:
    lines: list[str] = []
    evaluator = Evaluator(parse_rules(rules().replace("for: 5m", "for: 0s")), log=lines.append)
    assert states(evaluator, 0.2, 0) == "firing"
    assert states(evaluator, None, 60) == "ok"
    assert [line.split(" ")[2] for line in lines] == ["firing", "resolved"]


def test_repeat_runs_the_actions_again_while_firing() -> None:
    lines: list[str] = []
    evaluator = Evaluator(parse_rules(rules(extra="    repeat: 10m\n")), log=lines.append)
    for now in range(0, 1800, 60):
        states(evaluator, 0.2, now)
    fired = [line for line in lines if "firing" in line]
    assert len(fired) == 3  # at 300 s, 900 s, 1500 s


def test_the_default_server_rule_restarts_the_server() -> None:
    restarts: list[float] = []
    lines: list[str] = []
    evaluator = Evaluator(
        default_rules(), restart_server=lambda: restarts.append(1), log=lines.append
    )
    evaluator.evaluate({"server_up": 0.0}, 0)
    assert restarts == []  # pending for a minute first
    result = {s.name: s.state for s in evaluator.evaluate({"server_up": 0.0}, 60)}
    assert result == {
        "query_latency_high": "ok",
        "storage_growth_high": "ok",
        "server_down": "firing",
    }
    assert restarts == [1]
    evaluator.evaluate({"server_up": 1.0}, 120)
    assert restarts == [1]  # no restart on resolve
    assert any("server_down resolved" in line for line in lines)


def test_restart_without_a_supervised_server_is_logged_as_skipped() -> None:
    lines: list[str] = []
    evaluator = Evaluator(default_rules(), log=lines.append)
    evaluator.evaluate({"server_up": 0.0}, 0)
    evaluator.evaluate({"server_up": 0.0}, 60)
    assert any("restart_server skipped" in line for line in lines)


def test_a_failing_restart_is_logged_not_raised() -> None:
    lines: list[str] = []

    def broken() -> None:
        raise RuntimeError("port in use")

    evaluator = Evaluator(default_rules(), restart_server=broken, log=lines.append)
    evaluator.evaluate({"server_up": 0.0}, 0)
    evaluator.evaluate({"server_up": 0.0}, 60)
    assert any("failed: RuntimeError: port in use" in line for line in lines)


def test_growth_rule_fires_at_once_over_200_mb() -> None:
    evaluator = Evaluator(default_rules(), log=lambda line: None)
    growth = {s.name: s for s in evaluator.evaluate({"storage_growth_bytes_24h": 2.5e8}, 0)}
    assert growth["storage_growth_high"].state == "firing"
    quiet = {s.name: s for s in evaluator.evaluate({"storage_growth_bytes_24h": 1.5e8}, 60)}
    assert quiet["storage_growth_high"].state == "ok"


def test_state_round_trips_through_json_and_carries_over() -> None:
    lines: list[str] = []
    evaluator = Evaluator(parse_rules(rules().replace("for: 5m", "for: 0s")), log=lines.append)
    (state,) = evaluator.evaluate({LATENCY: 0.2}, 1000.5)
    text = json.dumps(state.to_json())
    again = AlertState.from_json(json.loads(text))
    assert again == state
    assert (again.name, again.state, again.since, again.value) == ("slow", "firing", 1000.5, 0.2)
    # a restarted service that carries the state over does not notify a second time
    restarted = Evaluator(
        parse_rules(rules().replace("for: 5m", "for: 0s")),
        log=lines.append,
        previous={"slow": again},
    )
    assert restarted.evaluate({LATENCY: 0.2}, 1060)[0].state == "firing"
    assert len(lines) == 1


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"name": "x"},
        {"name": "x", "state": "burning"},
        {"name": "x", "state": "ok", "since": "a"},
    ],
)
def test_state_from_bad_json_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        AlertState.from_json(bad)  # type: ignore[arg-type]


def test_webhook_reaches_a_loopback_server(hook: Hook) -> None:
    lines: list[str] = []
    text = rules(f"      - webhook: {hook.url}\n        timeout: 2s\n").replace(
        "for: 5m", "for: 0s"
    )
    evaluator = Evaluator(parse_rules(text), log=lines.append)
    evaluator.evaluate({LATENCY: 0.25}, 100)
    evaluator.evaluate({LATENCY: 0.01}, 160)
    assert [r["status"] for r in hook.received] == ["firing", "resolved"]
    first = hook.received[0]
    assert first["alert"] == "slow" and first["severity"] == "warning"
    assert first["value"] == 0.25 and first["threshold"] == pytest.approx(0.1)
    assert first["summary"] == "queries are slow"
    assert hook.headers[0]["Content-Type"] == "application/json"
    assert any("answered HTTP 200" in line for line in lines)


def test_a_webhook_that_fails_is_logged(hook: Hook) -> None:
    hook.status = 500
    lines: list[str] = []
    text = rules(f"      - webhook: {hook.url}\n      - webhook: http://127.0.0.1:9/\n")
    evaluator = Evaluator(parse_rules(text.replace("for: 5m", "for: 0s")), log=lines.append)
    evaluator.evaluate({LATENCY: 0.25}, 0)
    assert any("answered HTTP 500" in line for line in lines)
    assert any("unreachable" in line for line in lines)


def test_command_action_runs_without_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    script = (
        "import json,os,sys; data=json.load(sys.stdin); "
        "data['env']=os.environ['DOLTPLANE_ALERT_STATUS']; "
        "open(sys.argv[1],'a').write(json.dumps(data)+'\\n')"
    )
    argv = json.dumps([sys.executable, "-c", script, str(out)])
    lines: list[str] = []
    text = rules(f"      - command: {argv}\n").replace("for: 5m", "for: 0s")
    evaluator = Evaluator(parse_rules(text), log=lines.append)
    evaluator.evaluate({LATENCY: 0.5}, 0)
    evaluator.evaluate({LATENCY: 0.0}, 60)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(w["status"], w["env"]) for w in written] == [
        ("firing", "firing"),
        ("resolved", "resolved"),
    ]
    assert written[0]["value"] == 0.5


def test_a_command_is_bounded_in_time_and_failures_are_logged(tmp_path: Path) -> None:
    sleeper = json.dumps([sys.executable, "-c", "import time; time.sleep(30)"])
    failing = json.dumps([sys.executable, "-c", "import sys; sys.exit('boom')"])
    text = rules(
        f"      - command: {sleeper}\n        timeout: 300ms\n"
        f"      - command: {failing}\n"
        f"      - command: [{tmp_path / 'no-such-program'}]\n"
    ).replace("for: 5m", "for: 0s")
    lines: list[str] = []
    evaluator = Evaluator(parse_rules(text), log=lines.append)
    assert evaluator.evaluate({LATENCY: 0.5}, 0)[0].state == "firing"
    assert any("killed after 0.3 s" in line for line in lines)
    assert any("exited 1: boom" in line for line in lines)
    assert any("could not start" in line for line in lines)


def test_without_a_log_action_only_the_other_actions_report() -> None:
    lines: list[str] = []
    text = rules("      - restart_server\n").replace("for: 5m", "for: 0s")
    evaluator = Evaluator(parse_rules(text), log=lines.append)
    evaluator.evaluate({LATENCY: 0.5}, 0)
    assert lines == ["alert slow: restart_server skipped: this service supervises no server"]
