"""Bad input on the server path: one typed, one-line error each, the password never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from doltplane.errors import (
    DatabaseMissing,
    DoltplaneError,
    InvalidServerUrl,
    NotADoltServer,
    ServerAuthFailed,
    ServerReadOnly,
    ServerUnreachable,
)
from doltplane.server.launch import free_port
from doltplane.server.probe import parse_url, probe
from tests.servers import RunningMariaDB, RunningServer, running_server

SECRET = "s3cr3t-pw"


def one_line_without_secret(exc: DoltplaneError) -> str:
    text = exc.one_line()
    assert "\n" not in text
    assert SECRET not in text and SECRET not in repr(exc) and SECRET not in str(exc.args)
    return text


def test_probe_answers_with_the_dolt_version_and_a_latency(dolt_server: RunningServer) -> None:
    result = probe(dolt_server.url, write=True)
    assert result.version.count(".") == 2
    assert result.latency_ms > 0
    assert result.writable is True


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        f"postgres://root:{SECRET}@127.0.0.1:5432/ops",
        f"mysql://root:{SECRET}@127.0.0.1:notaport/ops",
        f"mysql://root:{SECRET}@:3306/ops",
        f"mysql://root:{SECRET}@127.0.0.1:3306/ops?ssl=1",
    ],
)
def test_an_unparseable_url_is_refused_before_connecting(url: str) -> None:
    with pytest.raises(InvalidServerUrl) as caught:
        probe(url)
    one_line_without_secret(caught.value)


def test_a_refused_port_is_unreachable() -> None:
    with pytest.raises(ServerUnreachable) as caught:
        probe(f"mysql://root:{SECRET}@127.0.0.1:{free_port()}", timeout=1)
    assert "root:***@127.0.0.1" in one_line_without_secret(caught.value)


def test_a_wrong_password_is_refused_and_masked(dolt_server: RunningServer) -> None:
    port = dolt_server.spec.port
    with pytest.raises(ServerAuthFailed) as caught:
        probe(f"mysql://root:{SECRET}@127.0.0.1:{port}")
    assert "***" in one_line_without_secret(caught.value)


def test_a_missing_database_is_named(dolt_server: RunningServer) -> None:
    with pytest.raises(DatabaseMissing) as caught:
        probe(f"{dolt_server.url}/no_such_db")
    assert caught.value.database == "no_such_db"
    one_line_without_secret(caught.value)


def test_a_server_that_is_not_dolt_is_refused(mariadb: RunningMariaDB) -> None:
    with pytest.raises(NotADoltServer) as caught:
        probe(f"mysql://root:{SECRET}@127.0.0.1:{mariadb.port}")
    assert "MariaDB" in one_line_without_secret(caught.value)


def test_the_write_probe_catches_a_read_only_server(tmp_path: Path) -> None:
    with running_server(tmp_path, read_only=True) as server:
        assert probe(server.url).version  # reads still answer
        with pytest.raises(ServerReadOnly) as caught:
            probe(server.url, write=True)
    assert "read only" in one_line_without_secret(caught.value)


def test_a_password_with_url_characters_is_decoded_and_never_shown() -> None:
    where = parse_url("mysql+pymysql://agent:p%40ss%2Fword@db.example:3307/ledger")
    assert (where.user, where.password, where.host, where.port) == (
        "agent",
        "p@ss/word",
        "db.example",
        3307,
    )
    assert where.database == "ledger"
    assert "p@ss" not in str(where) and "p@ss" not in repr(where)
    assert str(where) == "mysql+pymysql://agent:***@db.example:3307/ledger"


def test_bad_server_input_through_the_cli_is_one_masked_line(
    dolt_server: RunningServer, mariadb: RunningMariaDB, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from doltplane.cli.main import cli

    port = dolt_server.spec.port
    cases = {
        f"postgres://root:{SECRET}@127.0.0.1:{port}": InvalidServerUrl.exit_code,
        f"mysql://root:{SECRET}@127.0.0.1:{free_port()}": ServerUnreachable.exit_code,
        f"mysql://root:{SECRET}@127.0.0.1:{port}": ServerAuthFailed.exit_code,
        f"mysql://root:{SECRET}@127.0.0.1:{mariadb.port}": NotADoltServer.exit_code,
    }
    for url, code in cases.items():
        result = CliRunner().invoke(cli, ["--url", url, "ledger", "list", "--json"])
        assert result.exit_code == code, (url, result.output)
        assert SECRET not in result.output
        assert result.output.startswith("error: ") and result.output.count("\n") == 1


def test_wait_timeout_stays_above_the_pool_idle_time() -> None:
    from doltplane.config import Settings
    from doltplane.server.supervisor import server_spec

    spec = server_spec(Settings(server_wait_timeout_seconds=30, pool_idle_seconds=600))
    assert spec.wait_timeout_seconds > 600
