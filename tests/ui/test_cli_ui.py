"""``doltplane ui`` started from the command line: loopback, read-only."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from doltplane.cli.main import cli

from .serve import ui_process


def test_the_command_serves_the_page_on_loopback(story: Path) -> None:
    with ui_process(story, "--quiet") as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=60) as response:
            assert response.status == 200 and b">planes</h2>" in response.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"))
        assert refused.value.code == 405
        refused.value.close()


def test_a_port_in_use_is_one_line(story: Path) -> None:
    with ui_process(story, "--quiet") as url:
        port = url.rsplit(":", 1)[1].strip("/")
        result = CliRunner().invoke(cli, ["--data-dir", str(story), "ui", "--port", port])
    assert result.exit_code == 8
    assert result.stderr.startswith("error: cannot listen on 127.0.0.1:")
    assert "--port" in result.stderr


def test_a_missing_data_dir_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "nope"), "ui", "--port", "0"])
    assert result.exit_code == 4 and not (tmp_path / "nope").exists()
