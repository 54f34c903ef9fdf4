"""Alert rules: the editable ``alerts.yaml`` of a data directory, read and checked.

Every problem is reported as ``path:line: message`` (the line from PyYAML's node marks),
and a file with one is refused whole: the service never runs half a rules file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any, Literal

import yaml

from doltplane.alerts.defaults import DEFAULT_RULES_TEXT
from doltplane.errors import NotFound, RulesInvalid

RULES_FILE = "alerts.yaml"
MAX_RULES_BYTES = 1_000_000
MAX_COMMAND_TIMEOUT = 60.0
MAX_WEBHOOK_TIMEOUT = 30.0
DEFAULT_COMMAND_TIMEOUT = 10.0
DEFAULT_WEBHOOK_TIMEOUT = 5.0
MAX_ACTIONS_SECONDS = 60.0
"""A rule's command and webhook timeouts together: evaluation waits for its actions, so
this bounds how long one rule can hold up the service's alerts job."""

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")
ActionKind = Literal["log", "command", "webhook", "restart_server"]


@dataclasses.dataclass(frozen=True)
class Observation:
    """A value the service measures and hands to the evaluator, and its Prometheus twin."""

    name: str
    unit: Literal["seconds", "bytes", "boolean"]
    metric: str
    """The metric family ``doltplane serve`` exports it from on /metrics."""
    promql: str
    """The same value as a PromQL expression over that metric (for ``export-rules``)."""
    meaning: str


OBSERVATIONS: dict[str, Observation] = {
    o.name: o
    for o in (
        Observation(
            "query_latency_avg_seconds",
            "seconds",
            "doltplane_query_latency_seconds",
            "sum(rate(doltplane_query_latency_seconds_sum[5m]))"
            " / sum(rate(doltplane_query_latency_seconds_count[5m]))",
            "average query latency over the last 5 minutes",
        ),
        Observation(
            "storage_growth_bytes_24h",
            "bytes",
            "doltplane_storage_growth_bytes_24h",
            "sum(doltplane_storage_growth_bytes_24h)",
            "growth of the stored bytes (all planes) over the last 24 hours",
        ),
        Observation(
            "server_up",
            "boolean",
            "doltplane_server_up",
            "doltplane_server_up",
            "1 while the supervised Dolt server answers, 0 when it does not",
        ),
    )
}
"""Every observation a rule may watch (an unknown name is a typo, refused)."""


@dataclasses.dataclass(frozen=True)
class Action:
    """What to do when a rule fires (and, except restart_server, when it clears)."""

    kind: ActionKind
    argv: tuple[str, ...] = ()
    """command: the program and its arguments (run without a shell)."""
    url: str | None = None
    """webhook: where the alert is POSTed as JSON."""
    timeout: float = 0.0
    """command and webhook: seconds before giving up."""


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    observe: str
    condition: Literal["above", "below"]
    threshold: float
    for_seconds: float
    """How long the condition must hold before pending becomes firing (0: at once)."""
    severity: Severity
    summary: str
    description: str
    actions: tuple[Action, ...]
    repeat_seconds: float | None = None
    """While firing, run the actions again this often (None: once)."""
    line: int = 0

    def breached(self, value: float) -> bool:
        return value > self.threshold if self.condition == "above" else value < self.threshold

    @property
    def unit(self) -> str:
        return OBSERVATIONS[self.observe].unit


# --- reading ---------------------------------------------------------------------------

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_NUMBER_WITH_UNIT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_BYTE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_RULE_KEYS = {
    "name",
    "observe",
    "above",
    "below",
    "for",
    "repeat",
    "severity",
    "summary",
    "description",
    "actions",
}
_ACTION_OPTIONS = {"command": {"timeout"}, "webhook": {"timeout"}}
_BARE_ACTIONS = ("log", "restart_server")


class _Problem(Exception):
    def __init__(self, node: yaml.Node | None, message: str) -> None:
        super().__init__(message)
        self.node = node


def _fail(node: yaml.Node | None, message: str) -> _Problem:
    return _Problem(node, message)


def load_rules(path: Path) -> list[Rule]:
    """The rules of ``path``; RulesInvalid (``path:line: message``) when anything is wrong,
    NotFound when there is no such file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            "alert rules file", str(path), hint="`doltplane serve` writes the default one"
        ) from None
    except OSError as exc:
        raise RulesInvalid(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_RULES_BYTES:
        raise RulesInvalid(f"{path}:1: larger than {MAX_RULES_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesInvalid(f"{path}:1: not UTF-8 text ({exc.reason})") from None
    return parse_rules(text, str(path))


def parse_rules(text: str, where: str = RULES_FILE) -> list[Rule]:
    """The rules in ``text`` (``where`` names it in errors)."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join((exc.problem or exc.context or "malformed YAML").split())
        raise RulesInvalid(f"{where}:{line}: malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise RulesInvalid(f"{where}:1: malformed YAML: {exc}") from None
    try:
        return _rules(root)
    except _Problem as problem:
        line = problem.node.start_mark.line + 1 if problem.node is not None else 1
        raise RulesInvalid(f"{where}:{line}: {problem}") from None


def _scalar(node: yaml.Node) -> Any:
    """A scalar node's value with YAML's core types (safe tags only)."""
    if not isinstance(node, yaml.ScalarNode):
        return node
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        raise _fail(node, f"bad value: {' '.join(str(exc.problem).split())}") from None
    except yaml.YAMLError as exc:
        raise _fail(node, f"bad value: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()


def _mapping(node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(node, f"{what} must be a mapping")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = _scalar(key_node)
        if not isinstance(key, str):
            raise _fail(key_node, f"{what}: keys must be text, got {key!r}")
        if key in out:
            raise _fail(key_node, f"{what}: duplicate key {key!r}")
        out[key] = (key_node, value_node)
    return out


def _unknown_keys(
    fields: dict[str, tuple[yaml.Node, yaml.Node]], allowed: set[str], what: str
) -> None:
    for key, (key_node, _) in fields.items():
        if key not in allowed:
            raise _fail(
                key_node, f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})"
            )


def _text(node: yaml.Node, what: str) -> str:
    value = _scalar(node)
    if not isinstance(value, str) or not value.strip():
        raise _fail(node, f"{what} must be non-empty text")
    if any(ord(c) < 32 and c not in "\t\n" for c in value):
        raise _fail(node, f"{what} must not hold control characters")
    return value.strip()


def _rules(root: yaml.Node | None) -> list[Rule]:
    if root is None:
        raise _fail(None, "empty rules file: it needs `version: 1` and a `rules:` list")
    top = _mapping(root, "the rules file")
    _unknown_keys(top, {"version", "rules"}, "the rules file")
    if "version" in top:
        _key_node, version_node = top["version"]
        if _scalar(version_node) != 1:
            raise _fail(version_node, "version must be 1")
    if "rules" not in top:
        raise _fail(root, "missing key 'rules' (a list of rules)")
    rules_node = top["rules"][1]
    if isinstance(rules_node, yaml.ScalarNode) and _scalar(rules_node) is None:
        return []  # `rules:` with nothing under it: every alert switched off
    if not isinstance(rules_node, yaml.SequenceNode):
        raise _fail(rules_node, "rules must be a list")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for item in rules_node.value:
        rule = _rule(item)
        if rule.name in seen:
            raise _fail(item, f"rule {rule.name!r} is already defined on line {seen[rule.name]}")
        seen[rule.name] = rule.line
        rules.append(rule)
    return rules


def _rule(node: yaml.Node) -> Rule:
    fields = _mapping(node, "a rule")
    _unknown_keys(fields, _RULE_KEYS, "a rule")
    for key in ("name", "observe", "severity", "summary"):
        if key not in fields:
            raise _fail(node, f"a rule needs {key!r}")
    name_node = fields["name"][1]
    name = _text(name_node, "name")
    if not _NAME.fullmatch(name):
        raise _fail(
            name_node,
            f"rule name {name!r} must be lower case letters, digits and _ "
            "(it is also the Prometheus alert name)",
        )
    what = f"rule {name!r}"
    observe_node = fields["observe"][1]
    observe = _text(observe_node, f"{what}: observe")
    if observe not in OBSERVATIONS:
        raise _fail(
            observe_node,
            f"{what}: unknown observation {observe!r} (known: {', '.join(OBSERVATIONS)})",
        )
    conditions = [k for k in ("above", "below") if k in fields]
    if len(conditions) != 1:
        raise _fail(node, f"{what} needs exactly one of 'above' or 'below'")
    condition: Literal["above", "below"] = "above" if conditions[0] == "above" else "below"
    threshold = _threshold(fields[condition][1], OBSERVATIONS[observe].unit, what)
    for_seconds = _duration(fields["for"][1], f"{what}: for") if "for" in fields else 0.0
    repeat = _duration(fields["repeat"][1], f"{what}: repeat") if "repeat" in fields else None
    if repeat is not None and repeat <= 0:
        raise _fail(fields["repeat"][1], f"{what}: repeat must be longer than 0s")
    severity_node = fields["severity"][1]
    severity = _scalar(severity_node)
    if severity not in SEVERITIES:
        raise _fail(severity_node, f"{what}: severity must be one of {', '.join(SEVERITIES)}")
    description = (
        _text(fields["description"][1], f"{what}: description") if "description" in fields else ""
    )
    actions: tuple[Action, ...] = ()
    if "actions" in fields:
        actions = _actions(fields["actions"][1], what)
        total = sum(a.timeout for a in actions)
        if total > MAX_ACTIONS_SECONDS:
            raise _fail(
                fields["actions"][0],
                f"{what}: the actions' timeouts add up to {total:g}s, more than "
                f"{MAX_ACTIONS_SECONDS:g}s (the service waits for them)",
            )
    return Rule(
        name=name,
        observe=observe,
        condition=condition,
        threshold=threshold,
        for_seconds=for_seconds,
        severity=severity,
        summary=_text(fields["summary"][1], f"{what}: summary"),
        description=description,
        actions=actions,
        repeat_seconds=repeat,
        line=node.start_mark.line + 1,
    )


def _number_and_unit(node: yaml.Node, what: str) -> tuple[float, str]:
    value = _scalar(node)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(node, f"{what} must be a number, optionally with a unit, got {value!r}")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        match = _NUMBER_WITH_UNIT.fullmatch(value)
        if match is None:
            raise _fail(node, f"{what} must be a number with an optional unit, got {value!r}")
        number, unit = float(match[1]), match[2]
    if not math.isfinite(number) or number < 0:
        raise _fail(node, f"{what} must be a finite number >= 0, got {value!r}")
    return number, unit


def _duration(node: yaml.Node, what: str) -> float:
    """Seconds from ``90``, ``30s``, ``5m``, ``1h``, ``1d`` or ``250ms``."""
    number, unit = _number_and_unit(node, what)
    if unit and unit not in _DURATION_UNITS:
        raise _fail(node, f"{what}: unknown duration unit {unit!r} (use ms, s, m, h or d)")
    return number * _DURATION_UNITS.get(unit, 1.0)


def _threshold(node: yaml.Node, unit: str, what: str) -> float:
    number, suffix = _number_and_unit(node, f"{what}: threshold")
    if not suffix:
        return number
    if unit == "seconds" and suffix in _DURATION_UNITS:
        return number * _DURATION_UNITS[suffix]
    if unit == "bytes" and suffix.lower() in _BYTE_UNITS:
        return number * _BYTE_UNITS[suffix.lower()]
    allowed = {"seconds": "ms, s, m, h", "bytes": "B, KB, MB, GB, KiB, MiB, GiB"}.get(
        unit, "no unit"
    )
    raise _fail(node, f"{what}: unit {suffix!r} does not fit a {unit} value (use {allowed})")


def _actions(node: yaml.Node, what: str) -> tuple[Action, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise _fail(node, f"{what}: actions must be a list")
    return tuple(_action(item, what) for item in node.value)


def _action(node: yaml.Node, what: str) -> Action:
    if isinstance(node, yaml.ScalarNode):
        kind = _scalar(node)
        if kind in _BARE_ACTIONS:
            return Action(kind)
        if kind in _ACTION_OPTIONS:
            raise _fail(node, f"{what}: action {kind!r} needs a value, e.g. `- {kind}: ...`")
        raise _fail(
            node, f"{what}: unknown action {kind!r} (log, command, webhook, restart_server)"
        )
    fields = _mapping(node, f"{what}: an action")
    kinds = [k for k in fields if k in _ACTION_OPTIONS]
    if len(kinds) != 1:
        raise _fail(
            node,
            f"{what}: an action mapping needs exactly one of 'command' or 'webhook' "
            "(log and restart_server are written bare: `- log`)",
        )
    kind = kinds[0]
    _unknown_keys(fields, {kind, *_ACTION_OPTIONS[kind]}, f"{what}: {kind} action")
    limit, default = (
        (MAX_COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT)
        if kind == "command"
        else (MAX_WEBHOOK_TIMEOUT, DEFAULT_WEBHOOK_TIMEOUT)
    )
    timeout = default
    if "timeout" in fields:
        timeout_node = fields["timeout"][1]
        timeout = _duration(timeout_node, f"{what}: {kind} timeout")
        if not 0 < timeout <= limit:
            raise _fail(
                timeout_node, f"{what}: {kind} timeout must be over 0s and at most {limit:g}s"
            )
    value_node = fields[kind][1]
    if kind == "command":
        return Action("command", argv=_argv(value_node, what), timeout=timeout)
    return Action("webhook", url=_url(value_node, what), timeout=timeout)


def _argv(node: yaml.Node, what: str) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise _fail(
            node, f"{what}: command must be a non-empty list (program and arguments; no shell)"
        )
    argv = []
    for item in node.value:
        value = _scalar(item)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _fail(item, f"{what}: command arguments must be text, got {value!r}")
        text = str(value)
        if "\x00" in text:
            raise _fail(item, f"{what}: command arguments must not hold NUL")
        argv.append(text)
    if not argv[0].strip():
        raise _fail(node.value[0], f"{what}: command needs a program")
    return tuple(argv)


def _url(node: yaml.Node, what: str) -> str:
    url = _text(node, f"{what}: webhook")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise _fail(node, f"{what}: webhook {url!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(node, f"{what}: webhook must be an http:// or https:// URL, got {url!r}")
    if any(c.isspace() for c in url):
        raise _fail(node, f"{what}: webhook URL must not contain spaces")
    return url


# --- the default file -------------------------------------------------------------------


def rules_path(data_dir: Path) -> Path:
    return Path(data_dir) / RULES_FILE


def default_rules() -> list[Rule]:
    return parse_rules(DEFAULT_RULES_TEXT, f"(default {RULES_FILE})")


def ensure_rules_file(data_dir: Path) -> Path:
    """``<data_dir>/alerts.yaml``, written with the default rules if it is missing (an
    existing file, edited or not, is left as it is)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise NotFound("data directory", str(data_dir), hint="run `doltplane init` first")
    path = rules_path(data_dir)
    if path.exists():
        return path
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(DEFAULT_RULES_TEXT, encoding="utf-8")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)  # never replaces a file another process just wrote
    except OSError as exc:
        raise RulesInvalid(
            f"{path}: cannot write the default rules: {exc.strerror or exc}",
            hint="make the data directory writable",
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
    return path


def format_threshold(value: float, unit: str) -> str:
    """A threshold or observed value the way people write it (100 ms, 200 MB)."""
    if unit == "seconds":
        return f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"
    if unit == "bytes":
        for size, name in ((1000**3, "GB"), (1000**2, "MB"), (1000, "KB")):
            if value >= size:
                return f"{value / size:.4g} {name}"
        return f"{value:g} B"
    return f"{value:g}"
