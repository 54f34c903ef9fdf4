"""Reading alerts.yaml: the default file, valid edits, and every kind of invalid file
refused as ``path:line: message``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from doltplane.alerts import ensure_rules_file, load_rules, parse_rules, rules_path
from doltplane.alerts.defaults import DEFAULT_RULES_TEXT
from doltplane.errors import InvalidInput, NotFound, RulesInvalid


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(RulesInvalid) as info:
        load_rules(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_default_rules_are_the_designs_three(tmp_path: Path) -> None:
    path = ensure_rules_file(tmp_path)
    assert path == rules_path(tmp_path)
    assert path.read_text(encoding="utf-8") == DEFAULT_RULES_TEXT
    rules = {r.name: r for r in load_rules(path)}
    assert set(rules) == {"query_latency_high", "storage_growth_high", "server_down"}
    latency = rules["query_latency_high"]
    assert (latency.observe, latency.condition, latency.threshold) == (
        "query_latency_avg_seconds",
        "above",
        pytest.approx(0.1),
    )
    assert (latency.for_seconds, latency.severity) == (300.0, "warning")
    growth = rules["storage_growth_high"]
    assert growth.threshold == 200_000_000 and growth.severity == "warning"
    assert "retention" in growth.description
    server = rules["server_down"]
    assert (server.observe, server.condition, server.threshold) == ("server_up", "below", 1.0)
    assert server.severity == "critical"
    assert [a.kind for a in server.actions] == ["log", "restart_server"]


def test_an_edited_file_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrules:\n")
    assert ensure_rules_file(tmp_path) == path
    assert path.read_text(encoding="utf-8") == "version: 1\nrules:\n"
    assert load_rules(path) == []


def test_ensure_refuses_a_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        ensure_rules_file(tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_every_action_and_unit(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - name: slow
            observe: query_latency_avg_seconds
            above: 250ms
            for: 90
            repeat: 1h
            severity: info
            summary: slow
            actions:
              - log
              - command: [echo, "hello world", 3]
                timeout: 2s
              - webhook: https://hooks.example.com/x?token=1
              - restart_server
          - name: growth
            observe: storage_growth_bytes_24h
            above: 1.5GiB
            severity: warning
            summary: big
        """,
    )
    slow, growth = load_rules(path)
    assert slow.threshold == pytest.approx(0.25)
    assert slow.for_seconds == 90 and slow.repeat_seconds == 3600
    assert slow.line == 2 and growth.line == 15
    log, command, webhook, restart = slow.actions
    assert command.argv == ("echo", "hello world", "3") and command.timeout == 2
    assert webhook.url == "https://hooks.example.com/x?token=1" and webhook.timeout == 5
    assert (log.kind, restart.kind) == ("log", "restart_server")
    assert growth.threshold == 1.5 * 1024**3


RULE = """\
rules:
  - name: slow
    observe: query_latency_avg_seconds
    above: 100ms
    severity: warning
    summary: slow
"""

INVALID = [
    # (what to add or change, expected line, words in the message)
    ("rules: [\n  - name: x\n", 2, "malformed YAML"),
    ("rules:\n  - name: x\n   bad: indent\n", 3, "malformed YAML"),
    ("version: 2\nrules:\n", 1, "version must be 1"),
    ("rulez:\n", 1, "unknown key 'rulez'"),
    ("- just a list\n", 1, "must be a mapping"),
    ("rules: 5\n", 1, "rules must be a list"),
    (RULE + "    colour: red\n", 7, "unknown key 'colour'"),
    (RULE.replace("    summary: slow\n", ""), 2, "needs 'summary'"),
    (RULE.replace("name: slow", "name: Slow-Rule"), 2, "lower case"),
    (RULE.replace("query_latency_avg_seconds", "query_latency"), 3, "unknown observation"),
    (RULE.replace("above: 100ms", "above: fast"), 4, "must be a number"),
    (RULE.replace("above: 100ms", "above: 100MB"), 4, "does not fit a seconds value"),
    (RULE.replace("above: 100ms", "above: -1"), 4, "finite number >= 0"),
    (RULE.replace("above: 100ms", "above: .nan"), 4, "finite number >= 0"),
    (RULE.replace("above: 100ms", "above: true"), 4, "must be a number"),
    (RULE + "    below: 1\n", 1 + 1, "exactly one of 'above' or 'below'"),
    (RULE + "    for: 5 minutes\n", 7, "unknown duration unit 'minutes'"),
    (RULE + "    for: soon\n", 7, "must be a number with an optional unit"),
    (RULE + "    for: 5w\n", 7, "unknown duration unit 'w'"),
    (RULE + "    repeat: 0s\n", 7, "repeat must be longer than 0s"),
    (RULE.replace("severity: warning", "severity: loud"), 5, "severity must be one of"),
    (RULE + "    actions: log\n", 7, "actions must be a list"),
    (RULE + "    actions:\n      - email\n", 8, "unknown action 'email'"),
    (RULE + "    actions:\n      - webhook\n", 8, "needs a value"),
    (RULE + "    actions:\n      - webhook: ftp://example.com/x\n", 8, "http:// or https://"),
    (RULE + "    actions:\n      - webhook: http://\n", 8, "http:// or https://"),
    (RULE + "    actions:\n      - webhook: http://h:99999/\n", 8, "is not a URL"),
    (RULE + "    actions:\n      - command: echo hi\n", 8, "non-empty list"),
    (RULE + "    actions:\n      - command: []\n", 8, "non-empty list"),
    (
        RULE + "    actions:\n      - command: [echo]\n        timeout: 5m\n",
        9,
        "at most 60s",
    ),
    (
        RULE + "    actions:\n      - webhook: http://h/\n        retries: 3\n",
        9,
        "unknown key 'retries'",
    ),
    (RULE + "    actions:\n      - {command: [a], webhook: http://h/}\n", 8, "exactly one of"),
    (
        RULE + "    actions:\n" + "      - command: [a]\n        timeout: 50s\n" * 2,
        7,
        "add up to 100s",
    ),
    (RULE + RULE.replace("rules:\n", ""), 7, "already defined on line 2"),
    ("rules:\n  - name: a\n    name: b\n", 3, "duplicate key 'name'"),
    ("", 1, "empty rules file"),
]


@pytest.mark.parametrize(("text", "line", "words"), INVALID)
def test_an_invalid_file_is_refused_with_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    message = refused(path)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message


def test_the_error_is_typed_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "rulez:\n")
    with pytest.raises(InvalidInput) as info:
        load_rules(path)
    assert isinstance(info.value, RulesInvalid)
    assert info.value.exit_code == 3
    assert "doltplane alerts check" in info.value.one_line()


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_rules(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"rules:\n  - \xff\xfe\n")
    assert refused(binary).startswith(f"{binary}:1: not UTF-8")
    huge = tmp_path / "huge.yaml"
    huge.write_text("#" * 1_000_001)
    assert "larger than" in refused(huge)


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    path = write(tmp_path, RULE.replace("summary: slow", "summary: !!python/name:os.system"))
    assert refused(path).startswith(f"{path}:6: ")


def test_the_example_in_the_docs_is_a_valid_rules_file() -> None:
    page = Path(__file__).parents[2] / "docs" / "alerts.md"
    text = page.read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    (rule,) = parse_rules(example, str(page))
    assert [a.kind for a in rule.actions] == ["log", "webhook", "command", "restart_server"]
    assert rule.repeat_seconds == 3600
