"""Beads exports of every era: imported as they are, exported back key for key, verified."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from doltplane import DataPlane
from doltplane.cli.main import cli
from doltplane.errors import InvalidDocument, VerifyMismatch
from doltplane.planes.beads_format import same

from .beads_fixtures import (
    CURRENT,
    CURRENT_HEADER,
    PRE_DOLT,
    joined_backup,
    write_backup,
    write_jsonl,
)
from .conftest import ledger_state


def era_source(era: str, tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The path to import for an era and the records it holds, in order."""
    if era == "pre-dolt":
        return write_jsonl(tmp_path / ".beads" / "issues.jsonl", PRE_DOLT), PRE_DOLT
    if era == "current":
        return write_jsonl(tmp_path / "export.jsonl", [CURRENT_HEADER, *CURRENT]), CURRENT
    return write_backup(tmp_path / ".beads" / "backup"), joined_backup()


def export_beads(dp: DataPlane) -> list[dict[str, Any]]:
    out = io.StringIO()
    dp.ledger.export_jsonl(out, format="beads")
    return [json.loads(line) for line in out.getvalue().splitlines()]


ERAS = ["pre-dolt", "current", "backup-folder"]


@pytest.mark.parametrize("era", ERAS)
def test_each_era_round_trips_exactly(dp: DataPlane, tmp_path: Path, era: str) -> None:
    source, expected = era_source(era, tmp_path)
    result = dp.ledger.import_jsonl(source)
    assert result.format == "beads"
    assert result.created == len(expected) and result.commit is not None

    exported = export_beads(dp)
    assert len(exported) == len(expected)
    for line, record in zip(exported, expected, strict=True):
        assert same(line, record), (line, record)  # same keys, same values, line by line
        assert set(line) == set(record)
    assert dp.ledger.verify_jsonl(source).ok

    # the export is itself a Beads file that verifies and re-imports as a no-op
    again = write_jsonl(tmp_path / "again.jsonl", exported)
    assert dp.ledger.verify_jsonl(again).ok
    commits = dp.engine("ledger").commit_count()
    redo = dp.ledger.import_jsonl(again)
    assert (redo.created, redo.updated, redo.unchanged) == (0, 0, len(expected))
    assert redo.commit is None and dp.engine("ledger").commit_count() == commits


def test_timestamps_with_nanoseconds_and_integer_ids_come_back_as_written(
    dp: DataPlane, tmp_path: Path
) -> None:
    source, _ = era_source("pre-dolt", tmp_path)
    dp.ledger.import_jsonl(source)
    first = export_beads(dp)[0]
    assert first["created_at"] == "2025-10-14T12:31:22.123456789-07:00"
    assert first["comments"][0]["id"] == 7
    assert export_beads(dp)[2]["closed_at"] is None  # an explicit null stays a null


def test_fields_map_to_columns_only_where_they_mean_the_same(dp: DataPlane, tmp_path: Path) -> None:
    source, _ = era_source("current", tmp_path)
    dp.ledger.import_jsonl(source)
    issue = dp.ledger.get_issue("gt-k3x")
    assert issue.type == "bug"  # issue_type
    assert issue.owner == "mayor@example.com"  # Beads' owner, not its assignee
    assert issue.created_by == "mayor"
    assert issue.created_at == dt.datetime(2026, 1, 3, 10, tzinfo=dt.UTC)
    closed = dp.ledger.get_issue("gt-p1q")
    assert closed.completed_at is None
    rows = dp.query("SELECT assignee, priority, updated_at FROM issue_fields WHERE id = 'gt-k3x'")
    assert rows[0]["assignee"] == "gastown/polecats/toast" and rows[0]["priority"] == 1


def test_nested_records_are_queryable(dp: DataPlane, tmp_path: Path) -> None:
    dp.ledger.import_jsonl(era_source("current", tmp_path)[0])
    dp.ledger.import_jsonl(era_source("backup-folder", tmp_path)[0])
    dp.ledger.import_jsonl(era_source("pre-dolt", tmp_path)[0])
    labels = dp.query("SELECT label FROM issue_labels WHERE issue_id = 'bk-1' "
                      "ORDER BY position")  # fmt: skip
    assert [r["label"] for r in labels] == ["cv", "backfill"]
    blocked = dp.query(
        "SELECT issue_id, type FROM issue_dependencies WHERE depends_on_id = 'gt-p1q'"
    )
    assert blocked == [{"issue_id": "gt-k3x", "type": "parent-child"}]
    comments = dp.query("SELECT comment_id, author FROM issue_comments "
                        "WHERE issue_id = 'bd-a1'")  # fmt: skip
    assert comments == [{"comment_id": "7", "author": "toast"}]
    events = dp.query("SELECT event_type, new_value FROM issue_events")
    assert events == [{"event_type": "status_changed", "new_value": "closed"}]
    memories = dp.query("SELECT key, value FROM memories ORDER BY key")
    assert [m["key"] for m in memories] == ["deploy-window", "owner-of-router"]
    config = dp.query("SELECT value FROM beads_config WHERE key = 'issue_prefix'")
    assert config == [{"value": "bk"}]
    legacy = dp.query("SELECT id, ephemeral, deleted_at FROM issue_fields "
                      "WHERE id IN ('bd-a2', 'bd-a3') ORDER BY id")  # fmt: skip
    assert legacy[0]["ephemeral"] in (1, True)  # `wisp` read as `ephemeral`
    assert legacy[1]["deleted_at"] is not None and dp.ledger.get_issue("bd-a3").status == (
        "tombstone"
    )
    # every era still round-trips with the others in the same ledger
    records = export_beads(dp)
    assert len(records) == len(CURRENT) + len(PRE_DOLT) + len(joined_backup())
    # issues in the order they arrived, file after file; then memories, then config
    order = [r.get("id") or r["key"] for r in records]
    issues_first = ["gt-k3x", "gt-p1q", "bk-1", "bk-2", "bd-a1", "bd-a2", "bd-a3"]
    then = ["deploy-window", "owner-of-router", "issue_prefix", "kv.memory.release-day"]
    assert order == issues_first + then


def test_import_twice_changes_nothing_and_makes_no_commit(dp: DataPlane, tmp_path: Path) -> None:
    source, records = era_source("current", tmp_path)
    dp.ledger.import_jsonl(source)
    before = ledger_state(dp)
    again = dp.ledger.import_jsonl(source)
    assert again.commit is None and again.unchanged == len(records)
    assert again.kinds["issue"].unchanged == 2 and again.kinds["memory"].unchanged == 2
    assert ledger_state(dp) == before


def test_an_older_record_is_skipped_and_reported_unless_forced(
    dp: DataPlane, tmp_path: Path
) -> None:
    source, records = era_source("current", tmp_path)
    dp.ledger.import_jsonl(source)
    older = copy.deepcopy(records)
    older[0]["title"] = "An older title"
    older[0]["updated_at"] = "2026-01-04T09:00:00Z"  # before the ledger's 09:30
    older[1]["title"] = "A newer title"
    older[1]["updated_at"] = "2026-01-05T00:00:00Z"
    path = write_jsonl(tmp_path / "older.jsonl", older)

    result = dp.ledger.import_jsonl(path)
    assert (result.updated, result.stale_skipped) == (1, 1)
    assert [(s.id, s.ledger_updated_at) for s in result.stale] == [
        ("gt-k3x", "2026-01-04T09:30:00.123456Z")
    ]
    assert dp.ledger.get_issue("gt-k3x").title == records[0]["title"]
    assert dp.ledger.get_issue("gt-p1q").title == "A newer title"

    forced = dp.ledger.import_jsonl(path, force=True)
    assert (forced.updated, forced.stale_skipped) == (1, 0)
    assert dp.ledger.get_issue("gt-k3x").title == "An older title"


def test_import_never_reverts_a_newer_live_write(dp: DataPlane, tmp_path: Path) -> None:
    source, records = era_source("current", tmp_path)
    dp.ledger.import_jsonl(source)
    dp.ledger.update_issue("gt-k3x", status="closed")  # a live write, after the export
    edited = copy.deepcopy(records)
    edited[0]["title"] = "Edited in Beads before the live write"
    path = write_jsonl(tmp_path / "edited.jsonl", edited)

    result = dp.ledger.import_jsonl(path)
    assert result.stale_skipped == 1 and result.commit is None
    assert dp.ledger.get_issue("gt-k3x").status == "closed"
    # the live change shows in a Beads export, and a file newer than it is taken
    assert export_beads(dp)[0]["status"] == "closed"
    edited[0]["updated_at"] = "2099-01-01T00:00:00Z"
    newer = dp.ledger.import_jsonl(write_jsonl(tmp_path / "newer.jsonl", edited))
    assert newer.updated == 1 and dp.ledger.get_issue("gt-k3x").status == "in_progress"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ('["an", "array"]', "must be a JSON object"),
        ('{"title": "no id"}', "needs a non-empty text 'id'"),
        ('{"id": "x-1", "title": "t", "created_at": "yesterday"}', "created_at must be an ISO"),
        ('{"id": "x-1", "title": "t", "status": 3}', "status must be text"),
        ('{"_type": "gate", "id": "x-1"}', "_type must be"),
        ('{"id": "bd-a1", "title": "again"}', "already appeared"),
        ('{"id": "x-1", "title": "t", "estimate": NaN}', "NaN is not a JSON value"),
        ('{"id": "x-1", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_a_malformed_line_names_file_and_line_and_writes_nothing(
    dp: DataPlane, tmp_path: Path, line: str, message: str
) -> None:
    dp.ledger.import_jsonl(era_source("current", tmp_path)[0])
    path = tmp_path / "bad.jsonl"
    good = "".join(json.dumps(r) + "\n" for r in PRE_DOLT[:2])
    path.write_text(good + line + "\n", encoding="utf-8")
    before = ledger_state(dp)
    with pytest.raises(InvalidDocument) as raised:
        dp.ledger.import_jsonl(path, format="beads")
    assert raised.value.message.startswith(f"{path}:3: ") and message in raised.value.message
    assert ledger_state(dp) == before


def test_a_backup_row_for_an_unknown_issue_is_refused(dp: DataPlane, tmp_path: Path) -> None:
    folder = write_backup(tmp_path / "backup")
    with (folder / "comments.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "c-9", "issue_id": "nope-1", "text": "?"}) + "\n")
    before = ledger_state(dp)
    with pytest.raises(InvalidDocument, match=r"comments.jsonl:3: issue_id 'nope-1'"):
        dp.ledger.import_jsonl(folder)
    assert ledger_state(dp) == before


def test_verify_reports_missing_extra_different_renamed_and_dropped(
    dp: DataPlane, tmp_path: Path
) -> None:
    source, _ = era_source("pre-dolt", tmp_path)
    dp.ledger.import_jsonl(source)
    lines = export_beads(dp)
    first = lines[0]
    first["assigned_to"] = first.pop("assignee")  # what a renaming exporter does
    del first["design"]
    first["title"] = "Changed"
    lines[1]["created_at"] = "2025-10-14T05:40:00-07:00"  # the same instant: no difference
    del lines[2]
    lines.append({"id": "bd-new", "title": "Only in the file"})
    report = dp.ledger.verify_jsonl(write_jsonl(tmp_path / "tampered.jsonl", lines))
    by_id = {d.id: d for d in report.differences}
    assert by_id["bd-a3"].status == "extra" and by_id["bd-new"].status == "missing"
    changes = {f.field: (f.change, f.renamed_to) for f in by_id["bd-a1"].fields}
    assert changes == {
        "assigned_to": ("renamed", "assignee"),
        "design": ("added", None),
        "title": ("changed", None),
    }
    assert "bd-a2" not in by_id


def test_cli_import_export_verify(dp: DataPlane, data_dir: Path, tmp_path: Path) -> None:
    source, records = era_source("current", tmp_path)
    runner = CliRunner()
    base = ["--data-dir", str(data_dir)]
    assert runner.invoke(cli, [*base, "init"]).exit_code == 0
    dry = runner.invoke(cli, [*base, "import", str(source), "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["created"] == 4 and dp.ledger.count("issue") == 0

    done = runner.invoke(cli, [*base, "import", str(source), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert summary["kinds"]["issue"]["created"] == 2 and summary["kinds"]["memory"]["created"] == 2
    assert summary["stale_skipped"] == 0 and summary["commit"]

    out = tmp_path / "out.jsonl"
    exported = runner.invoke(cli, [*base, "export", "--format", "beads", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    assert [json.loads(x) for x in out.read_text().splitlines()] == records

    ok = runner.invoke(cli, [*base, "verify", "--compare", str(out)])
    assert ok.exit_code == 0, ok.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    lines[0]["priority"] = 4
    write_jsonl(out, lines)
    bad = runner.invoke(cli, [*base, "verify", "--compare", str(out), "--json"])
    assert bad.exit_code == VerifyMismatch.exit_code, bad.output
    assert '"priority"' in bad.output

    forced_doltplane = runner.invoke(cli, [*base, "import", str(source), "--format", "doltplane"])
    assert forced_doltplane.exit_code == 3 and ":1: kind must be" in forced_doltplane.output


def test_the_doltplane_format_keeps_its_own_shape(dp: DataPlane, tmp_path: Path) -> None:
    dp.ledger.create_issue("Native", id="gt-native", owner="ann")
    out = io.StringIO()
    dp.ledger.export_jsonl(out)
    line = json.loads(out.getvalue())
    assert line["kind"] == "issue" and line["type"] == "task" and "issue_type" not in line
    # a native issue also has a Beads spelling
    assert export_beads(dp) == [
        {
            "_type": "issue",
            "id": "gt-native",
            "title": "Native",
            "issue_type": "task",
            "status": "open",
            "created_by": line["created_by"],
            "created_at": line["created_at"],
            "owner": "ann",
        }
    ]


def test_progress_is_reported_through_the_callback(dp: DataPlane, tmp_path: Path) -> None:
    steps: list[str] = []
    source, _ = era_source("backup-folder", tmp_path)
    dp.ledger.import_jsonl(source, progress=lambda step, done, total: steps.append(step))
    assert {"read", "compare", "write"} <= set(steps)


def test_the_documented_query_runs(dp: DataPlane, tmp_path: Path) -> None:
    dp.ledger.import_jsonl(era_source("pre-dolt", tmp_path)[0])
    rows = dp.query(
        "SELECT i.id, i.status, f.assignee FROM issues i JOIN issue_fields f USING (id) "
        "WHERE i.id IN (SELECT issue_id FROM issue_labels WHERE label = 'router')"
    )
    assert rows == [{"id": "bd-a1", "status": "closed", "assignee": "toast"}]
