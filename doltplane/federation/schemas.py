"""``config/rig-schema.json``, checked and run without leaving the repository.

The schema comes from other sites, so two things jsonschema would do by
default are closed off:

- ``$ref``: the registry's retrieve function serves only JSON files under the
  repository's ``config/`` folder, from the files being validated (never the
  disk, never the network). A reference is read relative to the schema that
  holds it (the root schema's ``$id``, when it has one, stands for
  ``config/``); anything else (another host, ``file:``, an absolute path,
  ``..`` out of ``config/``) is refused and reported as a problem.
- regular expressions: ``pattern``, ``patternProperties`` and the
  ``additionalProperties`` that depends on them run on RE2
  (:mod:`doltplane.federation.patterns`). ``unevaluatedProperties`` is refused:
  jsonschema evaluates it with Python's backtracking ``re``.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema  # type: ignore[import-untyped]
import referencing
import referencing.exceptions
import referencing.jsonschema

from doltplane.federation.models import Problem
from doltplane.federation.patterns import BadPattern, compile_pattern, search
from doltplane.federation.repo import FileEntry

CONFIG_DIR = "config"

# Keywords whose value maps names to subschemas: their keys are names, not keywords.
_NAMED_SCHEMAS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
# Keywords whose value is data, never a schema.
_DATA = frozenset({"enum", "const", "default", "examples"})


class RefRefused(Exception):
    """A ``$ref`` that would leave the repository's ``config/`` folder, or names nothing in it."""


def schema_findings(schema: Any) -> Iterator[tuple[str, str]]:
    """(keyword or $ref value, message) for each pattern RE2 refuses and each refused keyword."""
    if isinstance(schema, list):
        for item in schema:
            yield from schema_findings(item)
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key in _DATA:
            continue
        if key == "pattern" and isinstance(value, str):
            yield from _pattern_finding(value)
        elif key == "unevaluatedProperties":
            yield (
                key,
                "unevaluatedProperties is not supported here (jsonschema runs it with Python's "
                "backtracking regex engine); use additionalProperties",
            )
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            if key == "patternProperties":
                for pattern in value:
                    yield from _pattern_finding(pattern)
            for sub in value.values():
                yield from schema_findings(sub)
        elif isinstance(value, dict | list):
            yield from schema_findings(value)


def _pattern_finding(pattern: str) -> Iterator[tuple[str, str]]:
    try:
        compile_pattern(pattern)
    except BadPattern as exc:
        yield pattern, f"pattern {pattern!r}: {exc}"


def refs_in(schema: Any, base: str = "") -> Iterator[tuple[str, str]]:
    """Every (base URI, ``$ref``) in a schema, following ``$id`` changes of base."""
    if isinstance(schema, list):
        for item in schema:
            yield from refs_in(item, base)
        return
    if not isinstance(schema, dict):
        return
    own_id = schema.get("$id")
    if isinstance(own_id, str):
        base = urljoin(base, own_id)
    for key, value in schema.items():
        if key in _DATA:
            continue
        if key in ("$ref", "$dynamicRef") and isinstance(value, str):
            yield base, value
        elif key in _NAMED_SCHEMAS and isinstance(value, dict):
            for sub in value.values():
                yield from refs_in(sub, base)
        elif isinstance(value, dict | list):
            yield from refs_in(value, base)


def config_path(uri: str, base_dir: str) -> str:
    """The repository path a retrieved URI stands for, or RefRefused."""
    if base_dir and uri.startswith(base_dir):
        relative = uri[len(base_dir) :]
    else:
        parts = urlsplit(uri)
        if parts.scheme or parts.netloc:
            raise RefRefused(f"{uri!r} is outside the repository (only files under config/)")
        relative = uri
    relative = unquote(urlsplit(relative).path)
    if not relative or relative.startswith("/"):
        raise RefRefused(f"{uri!r} is outside the repository (only files under config/)")
    normal = posixpath.normpath(relative)
    if normal == ".." or normal.startswith("../"):
        raise RefRefused(f"{uri!r} climbs out of config/")
    return f"{CONFIG_DIR}/{normal}"


def _retriever(
    files: Mapping[str, FileEntry],
    base_dir: str,
    default: referencing.Specification[Any],
    cls: Any,
) -> Callable[[str], referencing.Resource[Any]]:
    """Serve ``config/`` files, each checked as the root schema was before it is used."""

    def retrieve(uri: str) -> referencing.Resource[Any]:
        path = config_path(uri, base_dir)
        entry = files.get(path)
        if entry is None or entry.escapes:
            raise RefRefused(f"{path} is not a file in the repository")
        try:
            contents = json.loads(entry.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RefRefused(f"{path} is not a JSON document ({exc})") from None
        except RecursionError:
            raise RefRefused(f"{path} is nested too deeply") from None
        for _, message in schema_findings(contents):
            raise RefRefused(f"{path}: {message}")
        own = validator_class(contents) if isinstance(contents, dict) else cls
        if own is None:
            raise RefRefused(f"{path} names a $schema doltplane does not know")
        try:
            own.check_schema(contents, format_checker=format_checker())
        except jsonschema.SchemaError as exc:
            raise RefRefused(f"{path} is not a valid JSON Schema: {exc.message}") from None
        except RecursionError:
            raise RefRefused(f"{path} is nested too deeply") from None
        try:
            return referencing.Resource.from_contents(contents, default_specification=default)
        except (
            referencing.exceptions.CannotDetermineSpecification,
            referencing.jsonschema.UnknownDialect,
        ):
            raise RefRefused(f"{path} names a $schema doltplane does not know") from None

    return retrieve


def _pattern(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "string") or not isinstance(pattern, str):
        return  # a non-text pattern never gets here: every schema is checked by its metaschema
    try:
        matched = search(pattern, instance)
    except BadPattern as exc:
        yield jsonschema.ValidationError(f"pattern {pattern!r}: {exc}")
        return
    if not matched:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            try:
                matched = search(pattern, key)
            except BadPattern as exc:
                yield jsonschema.ValidationError(f"pattern {pattern!r}: {exc}")
                break
            if matched:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = []
    for key in instance:
        if key in declared:
            continue
        try:
            if any(search(pattern, key) for pattern in patterns):
                continue
        except BadPattern as exc:
            yield jsonschema.ValidationError(str(exc))
            return
        extras.append(key)
    if validator.is_type(additional, "object"):
        for key in extras:
            yield from validator.descend(instance[key], additional, path=key)
    elif additional is False:
        for key in extras:  # one problem per key, so each points at its own line
            yield jsonschema.ValidationError("not allowed here (additionalProperties)", path=[key])


_RE2_KEYWORDS = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}
_SAFE_CLASSES: dict[Any, Any] = {}


def validator_class(schema: dict[str, Any]) -> Any:
    """The jsonschema class for the schema's ``$schema`` with RE2 patterns, or None if unknown."""
    if "$schema" in schema:
        base = jsonschema.validators.validator_for(schema, default=None)
        if base is None:
            return None
    else:
        base = jsonschema.Draft202012Validator
    if base not in _SAFE_CLASSES:
        _SAFE_CLASSES[base] = jsonschema.validators.extend(base, validators=_RE2_KEYWORDS)
    return _SAFE_CLASSES[base]


def format_checker() -> Any:
    """The metaschema's ``format: regex`` checked by RE2, so RE2 syntax is what schemas use."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("regex", raises=BadPattern)(
        lambda value: not isinstance(value, str) or compile_pattern(value) is not None
    )
    return checker


class SafeSchema:
    """A loaded root schema: its validator class and a registry that stays inside config/."""

    def __init__(
        self, schema: dict[str, Any], text: str, cls: Any, files: Mapping[str, FileEntry]
    ) -> None:
        self.schema = schema
        self.text = text
        self.cls = cls
        specification = referencing.jsonschema.specification_with(
            cls.META_SCHEMA.get("$schema", ""), default=referencing.jsonschema.DRAFT202012
        )
        self.root = specification.create_resource(schema)
        root_id = self.root.id() or ""
        parts = urlsplit(root_id)
        self.base_dir = urljoin(root_id, ".") if parts.scheme and parts.netloc else ""
        registry: referencing.Registry[Any] = referencing.Registry(  # type: ignore[call-arg]
            retrieve=_retriever(files, self.base_dir, specification, cls)
        )
        self.registry = registry.with_resource(root_id, self.root)

    def ref_problems(self, path: str) -> Iterator[Problem]:
        """Each ``$ref`` that does not resolve inside the repository."""
        for base, ref in refs_in(self.schema, self.root.id() or ""):
            try:
                self.registry.resolver(base_uri=base).lookup(ref)
            except referencing.exceptions.Unresolvable as exc:
                yield Problem(path, json_line(self.text, "$ref", ref), ref_message(ref, exc))

    def validator(self, target: dict[str, Any]) -> Any:
        return self.cls(target, registry=self.registry)


def ref_message(ref: str, exc: BaseException) -> str:
    """Why a ``$ref`` did not resolve, from the refusal when there was one."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, RefRefused):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return f"$ref {ref!r} refused: {cause}"
    if isinstance(exc, referencing.exceptions.PointerToNowhere):
        return f"$ref {ref!r} points to nothing in its schema"
    return f"$ref {ref!r} does not resolve inside the repository"


def json_line(text: str, key: str, value: str | None = None) -> int:
    """The 1-based line of ``"key": "value"`` (of ``"key":`` when value is None) in JSON text."""
    quoted_key = json.dumps(key, ensure_ascii=False)
    needle = quoted_key if value is None else json.dumps(value, ensure_ascii=False)
    fallback = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            if quoted_key in line:
                return number
            fallback = fallback or number
    return fallback or 1
