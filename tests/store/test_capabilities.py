"""Engines say what they can do; planes ask before relying on it."""

from __future__ import annotations

from pathlib import Path

import pytest

import doltplane
from doltplane import backups
from doltplane.errors import UnsupportedOperation
from doltplane.store.doltlite import DoltliteEngine
from tests.servers import RunningServer


def test_the_embedded_engine_can_do_everything(engine: DoltliteEngine) -> None:
    caps = engine.capabilities
    assert caps.gc_on_demand and caps.history_squash and caps.remotes and caps.file_size
    assert caps.sqlite_syntax
    assert caps.missing == ()


def test_backups_ask_the_server_engine_and_refuse_with_its_reason(
    dolt_server: RunningServer, tmp_path: Path
) -> None:
    with doltplane.connect(
        dolt_server.url,
        data_dir=tmp_path,
        ops_database="caps_ops",
        ledger_database="caps_ledger",
    ) as dp:
        caps = dp.engine("ledger").capabilities
        assert caps.gc_on_demand and caps.history_squash
        assert not caps.remotes and not caps.file_size and not caps.sqlite_syntax
        assert "server's host" in (caps.why_not("remotes") or "")
        dp.ops.set_state("a-1", rig="r", agent="a", status="busy", state={})
        assert dp.ops.checkpoint() is not None  # no gc attempted on an unknown file size
        with pytest.raises(UnsupportedOperation, match="server's host"):
            backups._engine(dp, "ledger")  # what every remote operation opens with
