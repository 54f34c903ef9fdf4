"""Federation files come from other sites: a pulled schema or rules file must stay harmless.

A ``$ref`` resolves only to files under the repository's ``config/`` (no
network, no local files), and every regular expression a pulled file supplies
runs on RE2, so no pattern can hold validate, push or review merge. Each bad
reference or pattern is one ``path:line: message`` problem, never a traceback.
"""

from __future__ import annotations

import http.server
import json
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from doltplane.cli.main import cli
from doltplane.errors import CatalogInvalid
from doltplane.federation import Federation
from doltplane.federation.repo import FileEntry
from doltplane.federation.validate import RULES_PATH, SCHEMA_PATH, validate_files

from .conftest import git, write

RULES = """\
version: 1
kinds:
  role:
    required: [role]
    patterns:
      role: "^[a-z][a-z0-9-]*$"
"""

ROLE = 'role = "worker"\nscope = "rig"\ndescription = "plain"\n'


def schema_text(role: dict[str, object], **top: object) -> str:
    """A schema laid out one key per line, so problems can name exact lines."""
    return json.dumps({**top, "$defs": {"role": role}}, indent=2)


def catalog(schema: str, rules: str = RULES, **extra: str) -> dict[str, FileEntry]:
    files = {SCHEMA_PATH: schema, RULES_PATH: rules, "roles/worker.toml": ROLE, **extra}
    return {path: FileEntry(data=text.encode()) for path, text in files.items()}


def line_containing(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b'{"type": "object", "properties": {"role": {"const": "fetched"}}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def schema_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that would serve a schema, counting every request."""
    hits: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_ref_to_a_url_is_refused_without_any_request(
    schema_server: tuple[str, list[str]],
) -> None:
    url, hits = schema_server
    text = schema_text({"$ref": f"{url}/role.json"})
    report = validate_files(catalog(text))
    line = line_containing(text, "$ref")
    assert f"{SCHEMA_PATH}:{line}: $ref '{url}/role.json' refused:" in "\n".join(report.problems)
    assert "outside the repository" in "\n".join(report.problems)
    assert hits == []


@pytest.mark.parametrize("form", ["file-url", "absolute", "climbing"])
def test_ref_to_a_local_file_outside_config_is_refused(tmp_path: Path, form: str) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"description": "TOP-SECRET-MARKER", "type": "integer"}', encoding="utf-8")
    ref = {
        "file-url": secret.as_uri(),
        "absolute": str(secret),
        "climbing": "../" * 30 + str(secret).lstrip("/"),
    }[form]
    text = schema_text({"$ref": ref})
    report = validate_files(catalog(text))
    joined = "\n".join(report.problems)
    assert f"{SCHEMA_PATH}:{line_containing(text, '$ref')}: $ref {ref!r} refused:" in joined
    assert "TOP-SECRET-MARKER" not in joined
    assert "not of type 'integer'" not in joined  # the secret schema was never applied


def test_ref_to_a_repository_file_outside_config_is_refused() -> None:
    text = schema_text({"$ref": "../roles/worker.toml"})
    report = validate_files(catalog(text))
    assert report.problems == [
        f"{SCHEMA_PATH}:{line_containing(text, '$ref')}: $ref '../roles/worker.toml' refused: "
        "'../roles/worker.toml' climbs out of config/"
    ]


def test_unreachable_ref_is_a_problem_not_a_traceback() -> None:
    text = schema_text({"$ref": "missing.json#/$defs/role"})
    report = validate_files(catalog(text))
    assert report.problems == [
        f"{SCHEMA_PATH}:{line_containing(text, '$ref')}: $ref 'missing.json#/$defs/role' "
        "refused: config/missing.json is not a file in the repository"
    ]


def test_ref_pointing_to_nothing_is_a_problem() -> None:
    text = schema_text({"$ref": "#/$defs/nowhere"})
    report = validate_files(catalog(text))
    assert report.problems == [
        f"{SCHEMA_PATH}:{line_containing(text, '$ref')}: "
        "$ref '#/$defs/nowhere' points to nothing in its schema"
    ]


def test_schema_that_refers_to_itself_forever_is_a_problem() -> None:
    text = schema_text({"$ref": "#/$defs/role"})
    report = validate_files(catalog(text))
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"{SCHEMA_PATH}:1: validating roles/worker.toml never")


@pytest.mark.parametrize("with_id", [True, False])
def test_ref_to_a_schema_under_config_is_used(with_id: bool) -> None:
    """Splitting the schema across files under config/ keeps working, with or without $id."""
    top = {"$id": "https://catalog.example/config/rig-schema.json"} if with_id else {}
    text = schema_text({"$ref": "parts/role.json"}, **top)
    part = json.dumps(
        {"type": "object", "properties": {"scope": {"enum": ["rig", "town"]}}}, indent=2
    )
    good = validate_files(catalog(text, **{"config/parts/role.json": part}))
    assert good.problems == []
    bad = validate_files(
        catalog(
            text,
            **{"config/parts/role.json": part, "roles/other.toml": 'role = "other"\nscope = "x"\n'},
        )
    )
    assert bad.problems == ["roles/other.toml:2: scope: 'x' is not one of ['rig', 'town']"]


def test_ref_leaving_the_ids_folder_is_refused() -> None:
    top = {"$id": "https://catalog.example/config/rig-schema.json"}
    text = schema_text({"$ref": "https://elsewhere.example/role.json"}, **top)
    report = validate_files(catalog(text))
    assert len(report.problems) == 1
    assert "refused" in report.problems[0] and "outside the repository" in report.problems[0]


def test_referenced_schema_with_a_bad_pattern_is_refused() -> None:
    text = schema_text({"$ref": "part.json"})
    part = json.dumps({"properties": {"role": {"pattern": "(a)\\1"}}})
    report = validate_files(catalog(text, **{"config/part.json": part}))
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"{SCHEMA_PATH}:{line_containing(text, '$ref')}: ")
    assert (
        "config/part.json: pattern '(a)\\\\1': RE2 cannot use this pattern" in (report.problems[0])
    )


def test_bad_patterns_are_path_line_problems() -> None:
    rules = RULES.replace('"^[a-z][a-z0-9-]*$"', '"^[a-z]+(?=x)"')
    role = {"properties": {"description": {"pattern": "(a)\\1"}}}
    text = schema_text(role)
    report = validate_files(catalog(text, rules))
    assert report.problems == [
        f"{SCHEMA_PATH}:{line_containing(text, 'pattern')}: pattern '(a)\\\\1': "
        "RE2 cannot use this pattern: invalid escape sequence: \\1",
        f"{RULES_PATH}:6: kinds.role.patterns.role: RE2 cannot use this pattern: "
        "invalid perl operator: (?=",
    ]


def test_invalid_rule_pattern_points_at_its_line() -> None:
    rules = RULES.replace('"^[a-z][a-z0-9-]*$"', '"^[a-z"')
    report = validate_files(catalog(schema_text({"type": "object"}), rules))
    assert report.problems == [
        f"{RULES_PATH}:6: kinds.role.patterns.role: RE2 cannot use this pattern: missing ]: [a-z"
    ]


def test_unevaluated_properties_is_refused() -> None:
    text = schema_text({"unevaluatedProperties": False, "patternProperties": {"^x": {}}})
    report = validate_files(catalog(text))
    assert len(report.problems) == 1
    assert report.problems[0].startswith(
        f"{SCHEMA_PATH}:{line_containing(text, 'unevaluatedProperties')}: unevaluatedProperties"
    )


def test_schema_patterns_use_re2_syntax_and_semantics() -> None:
    """``\\pL`` is RE2 syntax (not Python's); patternProperties and additionalProperties agree."""
    role = {
        "properties": {"description": {"pattern": "^\\pL+$"}, "role": {}, "scope": {}},
        "patternProperties": {"^x-[a-z]+$": {"type": "integer"}},
        "additionalProperties": False,
    }
    files = catalog(schema_text(role))
    assert validate_files(files).problems == []
    files["roles/worker.toml"] = FileEntry(
        data=(ROLE.replace("plain", "plain 2") + 'x-size = "big"\nother = 1\n').encode()
    )
    assert validate_files(files).problems == [
        "roles/worker.toml:3: description: 'plain 2' does not match '^\\\\pL+$'",
        "roles/worker.toml:4: x-size: 'big' is not of type 'integer'",
        "roles/worker.toml:5: other: not allowed here (additionalProperties)",
    ]


# The hang cases run in a child process: on a backtracking engine they never end, and a
# pattern holds the GIL, so only a process boundary can stop one. The bound is a hang
# guard, not a speed assertion.
HANG_GUARD_SECONDS = 300
EVIL = "(a+)+$"
EVIL_VALUE = "a" * 64 + "!"


def _limit_memory() -> None:
    """A blow-up in the child fails it instead of exhausting the shared machine."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def run_validate(files: dict[str, FileEntry]) -> list[str]:
    payload = json.dumps({path: entry.data.decode() for path, entry in files.items()})
    script = (
        "import json, sys\n"
        "from doltplane.federation.repo import FileEntry\n"
        "from doltplane.federation.validate import validate_files\n"
        "files = {p: FileEntry(data=t.encode()) for p, t in json.loads(sys.stdin.read()).items()}\n"
        "print(json.dumps(validate_files(files).problems))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        preexec_fn=_limit_memory,
        input=payload,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    )
    assert done.stderr == ""  # RE2 logs nothing about bad patterns either
    problems: list[str] = json.loads(done.stdout)
    return problems


def test_catastrophic_rule_pattern_cannot_hang_validate() -> None:
    rules = RULES + f'    allowed: {{}}\n  formula:\n    patterns:\n      description: "{EVIL}"\n'
    formula = f'formula = "f"\nversion = 1\ndescription = "{EVIL_VALUE}"\n'
    files = catalog(schema_text({"type": "object"}), rules, **{"formulas/f.formula.toml": formula})
    assert run_validate(files) == [
        f"formulas/f.formula.toml:3: description = '{EVIL_VALUE}' does not match the pattern "
        f"'{EVIL}'"
    ]


def test_catastrophic_schema_patterns_cannot_hang_validate() -> None:
    role = {
        "properties": {"description": {"pattern": EVIL}},
        "patternProperties": {EVIL: {"type": "integer"}},
        "additionalProperties": {"type": "string"},
    }
    worker = ROLE.replace("plain", EVIL_VALUE) + f'"{EVIL_VALUE}" = "text"\n'
    files = catalog(schema_text(role), **{"roles/worker.toml": worker})
    assert run_validate(files) == [
        f"roles/worker.toml:3: description: '{EVIL_VALUE}' does not match '{EVIL}'"
    ]


def test_yaml_alias_bomb_in_rules_is_refused() -> None:
    """Nine lines of anchors stand for 10**9 values; nothing may expand them."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = "\n".join([*lines, "version: *a8", "kinds: {}"]) + "\n"
    assert run_validate(catalog(schema_text({"type": "object"}), bomb)) == [
        f"{RULES_PATH}:1: more than 100000 values once YAML aliases are expanded "
        "(an alias bomb would exhaust memory)"
    ]


def test_pulled_hostile_schema_is_reported_and_push_refuses(
    site_a: Federation, site_b: Federation, schema_server: tuple[str, list[str]]
) -> None:
    """Another site pushes a hostile schema with plain git; this site pulls, validates, pushes."""
    url, hits = schema_server
    schema = json.loads((site_b.repo.path / SCHEMA_PATH).read_text(encoding="utf-8"))
    schema["$defs"]["role"]["$ref"] = f"{url}/role.json"
    write(site_b, SCHEMA_PATH, json.dumps(schema, indent=2))
    git(site_b, "commit", "-qam", "hostile schema")
    git(site_b, "push", "-q", "origin", "HEAD:main")
    site_a.pull()

    problems = site_a.validate().problems
    assert len(problems) == 1
    assert problems[0].startswith(f"{SCHEMA_PATH}:") and "refused" in problems[0]
    write(site_a, "roles/extra.toml", ROLE.replace("worker", "extra"))
    head = git(site_a, "rev-parse", "HEAD")
    with pytest.raises(CatalogInvalid) as caught:
        site_a.push()
    assert caught.value.problems == problems
    assert git(site_a, "rev-parse", "HEAD") == head
    assert hits == []


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        ('{"properties": {"role": {"pattern": {"not": "text"}}}}', "is not a valid JSON Schema"),
        ('{"$schema": "https://schemas.example/custom", "type": "object"}', "does not know"),
        ("[" * 100_000, "nested too deeply"),
        ("{not json", "is not a JSON document"),
    ],
)
def test_referenced_file_is_checked_like_the_schema_itself(part: str, reason: str) -> None:
    text = schema_text({"$ref": "part.json"})
    report = validate_files(catalog(text, **{"config/part.json": part}))
    assert len(report.problems) == 1
    assert report.problems[0].startswith(
        f"{SCHEMA_PATH}:{line_containing(text, '$ref')}: $ref 'part.json' refused: config/part.json"
    )
    assert reason in report.problems[0]


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (
            "roles/deep.toml",
            'role = "deep"\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n",
            "roles/deep.toml:1: malformed TOML: nested too deeply",
        ),
        (
            "roles/deep.toml",
            'role = "deep"\nx = ' + "[" * 200 + "]" * 200 + "\n",
            "roles/deep.toml:1: nested more than 64 tables or arrays deep",
        ),
        (SCHEMA_PATH, "[" * 100_000, f"{SCHEMA_PATH}:1: malformed JSON: nested too deeply"),
    ],
)
def test_deeply_nested_files_are_problems(path: str, text: str, expected: str) -> None:
    files = catalog(schema_text({"type": "object"}))
    files[path] = FileEntry(data=text.encode())
    assert expected in validate_files(files).problems


def test_cli_validate_prints_one_line_per_problem(site_a: Federation, tmp_path: Path) -> None:
    rules = (site_a.repo.path / RULES_PATH).read_text(encoding="utf-8")
    write(site_a, RULES_PATH, rules.replace('role: "^[a-z][a-z0-9._-]*$"', 'role: "(?!x)"'))
    schema = json.loads((site_a.repo.path / SCHEMA_PATH).read_text(encoding="utf-8"))
    schema["$defs"]["role"]["$ref"] = "file:///etc/passwd"
    write(site_a, SCHEMA_PATH, json.dumps(schema, indent=2))
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "site-a"), "federation", "validate"]
    )
    assert result.exit_code == CatalogInvalid.exit_code, result.output
    assert "Traceback" not in result.output
    assert result.stdout.splitlines() == site_a.validate().problems
    assert len(result.stdout.splitlines()) == 2
    assert "root:" not in result.stdout  # nothing of /etc/passwd
