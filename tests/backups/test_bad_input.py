"""Remote names and URLs are user input: one typed error each, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from doltplane import backups
from doltplane.cli.main import cli
from doltplane.errors import InvalidInput, NotFound, RemoteUnreachable

from .conftest import Site

BAD_NAMES = ["", "a/b", "-x", "origin", "main", "x" * 65, "a b", "1abc", "a..b", "ä", 5, None]
BAD_URLS = [
    "ftp://example.org/x",
    "ssh://host/x",
    "git@github.com:x/y",
    "/abs/path/without/scheme",
    "file://relative/path",
    "file:///",
    "file:///srv/../etc",
    "file:///srv/./x",
    "file:///srv/x%2F..",
    "http://user:secret@host/x",
    "http://host/x?y=1",
    "http://host/x#frag",
    "http://",
    "http://host:99999/x",
    "http://host/a b",
    "file:///tmp/x\n",
    "",
    7,
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_remote_names_are_refused(site: Site, tmp_path: Path, name: object) -> None:
    dp = site("a")
    with pytest.raises(InvalidInput):
        backups.add_remote(dp, name, f"file://{tmp_path}/backup")  # type: ignore[arg-type]
    assert not (tmp_path / "a" / "remotes.json").exists()


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_remote_urls_are_refused(site: Site, tmp_path: Path, url: object) -> None:
    dp = site("a")
    with pytest.raises(InvalidInput):
        backups.add_remote(dp, "disk", url)  # type: ignore[arg-type]
    assert not (tmp_path / "a" / "remotes.json").exists()


def test_a_backup_inside_the_data_directory_is_refused(site: Site, tmp_path: Path) -> None:
    dp = site("a")
    for url in (f"file://{tmp_path}/a", f"file://{tmp_path}/a/backups"):
        with pytest.raises(InvalidInput, match="inside the data directory"):
            backups.add_remote(dp, "disk", url)


def test_urls_are_normalised_and_adding_twice_is_idempotent(site: Site, tmp_path: Path) -> None:
    dp = site("a")
    first = backups.add_remote(dp, "disk", f"file://{tmp_path}/backup/")
    assert first.url == f"file://{tmp_path}/backup"
    assert backups.add_remote(dp, "disk", f"file://{tmp_path}/backup") == first
    with pytest.raises(InvalidInput, match="already points at"):
        backups.add_remote(dp, "disk", f"file://{tmp_path}/elsewhere")
    web = backups.add_remote(dp, "web", "HTTP://Example.org:8080/base/")
    assert web.url == "http://example.org:8080/base"
    assert [r.name for r in backups.remotes(dp)] == ["disk", "web"]
    backups.remove_remote(dp, "web")
    assert [r.name for r in backups.remotes(dp)] == ["disk"]


def test_unknown_remotes_are_not_found(site: Site) -> None:
    dp = site("a")
    for action in (
        lambda: backups.push_backup(dp, "nope"),
        lambda: backups.verify_backup(dp, "nope"),
        lambda: backups.pull(dp, "nope"),
        lambda: backups.push_ledger(dp, "nope"),
        lambda: backups.push_backup(dp),  # no remotes at all
    ):
        with pytest.raises(NotFound):
            action()


def test_restore_refuses_a_non_empty_target_and_an_empty_remote(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="not empty"):
        backups.restore(f"file://{tmp_path}/anything", tmp_path / "busy")
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"

    (tmp_path / "empty-remote").mkdir()
    with pytest.raises(NotFound, match="backup not found"):
        backups.restore(f"file://{tmp_path}/empty-remote", tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert not list(tmp_path.glob(".new.restore-*"))
    with pytest.raises(InvalidInput):
        backups.restore("ftp://host/x", tmp_path / "new")


def test_cli_errors_are_one_line_with_their_exit_code(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path / "dp")]
    assert runner.invoke(cli, [*base, "init"]).exit_code == 0
    result = runner.invoke(cli, [*base, "backup", "add", "a/b", "file:///tmp/x"])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: invalid remote")
    result = runner.invoke(cli, [*base, "backup", "add", "disk", "ssh://host/x"])
    assert result.exit_code == 3 and "only file:// and http(s)://" in result.stderr
    result = runner.invoke(cli, [*base, "remote", "pull", "nope"])
    assert result.exit_code == 4 and result.stderr.count("\n") == 1
    assert not (tmp_path / "dp" / "remotes.json").exists()


def test_an_unreachable_remote_is_a_typed_error(site: Site, tmp_path: Path) -> None:
    dp = site("a")
    dp.ledger.create_issue("x")
    backups.add_remote(dp, "gone", "http://127.0.0.1:1")
    for action in (
        lambda: backups.push_backup(dp, "gone"),
        lambda: backups.pull(dp, "gone"),
        lambda: backups.restore("http://127.0.0.1:1", tmp_path / "new"),
    ):
        with pytest.raises(RemoteUnreachable):
            action()
    assert not (tmp_path / "new").exists()
    [listed] = backups.list_backups(dp)
    assert listed.error is not None and "cannot be reached" in listed.error
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "a"), "backup", "push"])
    assert result.exit_code == 11 and result.stderr.count("\n") == 1


def test_an_engine_without_remotes_is_refused_not_faked(tmp_path: Path) -> None:
    from doltplane import connect
    from doltplane.errors import UnsupportedOperation

    with connect(tmp_path / "a") as dp:
        assert dp.engine("ledger").supports_remotes
    with (
        connect("mysql+pymysql://u:p@127.0.0.1:1/db") as server,
        pytest.raises(UnsupportedOperation),
    ):
        backups.add_remote(server, "disk", f"file://{tmp_path}/backup")
