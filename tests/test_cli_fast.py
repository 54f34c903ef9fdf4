"""``doltplane ops get ID --json`` answered before click loads: the same output, the same
errors and exit codes as the click command, and every other command line left to click."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from doltplane.cli.fast import fast_get_args

ENTRY = Path(sys.executable).with_name("doltplane")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ops", "get", "a1", "--json"], (None, "a1")),
        (["ops", "get", "--json", "a1"], (None, "a1")),
        (["--data-dir", "d", "ops", "get", "a1", "--json"], ("d", "a1")),
        (["--data-dir=d", "ops", "get", "a1", "--json"], ("d", "a1")),
        (["ops", "get", "a1"], None),  # a table: click renders it
        (["ops", "get", "--json", "--json"], None),
        (["ops", "get", "a1", "--json", "--extra"], None),
        (["--url", "u", "ops", "get", "a1", "--json"], None),
        (["--data-dir=", "ops", "get", "a1", "--json"], None),
        (["ops", "list", "--json"], None),
        ([], None),
    ],
)
def test_only_the_exact_read_takes_the_fast_path(
    argv: list[str], expected: tuple[str | None, str] | None
) -> None:
    assert fast_get_args(argv) == expected


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("fast") / "data"
    run(str(ENTRY), "--data-dir", str(data), "init").check_returncode()
    run(
        str(ENTRY), "--data-dir", str(data), "ops", "set", "a1", "--rig", "r", "--agent", "ag",
        "--status", "busy", "--state", '{"k": [1, "x"]}',
    ).check_returncode()  # fmt: skip
    return data


@pytest.mark.parametrize("id", ["a1", "missing"])
def test_the_fast_read_answers_as_the_click_command(data_dir: Path, id: str) -> None:
    fast = run(str(ENTRY), "--data-dir", str(data_dir), "ops", "get", id, "--json")
    click = run(
        sys.executable, "-m", "doltplane.cli.main", "--data-dir", str(data_dir),
        "ops", "get", id, "--json",
    )  # fmt: skip
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        click.returncode,
        click.stdout,
        click.stderr,
    )
    assert fast.returncode == (0 if id == "a1" else 4)


def test_the_fast_read_never_imports_click(data_dir: Path) -> None:
    script = (
        "import sys\n"
        "from doltplane.cli.fast import answer\n"
        "code = answer(['--data-dir', sys.argv[1], 'ops', 'get', 'a1', '--json'])\n"
        "assert code == 0, code\n"
        "assert 'click' not in sys.modules\n"
        "assert 'sqlalchemy' not in sys.modules\n"
    )
    result = run(sys.executable, "-c", script, str(data_dir))
    assert result.returncode == 0, result.stderr
    assert '"id": "a1"' in result.stdout


def test_a_missing_data_dir_is_the_same_error(tmp_path: Path) -> None:
    fast = run(str(ENTRY), "--data-dir", str(tmp_path / "none"), "ops", "get", "a1", "--json")
    assert fast.returncode != 0
    assert fast.stderr.startswith("error: data directory not found")


def test_everything_else_goes_to_click(data_dir: Path) -> None:
    table = run(str(ENTRY), "--data-dir", str(data_dir), "ops", "get", "a1")
    assert table.returncode == 0 and "field" in table.stdout
    assert run(str(ENTRY), "--version").returncode == 0
