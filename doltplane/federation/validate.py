"""Full validation: structure, ``config/rig-schema.json`` and ``config/validation-rules.yaml``.

The schema's ``$defs`` holds one JSON Schema per kind (``role``, ``formula``);
a kind without a definition is checked against the whole schema. The rules
file adds what JSON Schema says awkwardly: required keys, allowed values and
name patterns per kind, with dotted keys (``session.command``) and ``[]`` for
every item of a list (``steps[].id``), and the template categories.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import referencing.exceptions
import yaml

from doltplane.federation.catalog import ParsedCatalog, parse_catalog
from doltplane.federation.locate import line_of
from doltplane.federation.models import KINDS, Kind, Problem
from doltplane.federation.patterns import BadPattern, compile_pattern, fullmatch
from doltplane.federation.repo import FileEntry
from doltplane.federation.schemas import (
    SafeSchema,
    format_checker,
    json_line,
    ref_message,
    schema_findings,
    validator_class,
)

SCHEMA_PATH = "config/rig-schema.json"
RULES_PATH = "config/validation-rules.yaml"
DEFAULT_CATEGORIES = ("agent-prompts", "project-templates", "workflow-templates")
MAX_RULE_VALUES = 100_000

_RULES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer"},
        "kinds": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                kind: {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "required": {"type": "array", "items": {"type": "string"}},
                        "allowed": {
                            "type": "object",
                            "additionalProperties": {"type": "array"},
                        },
                        "patterns": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                        "categories": {"type": "array", "items": {"type": "string"}},
                        "max_bytes": {"type": "integer", "minimum": 1},
                        "ids": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "array",
                                "items": {"type": "string"},
                            },
                        },
                        "references": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                    },
                }
                for kind in KINDS
            },
        },
    },
}


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """What ``validate`` found: ``ok`` when ``problems`` is empty."""

    files: int
    entries: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclasses.dataclass
class _Rules:
    required: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    allowed: dict[str, dict[str, list[Any]]] = dataclasses.field(default_factory=dict)
    patterns: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    max_bytes: dict[str, int] = dataclasses.field(default_factory=dict)
    ids: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)
    """kind -> id set name -> rule keys whose values are ids, unique within one file."""
    references: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    """kind -> rule key -> the id set its every value must name (steps[].needs[] -> step)."""


def validate_files(files: Mapping[str, FileEntry]) -> ValidationReport:
    """Every problem in a set of catalog files, as ``path:line: message`` sorted by path."""
    parsed = parse_catalog(files)
    problems = list(parsed.problems)
    schema = _load_schema(files, problems)
    rules = _load_rules(files, problems)
    for path, (kind, doc, text) in sorted(parsed.documents.items()):
        if schema is not None:
            problems += _schema_problems(schema, kind, path, doc, text)
        if rules is not None:
            problems += _rule_problems(rules, kind, path, doc, text)
    if rules is not None:
        problems += _template_problems(rules, parsed, files)
    ordered = sorted(set(problems), key=lambda p: (p.path, p.line, p.message))
    return ValidationReport(
        files=len(files), entries=parsed.size, problems=[str(p) for p in ordered]
    )


def _load_schema(files: Mapping[str, FileEntry], problems: list[Problem]) -> SafeSchema | None:
    entry = files.get(SCHEMA_PATH)
    if entry is None:
        problems.append(Problem(SCHEMA_PATH, 1, "missing: the catalog needs a JSON Schema here"))
        return None
    if entry.escapes:
        return None  # parse_catalog reports the symlink
    try:
        text = entry.data.decode("utf-8")
        schema = json.loads(text)
    except UnicodeDecodeError as exc:
        problems.append(Problem(SCHEMA_PATH, 1, f"not UTF-8 text ({exc.reason})"))
        return None
    except json.JSONDecodeError as exc:
        problems.append(Problem(SCHEMA_PATH, exc.lineno, f"malformed JSON: {exc.msg}"))
        return None
    except RecursionError:
        problems.append(Problem(SCHEMA_PATH, 1, "malformed JSON: nested too deeply"))
        return None
    if not isinstance(schema, dict):
        problems.append(Problem(SCHEMA_PATH, 1, "the schema must be a JSON object"))
        return None
    cls = validator_class(schema)
    if cls is None:
        problems.append(
            Problem(
                SCHEMA_PATH,
                json_line(text, "$schema", str(schema["$schema"])),
                f"unknown $schema {schema['$schema']!r}: use a JSON Schema draft's URI",
            )
        )
        return None
    found = [
        Problem(SCHEMA_PATH, json_line(text, key), message)
        for key, message in schema_findings(schema)
    ]
    if found:  # before the metaschema, whose "is not a 'regex'" would not say why
        problems += found
        return None
    try:
        cls.check_schema(schema, format_checker=format_checker())
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        line = 1
        if exc.path:
            value = exc.instance if isinstance(exc.instance, str) else None
            line = json_line(text, str(exc.path[-1]), value)
        problems.append(
            Problem(SCHEMA_PATH, line, f"not a valid JSON Schema: {where}: {exc.message}")
        )
        return None
    except RecursionError:
        problems.append(Problem(SCHEMA_PATH, 1, "not a valid JSON Schema: nested too deeply"))
        return None
    safe = SafeSchema(schema, text, cls, files)
    found = list(safe.ref_problems(SCHEMA_PATH))
    if found:
        problems += found
        return None
    return safe


def _load_rules(files: Mapping[str, FileEntry], problems: list[Problem]) -> _Rules | None:
    entry = files.get(RULES_PATH)
    if entry is None:
        problems.append(Problem(RULES_PATH, 1, "missing: the catalog needs its validation rules"))
        return None
    if entry.escapes:
        return None  # parse_catalog reports the symlink
    try:
        text = entry.data.decode("utf-8")
        raw = yaml.safe_load(text) or {}
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        problems.append(Problem(RULES_PATH, 1, f"not UTF-8 text ({exc.reason})"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problems.append(
            Problem(RULES_PATH, line, f"malformed YAML: {getattr(exc, 'problem', exc)}")
        )
        return None
    except RecursionError:
        problems.append(Problem(RULES_PATH, 1, "malformed YAML: nested too deeply"))
        return None
    if _expanded_size(tree, MAX_RULE_VALUES) > MAX_RULE_VALUES:
        problems.append(
            Problem(
                RULES_PATH,
                1,
                f"more than {MAX_RULE_VALUES} values once YAML aliases are expanded "
                "(an alias bomb would exhaust memory)",
            )
        )
        return None
    errors = sorted(
        jsonschema.Draft202012Validator(_RULES_SCHEMA).iter_errors(raw), key=lambda e: list(e.path)
    )
    if errors:
        for error in errors:
            where = ".".join(str(p) for p in error.absolute_path) or "(top)"
            line = yaml_line(tree, list(error.absolute_path))
            problems.append(Problem(RULES_PATH, line, f"{where}: {error.message}"))
        return None
    rules = _Rules()
    for kind, spec in (raw.get("kinds") or {}).items():
        rules.required[kind] = list(spec.get("required", []))
        rules.allowed[kind] = dict(spec.get("allowed", {}))
        usable: dict[str, str] = {}
        for key, pattern in spec.get("patterns", {}).items():
            try:
                compile_pattern(pattern)
            except BadPattern as exc:
                line = yaml_line(tree, ["kinds", kind, "patterns", key])
                problems.append(Problem(RULES_PATH, line, f"kinds.{kind}.patterns.{key}: {exc}"))
            else:
                usable[key] = pattern
        rules.patterns[kind] = usable
        rules.ids[kind] = {name: list(keys) for name, keys in spec.get("ids", {}).items()}
        rules.references[kind] = {}
        for key, id_set in spec.get("references", {}).items():
            if id_set in rules.ids[kind]:
                rules.references[kind][key] = id_set
            else:
                line = yaml_line(tree, ["kinds", kind, "references", key])
                known = sorted(rules.ids[kind])
                problems.append(
                    Problem(
                        RULES_PATH,
                        line,
                        f"kinds.{kind}.references.{key}: no id set {id_set!r} under "
                        f"kinds.{kind}.ids (known: {known})",
                    )
                )
        if "categories" in spec:
            rules.categories = tuple(spec["categories"])
        if "max_bytes" in spec:
            rules.max_bytes[kind] = int(spec["max_bytes"])
    return rules


def _expanded_size(root: yaml.Node | None, cap: int) -> int:
    """How many values the document holds with every alias expanded, counting up to past ``cap``.

    Aliases share nodes, so a few lines can stand for billions of values; anything that
    walks or prints the loaded rules (jsonschema's messages do) would expand them all.
    """
    count = 0
    stack = [root] if root is not None else []
    while stack and count <= cap:
        node = stack.pop()
        count += 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return count


def yaml_line(node: yaml.Node | None, path: list[str | int]) -> int:
    """The 1-based line where the YAML value at ``path`` is written (its key for mappings)."""
    line = 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _schema_problems(
    schema: SafeSchema, kind: Kind, path: str, doc: dict[str, Any], text: str
) -> Iterator[Problem]:
    definitions = schema.schema.get("$defs")
    if isinstance(definitions, dict) and kind in definitions:
        target: dict[str, Any] = {"$defs": definitions, "$ref": f"#/$defs/{kind}"}
        for key in ("$schema", "$id"):
            if key in schema.schema:
                target[key] = schema.schema[key]
    else:
        target = schema.schema
    try:
        for error in schema.validator(target).iter_errors(doc):
            location = list(error.absolute_path)
            where = ".".join(str(p) for p in location)
            prefix = f"{where}: " if where else ""
            yield Problem(path, line_of(text, location), f"{prefix}{error.message}")
    except referencing.exceptions.Unresolvable as exc:
        ref = str(getattr(exc, "ref", "") or "")
        yield Problem(SCHEMA_PATH, json_line(schema.text, "$ref", ref), ref_message(ref, exc))
    except RecursionError:
        yield Problem(SCHEMA_PATH, 1, f"validating {path} never ends: the schema refers to itself")


def _values_at(doc: Any, dotted: str) -> Iterator[tuple[list[str | int], Any]]:
    """Every value at a rule key like ``session.mode`` or ``steps[].id``, with its location."""

    def walk(
        node: Any, parts: list[str], where: list[str | int]
    ) -> Iterator[tuple[list[str | int], Any]]:
        if not parts:
            yield where, node
            return
        head, rest = parts[0], parts[1:]
        each = head.endswith("[]")
        key = head[:-2] if each else head
        if not isinstance(node, dict) or key not in node:
            return
        value = node[key]
        if each:
            for i, item in enumerate(value if isinstance(value, list) else []):
                yield from walk(item, rest, [*where, key, i])
        else:
            yield from walk(value, rest, [*where, key])

    yield from walk(doc, dotted.split("."), [])


def _rule_problems(
    rules: _Rules, kind: Kind, path: str, doc: dict[str, Any], text: str
) -> Iterator[Problem]:
    limit = rules.max_bytes.get(kind)
    if limit is not None and len(text.encode()) > limit:
        yield Problem(path, 1, f"file is larger than {limit} bytes")
    for key in rules.required.get(kind, []):
        if "[]" in key:
            container, _, leaf = key.rpartition(".")
            for where, item in _values_at(doc, container) if container else []:
                if isinstance(item, dict) and leaf not in item:
                    yield Problem(path, line_of(text, where), f"missing required key {key!r}")
        elif not list(_values_at(doc, key)):
            yield Problem(path, 1, f"missing required key {key!r}")
    for key, allowed in rules.allowed.get(kind, {}).items():
        for where, value in _values_at(doc, key):
            if value not in allowed:
                yield Problem(
                    path, line_of(text, where), f"{key} = {value!r} is not one of {allowed}"
                )
    for key, pattern in rules.patterns.get(kind, {}).items():
        for where, value in _values_at(doc, key):
            if not isinstance(value, str) or not fullmatch(pattern, value):
                yield Problem(
                    path,
                    line_of(text, where),
                    f"{key} = {value!r} does not match the pattern {pattern!r}",
                )
    yield from _id_problems(rules, kind, path, doc, text)


def _id_problems(
    rules: _Rules, kind: Kind, path: str, doc: dict[str, Any], text: str
) -> Iterator[Problem]:
    """Ids unique within the file; every reference (``needs``) names one of them."""
    known: dict[str, set[str]] = {}
    for name, keys in rules.ids.get(kind, {}).items():
        first: dict[str, list[str | int]] = {}
        for key in keys:
            for where, value in _values_at(doc, key):
                if not isinstance(value, str):
                    continue
                if value in first:  # lines are looked up only for problems: line_of scans
                    yield Problem(
                        path,
                        line_of(text, where),
                        f"duplicate {name} id {value!r} "
                        f"(first at line {line_of(text, first[value])})",
                    )
                else:
                    first[value] = where
        known[name] = set(first)
    edges: dict[str, dict[str, dict[str, tuple[str, list[str | int]]]]] = {}
    for key, name in rules.references.get(kind, {}).items():
        leaf = rules.ids[kind][name][0].rpartition(".")[2] if rules.ids[kind][name] else ""
        for where, value in _values_at(doc, key):
            if value not in known.get(name, set()):
                yield Problem(
                    path,
                    line_of(text, where),
                    f"{key} = {value!r} is not a {name} id in this file "
                    f"(known: {', '.join(sorted(known.get(name, set()))) or 'none'})",
                )
                continue
            owner = _node_at(doc, where[:-2]) if "[]" in key.rpartition(".")[2] else None
            source = owner.get(leaf) if isinstance(owner, dict) else None
            if isinstance(source, str) and source in known[name]:
                edges.setdefault(name, {}).setdefault(source, {})[value] = (key, where)
    for name, graph in edges.items():
        for cycle in _cycles(graph):
            key, where = graph[cycle[-2]][cycle[-1]]
            yield Problem(
                path,
                line_of(text, where),
                f"{key} = {cycle[-1]!r} closes a cycle of {name}s: {' -> '.join(cycle)}",
            )


def _node_at(doc: Any, where: list[str | int]) -> Any:
    node = doc
    for part in where:
        node = node[part]
    return node


def _cycles(graph: dict[str, dict[str, Any]]) -> Iterator[list[str]]:
    """One path ``a -> ... -> a`` per cycle found by a depth-first walk (iterative: no limit)."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        stack = [iter(sorted(graph.get(start, {})))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
                continue
            if step in on_path:
                yield [*path[path.index(step) :], step]
            elif step not in done:
                path.append(step)
                on_path.add(step)
                stack.append(iter(sorted(graph.get(step, {}))))


def _template_problems(
    rules: _Rules, parsed: ParsedCatalog, files: Mapping[str, FileEntry]
) -> Iterator[Problem]:
    limit = rules.max_bytes.get("template")
    for template in parsed.templates.values():
        if template.category not in rules.categories:
            yield Problem(
                template.path,
                1,
                f"unknown template category {template.category!r}: expected one of "
                f"{list(rules.categories)}",
            )
        if limit is not None and len(files[template.path].data) > limit:
            yield Problem(template.path, 1, f"template is larger than {limit} bytes")
