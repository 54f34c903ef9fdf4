"""The CLI under generated argv: documented exit codes, one ``error:`` line on stderr, no
traceback, and a refused command writes nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from doltplane import DataPlane, connect
from doltplane.cli.main import cli
from doltplane.errors import DoltplaneError

from . import budget
from . import strategies as s
from .budget import fuzz_settings
from .harness import Snapshot, ledger_snapshot, ops_snapshot

pytestmark = pytest.mark.fuzz


def _error_codes(cls: type[DoltplaneError]) -> set[int]:
    return {cls.exit_code}.union(*(_error_codes(sub) for sub in cls.__subclasses__()))


# docs/cli.md's table: 0 ok, 2 usage, and each error class's own code
DOCUMENTED_EXIT_CODES = {0, 2} | _error_codes(DoltplaneError)
ENV = {"DOLTPLANE_CHECKPOINT_EVERY_WRITES": "0", "DOLTPLANE_CHECKPOINT_EVERY_SECONDS": "0"}

# real argv never holds NUL, and text that is not UTF-8 has its own test
arg = s.texts.filter(lambda t: "\x00" not in t)
json_arg = st.builds(json.dumps, s.json_objects | s.json_values) | arg
time_arg = s.time_texts
revision_arg = s.revisions.filter(lambda t: "\x00" not in t)
branch_arg = s.branch_names.filter(lambda t: "\x00" not in t)
number_arg = st.builds(str, st.integers(-(2**64), 2**64)) | st.sampled_from(
    ["nan", "inf", "-inf", "1e308", "1e309", "-0", "0.5", "", "x"]
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, DataPlane]]:
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("DOLTPLANE_"):
                env.delenv(name)
        data_dir = tmp_path_factory.mktemp("fuzz-cli") / "dp"
        assert CliRunner().invoke(cli, ["--data-dir", str(data_dir), "init"]).exit_code == 0
        with connect(data_dir, create=False, **{k[10:].lower(): 0 for k in ENV}) as dp:
            dp.ops.set_state("seed-1", rig="r", agent="toast", status="busy", state={})
            dp.ops.checkpoint("seed")
            dp.ledger.create_issue("seed", id="gt-seed", owner="toast")
            yield data_dir, dp


def run_cli(area: str, data_dir: Path, argv: list[str], *snapshots: Snapshot) -> int:
    budget.INPUTS[area] += 1
    before = [snapshot() for snapshot in snapshots]
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *argv], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{argv!r} raised instead of exiting") from result.exception
    code = result.exit_code
    assert code in DOCUMENTED_EXIT_CODES, (argv, code, result.output)
    if code == 0:
        return code
    budget.REFUSED[area] += 1
    stderr = result.stderr
    if code == 2:  # click's usage error: its usage text, or a group's help when no command
        assert "Traceback" not in result.output, (argv, result.output)
    else:
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, stderr)
    after = [snapshot() for snapshot in snapshots]
    assert after == before, f"refused command changed the store: {argv!r}: {stderr}"
    return code


def _flat(*parts: Any) -> list[str]:
    """argv from parts; None drops an optional part, a tuple is an (option, value) pair."""
    out: list[str] = []
    for part in parts:
        if part is None:
            continue
        out.extend(part if isinstance(part, tuple) else (part,))
    return out


def optional(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.none() | values.map(lambda v: (name, v))


ops_argv = st.one_of(
    st.builds(
        _flat,
        st.just("ops"),
        st.just("set"),
        arg,
        optional("--rig", arg),
        optional("--agent", arg),
        optional("--status", arg),
        optional("--state", json_arg),
        optional("--expected-version", number_arg),
    ),
    st.builds(_flat, st.just("ops"), st.sampled_from(["get", "history"]), arg),
    st.builds(
        _flat,
        st.just("ops"),
        st.just("list"),
        optional("--rig", arg),
        optional("--since", time_arg),
        optional("--limit", number_arg),
    ),
    st.builds(
        _flat,
        st.just("ops"),
        st.just("heartbeat"),
        arg,
        optional("--status", json_arg),
        optional("--cycle", number_arg),
    ),
    st.builds(_flat, st.just("ops"), st.just("agents"), optional("--stale-after", number_arg)),
    st.builds(_flat, st.just("ops"), st.just("as-of"), revision_arg, st.none() | arg),
)

ledger_argv = st.one_of(
    st.builds(
        _flat,
        st.just("ledger"),
        st.just("create"),
        arg,
        optional("--type", arg),
        optional("--status", arg),
        optional("--owner", arg),
        optional("--metadata", json_arg),
        optional("--id", arg),
        optional("--agent", branch_arg),
    ),
    st.builds(
        _flat,
        st.just("ledger"),
        st.just("update"),
        st.just("gt-seed") | arg,
        optional("--title", arg),
        optional("--status", arg),
        optional("--owner", arg),
        optional("--metadata", json_arg),
        optional("--agent", branch_arg),
    ),
    st.builds(_flat, st.just("ledger"), st.just("show"), arg, optional("--as-of", revision_arg)),
    st.builds(
        _flat,
        st.just("ledger"),
        st.just("list"),
        optional("--status", arg),
        optional("--limit", number_arg),
        optional("--as-of", revision_arg),
    ),
    st.builds(_flat, st.just("ledger"), st.just("as-of"), revision_arg),
    st.builds(_flat, st.just("ledger"), st.just("history"), arg),
    st.builds(_flat, st.just("ledger"), st.just("diff"), revision_arg, st.none() | revision_arg),
    st.builds(
        _flat,
        st.just("ledger"),
        st.just("log"),
        optional("--branch", branch_arg),
        optional("--limit", number_arg),
    ),
    st.builds(_flat, st.just("ledger"), st.just("tag"), branch_arg, st.none() | revision_arg),
    st.builds(
        _flat,
        st.just("ledger"),
        st.sampled_from(["merge", "sync", "conflicts"]),
        branch_arg,
    ),
    st.builds(_flat, st.just("ledger"), st.just("branches"), optional("--stale-days", number_arg)),
    st.builds(
        _flat,
        st.just("query"),
        st.sampled_from(
            [
                "SELECT id, status FROM issues WHERE id = ?",
                "SELECT id FROM operational_state WHERE agent = ? LIMIT 5",
                "SELECT ?",
            ]
        ),
        st.lists(arg, max_size=2).map(lambda ps: [x for p in ps for x in ("-p", p)]).map(tuple),
    ),
)


@fuzz_settings()
@given(argv=ops_argv)
def test_cli_ops(site: tuple[Path, DataPlane], argv: list[str]) -> None:
    data_dir, dp = site
    run_cli("cli.ops", data_dir, argv, ops_snapshot(dp))


@fuzz_settings()
@given(argv=ledger_argv)
def test_cli_ledger(site: tuple[Path, DataPlane], argv: list[str]) -> None:
    data_dir, dp = site
    run_cli("cli.ledger", data_dir, argv, ledger_snapshot(dp))


@fuzz_settings(0.5)
@given(lines=s.jsonl_lines)
def test_cli_import_verify(
    site: tuple[Path, DataPlane], tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    data_dir, dp = site
    path = tmp_path_factory.mktemp("cli-jsonl") / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    snapshot = ledger_snapshot(dp)
    run_cli("cli.import", data_dir, ["import", str(path), "--dry-run"], snapshot)
    run_cli("cli.import", data_dir, ["import", str(path), "--json"], snapshot)
    run_cli("cli.verify", data_dir, ["verify", "--compare", str(path)], snapshot)


WORDS = [
    "ops",
    "ledger",
    "federation",
    "set",
    "get",
    "list",
    "show",
    "create",
    "update",
    "history",
    "as-of",
    "diff",
    "log",
    "tag",
    "status",
    "--json",
    "--limit",
    "--as-of",
    "--agent",
    "--rig",
    "--status",
    "--state",
    "--help",
    "--version",
    "-p",
    "--",
    "-",
]


UNSAFE = {
    "init",
    "demo",
    "import",
    "export",
    "verify",
    "clone",
    "push",
    "pull",
    "resolve",
    "-o",
    "--output",
    "--rows",
    "--traceback",
}


@fuzz_settings()
@given(argv=st.lists(st.sampled_from(WORDS) | arg, min_size=1, max_size=7))
def test_cli_random_argv(site: tuple[Path, DataPlane], argv: list[str]) -> None:
    data_dir, dp = site
    if UNSAFE.intersection(argv):
        return  # commands that take paths or build folders are fuzzed above with safe paths
    run_cli("cli.random_argv", data_dir, argv, ops_snapshot(dp), ledger_snapshot(dp))


# --- inputs that crashed before issue 7 (items 3, 13, 14) ---------------------------------


@fuzz_settings(0.5)
@given(
    argv=st.sampled_from([["ops", "get"], ["ledger", "create"], ["ledger", "as-of"]]),
    text=s.unencodable,
)
def test_cli_argv_that_is_not_utf8(
    site: tuple[Path, DataPlane], argv: list[str], text: str
) -> None:
    data_dir, dp = site
    run_cli("cli.non_utf8_argv", data_dir, [*argv, text], ops_snapshot(dp), ledger_snapshot(dp))


@pytest.fixture(scope="module")
def cleanup_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, DataPlane]]:
    """A site of its own: a cleanup that is accepted really deletes and squashes."""
    data_dir = tmp_path_factory.mktemp("fuzz-cleanup") / "dp"
    assert CliRunner().invoke(cli, ["--data-dir", str(data_dir), "init"], env=ENV).exit_code == 0
    with connect(data_dir, create=False) as dp:
        dp.ops.set_state("seed-1", rig="r", agent="toast", status="busy", state={})
        yield data_dir, dp


@fuzz_settings(0.5)
@given(days=number_arg, batch=st.none() | number_arg, dry_run=st.booleans())
def test_cli_cleanup_numbers(
    cleanup_site: tuple[Path, DataPlane], days: str, batch: str | None, dry_run: bool
) -> None:
    data_dir, dp = cleanup_site
    argv = _flat("ops", "cleanup", ("--retention-days", days), batch and ("--batch-size", batch))
    run_cli("cli.cleanup_numbers", data_dir, argv + ["--dry-run"] * dry_run, ops_snapshot(dp))


@fuzz_settings(0.5)
@given(parts=st.lists(st.from_regex(r"[a-z]{1,5}", fullmatch=True), min_size=1, max_size=3))
def test_cli_export_to_missing_folder(
    site: tuple[Path, DataPlane], tmp_path_factory: pytest.TempPathFactory, parts: list[str]
) -> None:
    data_dir, dp = site
    target = tmp_path_factory.mktemp("export").joinpath("missing", *parts, "out.jsonl")
    run_cli(
        "cli.export_missing_folder", data_dir, ["export", "-o", str(target)], ledger_snapshot(dp)
    )
