"""Untrusted input stays harmless (issue 7, items 12 and 14).

The query plane reads and nothing else, within a time limit that Ctrl-C can cut short;
inputs that used to crash give one typed error (one line, the class's exit code in the
CLI) and write nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from doltplane import DataPlane, InvalidInput, connect
from doltplane.cli.main import cli
from doltplane.errors import InvalidDocument, QueryTimeout
from doltplane.store.doltlite import READ_ONLY_FUNCTIONS
from doltplane.validation import MAX_JSON_DEPTH
from tests.conftest import clear_settings_env

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"


def nested(depth: int) -> str:
    """A JSON object nested ``depth`` levels deep."""
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME: anything a query writes under ~/.doltlite shows up here."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_WRITES", "0")
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_SECONDS", "0")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--data-dir", str(tmp_path / "dp"), *args])

    assert invoke("init").exit_code == 0  # every command but init refuses a missing directory
    return invoke


def one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    # (a transient progress bar leaves a blank line when stderr is not a terminal)
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text, result.stderr
    assert "Traceback" not in result.output
    return text


def ledger_heads(dp: DataPlane) -> list[tuple[str, str]]:
    return [(b.name, b.hash) for b in dp.engine("ledger").branches()]


# --- 12. the query plane is read-only -------------------------------------------------
SIDE_EFFECTS = [
    "SELECT dolt_creds_new()",
    "SELECT dolt_creds()",
    "SELECT dolt_config('--global', '--add', 'user.name', 'x')",
    "SELECT dolt_remote('add', 'origin', 'file:///tmp/doltplane-evil')",
    "SELECT dolt_fetch('origin')",
    "SELECT dolt_gc()",
    "SELECT dolt_tag('sneaky')",
    "SELECT sqlite_log(1, 'x')",
    "SELECT fts3_tokenizer('simple')",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT * FROM issues WHERE title = dolt_creds_new()",
    "WITH x AS (SELECT dolt_creds_new() AS k) SELECT * FROM x",
]


@pytest.mark.parametrize("sql", SIDE_EFFECTS)
def test_query_refuses_every_function_not_known_to_only_read(
    dp: DataPlane, home: Path, sql: str
) -> None:
    dp.ledger.create_issue("keep me")
    before = ledger_heads(dp)
    with pytest.raises(InvalidInput, match="not authorized") as info:
        dp.query(sql)
    assert "\n" not in info.value.one_line()
    assert sorted(home.rglob("*")) == []
    assert ledger_heads(dp) == before


def test_query_cli_creds_new_is_one_line_and_writes_no_key(run, home: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init").exit_code == 0
    for _ in range(2):
        stderr = one_line_error(run("query", "SELECT dolt_creds_new()"), 3)
        assert "dolt_creds_new" in stderr
    assert not (home / ".doltlite").exists()


@pytest.mark.embedded_only("its query calls doltlite_engine()")
def test_query_still_reads_with_core_and_dolt_read_functions(dp: DataPlane, home: Path) -> None:
    issue = dp.ledger.create_issue("readable", metadata={"n": 2})
    dp.ops.set_state(issue.id, rig="r", agent="a", status="busy", state={"k": [1, 2]})
    rows = dp.query(
        "SELECT dolt_hashof('HEAD') = (SELECT commit_hash FROM dolt_log LIMIT 1) AS head_ok, "
        "active_branch() AS branch, doltlite_engine() AS engine, "
        "dolt_merge_base('main', 'main') = dolt_hashof('main') AS base_ok, "
        "json_extract(i.metadata, '$.n') AS n, o.state ->> '$.k[1]' AS k, "
        "upper(substr(i.title, 1, 4)) AS t, date(i.created_at) = date('now') AS today, "
        "count(*) OVER () AS total, round(abs(-2.5)) AS r "
        "FROM issues i JOIN operational_state o USING (id)"
    )
    assert rows == [
        {"head_ok": 1, "branch": "main", "engine": "prolly", "base_ok": 1, "n": 2, "k": 2,
         "t": "READ", "today": 1, "total": 1, "r": 3.0}
    ]  # fmt: skip
    history = dp.query(
        "SELECT (SELECT count(*) FROM dolt_history_issues) AS versions, "
        "(SELECT count(*) FROM dolt_diff_issues) AS diffs, "
        "(SELECT count(*) FROM dolt_at_issues('HEAD')) AS at_head, "
        "(SELECT group_concat(to_table_name) FROM dolt_diff_summary('HEAD~1', 'HEAD')) AS changed"
    )
    assert history == [{"versions": 1, "diffs": 1, "at_head": 1, "changed": "issues"}]
    assert sorted(home.rglob("*")) == []


@pytest.mark.parametrize(
    ("sql", "params"),
    [("SELECT ?", ["\udcff"]), ("SELECT ?", [2**70]), ("SELECT ?", [object()]),
     ("SELECT '\udcff'", None), ("SELECT :a", {"b": 1}), ("SELECT 1", 5)],
)  # fmt: skip
def test_query_bad_text_and_parameters_are_invalid_input(
    dp: DataPlane, sql: str, params: object
) -> None:
    with pytest.raises(InvalidInput) as info:
        dp.query(sql, params)
    assert "\n" not in info.value.one_line()


@pytest.mark.embedded_only("checks the allow list against doltlite's pragma_function_list")
def test_allowed_functions_all_exist_in_the_engine(dp: DataPlane) -> None:
    # a name that is not a real function would hide a typo in the allow list
    engine = dp.engine("ledger")
    with engine.read() as conn:
        names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM pragma_function_list")}
    assert READ_ONLY_FUNCTIONS - names == set()
    assert {
        "dolt_creds_new",
        "dolt_commit",
        "dolt_push",
        "load_extension",
    } & READ_ONLY_FUNCTIONS == (set())


@pytest.mark.embedded_only("a recursive CTE runs forever on doltlite only (server: tests/store)")
def test_runaway_query_stops_at_the_time_limit(data_dir: Path) -> None:
    with connect(data_dir, query_timeout_seconds=1) as dp:
        dp.ledger.create_issue("x")
        before = ledger_heads(dp)
        with pytest.raises(QueryTimeout, match="query_timeout_seconds = 1") as info:
            dp.query(FOREVER)
        assert isinstance(info.value, InvalidInput) and info.value.limit == 1
        assert "\n" not in info.value.one_line()
        assert ledger_heads(dp) == before
        assert dp.query("SELECT count(*) AS n FROM issues") == [{"n": 1}]  # still usable


@pytest.mark.embedded_only("a recursive CTE runs forever on doltlite only (server: tests/store)")
def test_query_timeout_setting_from_the_environment_in_the_cli(  # type: ignore[no-untyped-def]
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("init").exit_code == 0
    monkeypatch.setenv("DOLTPLANE_QUERY_TIMEOUT_SECONDS", "1")
    stderr = one_line_error(run("query", FOREVER), 3)
    assert "query_timeout_seconds" in stderr


def test_query_timeout_default_is_30_seconds(data_dir: Path) -> None:
    with connect(data_dir) as dp:
        assert dp.settings.query_timeout_seconds == 30


CTRL_C = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import doltplane

    # a shell starts background jobs with SIGINT ignored, and children inherit that: this
    # child stands for an interactive caller, whose Ctrl-C raises KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.default_int_handler)

    with doltplane.connect(sys.argv[1], query_timeout_seconds=0) as dp:
        dp.ledger.count()
        dp.ops.list()  # both planes open and migrated: the signal must land in the query
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        started = time.monotonic()
        try:
            dp.query(sys.argv[2])
        except KeyboardInterrupt:
            print(f"interrupted after {time.monotonic() - started:.1f} s")
            sys.exit(0)
    sys.exit(1)
    """
)


@pytest.mark.embedded_only("a recursive CTE runs forever on doltlite only (server: tests/store)")
def test_ctrl_c_interrupts_a_running_query(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CTRL_C, str(tmp_path / "dp"), FOREVER],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("Ctrl-C did not stop the query within 60 s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("interrupted after")


# --- 14. inputs that crashed ------------------------------------------------------------
def test_deeply_nested_json_is_refused_at_write(dp: DataPlane) -> None:
    dp.ops.set_state("ok", rig="r", agent="a", status="s", state=nested(MAX_JSON_DEPTH))
    dp.ops.checkpoint()
    commits = dp.engine("ops").commit_count()
    for depth in (MAX_JSON_DEPTH + 1, 950, 100_000):
        with pytest.raises(InvalidDocument, match="nested more than"):
            dp.ops.set_state("deep", rig="r", agent="a", status="s", state=nested(depth))
        with pytest.raises(InvalidDocument, match="nested more than"):
            dp.ops.heartbeat("a", status=nested(depth))
        with pytest.raises(InvalidDocument, match="nested more than"):
            dp.ledger.create_issue("deep", metadata=json.loads(nested(min(depth, 900))))
    as_mapping = json.loads(nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(InvalidDocument):
        dp.ops.set_state("deep", rig="r", agent="a", status="s", state=as_mapping)
    assert [s.id for s in dp.ops.list()] == ["ok"]
    assert dp.ops.heartbeats("a") == []
    assert dp.ledger.count() == 0
    assert dp.engine("ops").commit_count() == commits


def test_deep_state_in_the_cli_is_refused_and_reads_keep_working(run) -> None:  # type: ignore[no-untyped-def]
    state = ["--rig", "r", "--agent", "a", "--status", "s", "--state"]
    assert run("ops", "set", "fine", *state, "{}").exit_code == 0
    stderr = one_line_error(run("ops", "set", "deep", *state, nested(950)), 3)
    assert f"nested more than {MAX_JSON_DEPTH} levels" in stderr
    assert run("ops", "get", "fine").exit_code == 0
    listed = run("ops", "list", "--json")
    assert listed.exit_code == 0 and [r["id"] for r in json.loads(listed.stdout)] == ["fine"]


@pytest.mark.parametrize("days", ["nan", "inf", "-inf", "1e308", "1e6"])
def test_cleanup_refuses_non_finite_or_huge_retention(run, days: str) -> None:  # type: ignore[no-untyped-def]
    assert run("ops", "set", "a", "--rig", "r", "--agent", "x", "--status", "s").exit_code == 0
    for extra in ([], ["--dry-run"]):
        stderr = one_line_error(run("ops", "cleanup", f"--retention-days={days}", *extra), 3)
        assert "retention_days" in stderr
    assert json.loads(run("ops", "list", "--json").stdout)[0]["id"] == "a"


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_as_of_a_time_outside_utc_range_is_one_line(run, when: str) -> None:  # type: ignore[no-untyped-def]
    assert run("ledger", "create", "x").exit_code == 0
    assert "the years 1 to 9999 in UTC" in one_line_error(run("ledger", "as-of", when), 3)
    assert "the years 1 to 9999 in UTC" in one_line_error(run("ops", "as-of", when), 3)


NON_UTF8 = textwrap.dedent(
    """
    import os, subprocess, sys
    args = [a.encode() for a in sys.argv[1:]]
    exe = [sys.executable.encode(), b"-m", b"doltplane.cli.main", b"--data-dir", args[0]]
    env = {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}
    for command in (
        [b"ops", b"get", b"\\xff"],
        [b"ops", b"set", b"a\\xffb", b"--rig", b"r", b"--agent", b"x", b"--status", b"s"],
        [b"ops", b"set", b"ok", b"--rig", b"r\\xfe", b"--agent", b"x", b"--status", b"s"],
        [b"ops", b"set", b"ok", b"--rig", b"r", b"--agent", b"x", b"--status", b"s",
         b"--state", b'{"k": "\\xff"}'],
        [b"ledger", b"create", b"title \\xff"],
        [b"ledger", b"show", b"\\xff"],
        [b"ledger", b"merge", b"agent-\\xff"],
        [b"query", b"SELECT '\\xff'"],
    ):
        done = subprocess.run(exe + command, capture_output=True, env=env)
        print(done.returncode, repr(done.stderr))
    """
)


def test_non_utf8_arguments_get_a_typed_one_line_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    with connect(data_dir) as dp:
        dp.migrate()
    env = {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}
    script = [sys.executable, "-c", NON_UTF8, str(data_dir)]
    done = subprocess.run(script, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 8
    for line in lines:
        code, stderr = line.split(" ", 1)
        assert code == "3", line
        text = eval(stderr)  # the repr of the child's stderr bytes
        assert text.startswith(b"error: ") and text.count(b"\n") == 1, line
    with connect(data_dir) as dp:
        assert dp.ops.list() == [] and dp.ledger.count() == 0
        assert [b.name for b in dp.engine("ledger").branches()] == ["main"]


def test_jsonl_kind_that_is_not_text_is_a_line_error(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    good = {"kind": "issue", "id": "gt-1", "type": "task", "title": "t", "status": "open",
            "created_by": "me", "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    for kind in (["issue"], {"issue": 1}, 7, None):
        bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "gt-2", "kind": kind}))
        stderr = one_line_error(run("import", str(bad)), 3)
        assert "bad.jsonl:2" in stderr and "kind must be" in stderr
    assert json.loads(run("ledger", "list", "--json").stdout) == []


def test_jsonl_time_outside_utc_range_is_a_line_error(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    line = {"kind": "issue", "id": "gt-1", "type": "task", "title": "t", "status": "open",
            "created_by": "me", "created_at": "9999-12-31T23:59:59-14:00"}  # fmt: skip
    bad.write_text(json.dumps(line) + "\n")
    assert "bad.jsonl:1" in one_line_error(run("import", str(bad)), 3)


def test_export_into_a_missing_folder_is_refused_with_a_hint(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("ledger", "create", "x").exit_code == 0
    target = tmp_path / "no" / "such" / "out.jsonl"
    stderr = one_line_error(run("export", "-o", str(target)), 4)
    assert "folder not found" in stderr and "create it first" in stderr
    assert not (tmp_path / "no").exists()
