"""The federation plane under generated TOML, YAML and JSON files, names and paths: only
DoltplaneErrors, and nothing a refused call touches is committed or pushed."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from doltplane.config import ENVIRONMENT_VARIABLES, Settings
from doltplane.federation import Federation

from . import strategies as s
from .budget import fuzz_settings
from .harness import Snapshot, attempt

pytestmark = pytest.mark.fuzz


ROLE = 'role = "{name}"\nscope = "rig"\ndescription = "A role."\n'


def isolate(env: pytest.MonkeyPatch, home: Path) -> None:
    """No global git config, no DOLTPLANE_* variables, a fixed commit identity."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    for variable in ENVIRONMENT_VARIABLES.values():
        env.delenv(variable, raising=False)
    env.setenv("HOME", str(home))
    env.setenv("GIT_CONFIG_NOSYSTEM", "1")
    env.setenv("GIT_CONFIG_GLOBAL", str(config))
    for who in ("AUTHOR", "COMMITTER"):
        env.setenv(f"GIT_{who}_NAME", "Fuzz")
        env.setenv(f"GIT_{who}_EMAIL", "fuzz@example.test")


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    base = tmp_path_factory.mktemp("fuzz-federation")
    with pytest.MonkeyPatch.context() as env:
        isolate(env, base / "home")
        remote = Federation.init_shared(str(base / "shared.git"))
        site = Federation(Settings(data_dir=base / "site", site="fuzz"))
        site.init(remote)
        yield site


def _git(fed: Federation, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", fed.path, *args], check=True, capture_output=True, text=True
    ).stdout


def repo_snapshot(fed: Federation) -> Snapshot:
    """Every ref of the clone and of its remote: a commit or push anywhere changes it."""
    return lambda: (_git(fed, "show-ref"), _git(fed, "ls-remote", "origin"))


def _restore(fed: Federation) -> None:
    _git(fed, "reset", "-q", "--hard", "HEAD")
    _git(fed, "clean", "-qfdx")


# --- TOML documents ----------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else "nan"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return (
        "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    )


toml_scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | s.printable
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(s.printable.filter(bool), inner, max_size=3)
    ),
    max_leaves=8,
)
toml_keys = st.sampled_from(
    ["role", "scope", "description", "formula", "version", "steps", "session", "env", "needs"]
) | st.from_regex(r"[a-z_]{1,10}", fullmatch=True)


def toml_document(pairs: dict[str, Any]) -> str:
    return "".join(f"{key} = {toml_value(value)}\n" for key, value in pairs.items())


step = st.fixed_dictionaries(
    {"id": s.printable},
    optional={"title": s.printable, "needs": st.lists(s.printable, max_size=3)},
)
formula_docs = st.builds(
    lambda head, steps: (
        toml_document(head) + "".join("\n[[steps]]\n" + toml_document(one) for one in steps)
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "formula": s.printable | st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
            "version": st.integers(-3, 2**70) | s.printable | st.floats(),
            "description": s.printable,
        },
    ),
    st.lists(step, max_size=4),
)
role_docs = st.builds(
    toml_document,
    st.fixed_dictionaries(
        {},
        optional={
            "role": s.printable | st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
            "scope": st.sampled_from(["rig", "town", "site"]) | s.printable,
            "description": s.printable,
        },
    ),
)
toml_texts = (
    role_docs
    | formula_docs
    | st.builds(toml_document, st.dictionaries(toml_keys, toml_values, max_size=5))
    | s.printable
    | st.sampled_from(["[", "a = ", "a = 1\na = 2", "[[steps]]\nid = 1", 'x = """', "\x00"])
)
file_names = st.from_regex(r"[a-z][a-z0-9._-]{0,15}", fullmatch=True)


@fuzz_settings()
@given(
    folder=st.sampled_from(["roles", "formulas"]),
    name=file_names,
    text=toml_texts,
    raw=st.none() | st.binary(max_size=40),
    push=st.integers(0, 9),
)
def test_toml_files(
    fed: Federation, folder: str, name: str, text: str, raw: bytes | None, push: int
) -> None:
    suffix = ".formula.toml" if folder == "formulas" else ".toml"
    path = Path(fed.path) / folder / (name + suffix)
    try:
        if raw is not None:
            path.write_bytes(raw)
        else:
            path.write_text(text, encoding="utf-8")
        snapshot = repo_snapshot(fed)
        report = attempt("federation.validate(toml)", fed.validate, snapshot)
        if push == 0 and not isinstance(report, Exception) and report.problems:
            # a push of an invalid catalog is refused before anything is committed
            attempt("federation.push(invalid toml)", lambda: fed.push(topic="fuzz"), snapshot)
    finally:
        _restore(fed)


@fuzz_settings()
@example(kind="role", name="\x00", version=None)  # was a ValueError from subprocess
@given(
    kind=st.sampled_from(["role", "formula", "template"]) | s.texts,
    name=st.sampled_from(["polecat", "mol-witness-patrol", "agent-prompts/polecat.md.tmpl"])
    | s.texts
    | st.sampled_from(["../config/rig-schema.json", "/etc/passwd", "..", ".", "a/../../b"]),
    version=st.none() | st.integers(-2, 2**70) | s.texts,
)
def test_lookups_and_paths(fed: Federation, kind: str, name: str, version: Any) -> None:
    snapshot = repo_snapshot(fed)
    attempt("federation.get", lambda: fed.get(kind, name, version), snapshot)
    attempt("federation.list", lambda: fed.list(kind), snapshot)
    attempt("federation.versions", lambda: fed.versions(name), snapshot)
    attempt("federation.validate_revision", lambda: fed.validate_revision(name), snapshot)


@fuzz_settings(0.5)
@given(
    path=s.texts | st.sampled_from(["../x", "/etc/passwd", "roles/polecat.toml", ".git/config"]),
    side=st.sampled_from(["ours", "theirs"]),
)
def test_resolve_paths(fed: Federation, path: str, side: Any) -> None:
    snapshot = repo_snapshot(fed)
    attempt("federation.resolve(path)", lambda: fed.resolve(path, side), snapshot)
    attempt("federation.mark_resolved(path)", lambda: fed.mark_resolved(path), snapshot)


@fuzz_settings(0.3)
@given(topic=s.branch_names)
def test_push_topics(fed: Federation, topic: str) -> None:
    path = Path(fed.path) / "roles" / "fuzz-topic.toml"
    try:
        path.write_text(ROLE.format(name="fuzz-topic"), encoding="utf-8")
        attempt("federation.push(topic)", lambda: fed.push(topic=topic), repo_snapshot(fed))
    finally:
        _restore(fed)


# --- rules and schema files (h7 is bounding regexes and $ref right now) -----------------

rule_patterns = s.printable | st.sampled_from(["(", "[a-", "^[a-z]+$", "(?P<x>", "\\", "a{99999}"])
rules_docs = st.builds(
    lambda kinds, version: yaml.safe_dump({"version": version, "kinds": kinds}),
    st.dictionaries(
        st.sampled_from(["role", "formula", "template"]) | s.printable,
        st.fixed_dictionaries(
            {},
            optional={
                "required": st.lists(s.printable | st.just("steps[].id"), max_size=3),
                "allowed": st.dictionaries(
                    s.printable, st.lists(s.printable, max_size=3), max_size=2
                ),
                "patterns": st.dictionaries(
                    st.sampled_from(["role", "formula", "steps[].id"]) | s.printable,
                    rule_patterns,
                    max_size=2,
                ),
                "max_bytes": st.integers(-5, 2**70) | s.printable,
                "categories": st.lists(s.printable, max_size=2),
            },
        )
        | s.json_values,
        max_size=3,
    ),
    st.integers(-1, 3) | s.printable,
)
yaml_texts = (
    rules_docs
    | st.builds(yaml.safe_dump, s.json_values)
    | s.printable
    | st.sampled_from(["a: [", "!!python/object:os.system ls", "a: &x 1\nb: *x", "- - -", ":"])
)


@fuzz_settings(0.5)
@given(text=yaml_texts)
def test_rules_yaml(fed: Federation, text: str) -> None:
    path = Path(fed.path) / "config" / "validation-rules.yaml"
    try:
        path.write_text(text, encoding="utf-8")
        attempt("federation.validate(rules yaml)", fed.validate, repo_snapshot(fed))
    finally:
        _restore(fed)


schema_docs = st.builds(
    json.dumps,
    st.fixed_dictionaries(
        {
            "$defs": st.dictionaries(
                st.sampled_from(["role", "formula", "template"]),
                s.json_objects
                | st.fixed_dictionaries(
                    {"$ref": st.sampled_from(["#/nope", "other.json", "#", "#/$defs/role"])}
                ),
                max_size=3,
            )
        },
        optional={
            "type": st.sampled_from(["object", "nonsense", "string"]),
            "$schema": s.printable,
        },
    )
    | s.json_values,
)


@fuzz_settings(0.5)
@given(text=schema_docs | s.printable)
def test_schema_json(fed: Federation, text: str) -> None:
    path = Path(fed.path) / "config" / "rig-schema.json"
    try:
        path.write_text(text, encoding="utf-8")
        attempt("federation.validate(schema json)", fed.validate, repo_snapshot(fed))
    finally:
        _restore(fed)


def test_the_fixture_catalog_is_valid(fed: Federation) -> None:
    assert fed.validate().problems == []
