"""JSONL export -> import -> verify: lossless, idempotent, all-or-nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from doltplane import DataPlane, connect
from doltplane.errors import InvalidDocument

from .conftest import ledger_state

BEADS_LIKE = [
    {
        "kind": "issue",
        "id": "bd-a1",
        "type": "bug",
        "title": "Router drops convoys",
        "status": "closed",
        "created_by": "mayor",
        "created_at": "2025-10-14T12:31:22.123456789-07:00",
        "completed_at": "2025-10-15T08:00:00Z",
        "owner": "toast",
        "metadata": {"priority": 1},
        "dependencies": [{"issue_id": "bd-a1", "depends_on_id": "bd-a2", "type": "blocks"}],
        "labels": ["router", "p1"],
        "estimated_minutes": 90,
        "design": None,
    },
    {
        "kind": "issue",
        "id": "bd-a2",
        "type": "task",
        "title": "Profile the router",
        "status": "open",
        "created_by": "mayor",
        "created_at": "2025-10-14T12:40:00Z",
        "notes": {"nested": {"deeper": [1, 2.5, "x", None, True]}},
    },
    {
        "kind": "cv_entry",
        "id": "cv-1",
        "owner_email": "toast@gastown",
        "bead_id": "bd-a1",
        "activity_type": "fixed",
        "timestamp": "2025-10-15 08:00:00",
        "metadata": {},
        "score": 0.75,
    },
]


def write_lines(path: Path, objects: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


@pytest.mark.embedded_only("two data directories as two stores (on a server: the same databases)")
def test_round_trip_is_lossless_with_unknown_fields_and_nested_lists(
    dp: DataPlane, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "beads.jsonl", BEADS_LIKE)
    result = dp.ledger.import_jsonl(source)
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0) and result.commit
    issue = dp.ledger.get_issue("bd-a1")
    assert issue.extra["labels"] == ["router", "p1"] and issue.metadata == {"priority": 1}
    assert dp.ledger.verify_jsonl(source).ok

    exported = io.StringIO()
    counts = dp.ledger.export_jsonl(exported)
    assert (counts.issues, counts.cv_entries) == (2, 1)
    lines = [json.loads(line) for line in exported.getvalue().splitlines()]
    by_id = {line["id"]: line for line in lines}
    for original in BEADS_LIKE:
        assert {k: v for k, v in by_id[original["id"]].items() if k in original} == original
    out = write_lines(tmp_path / "export.jsonl", lines)

    with connect(tmp_path / "fresh") as fresh:
        assert fresh.ledger.import_jsonl(out).created == 3
        report = fresh.ledger.verify_jsonl(out)
        assert report.ok and report.file_records == report.ledger_records == 3
        assert fresh.ledger.verify_jsonl(source).ok
        again = io.StringIO()
        fresh.ledger.export_jsonl(again)
        assert again.getvalue() == exported.getvalue()


def test_import_twice_changes_nothing_and_makes_no_commit(dp: DataPlane, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "a.jsonl", BEADS_LIKE)
    dp.ledger.import_jsonl(source)
    before = ledger_state(dp)
    second = dp.ledger.import_jsonl(source)
    assert (second.created, second.updated, second.unchanged, second.commit) == (0, 0, 3, None)
    assert ledger_state(dp) == before

    changed = [dict(BEADS_LIKE[0], title="Renamed"), *BEADS_LIKE[1:]]
    dry = dp.ledger.import_jsonl(write_lines(tmp_path / "b.jsonl", changed), dry_run=True)
    assert (dry.updated, dry.commit) == (1, None) and ledger_state(dp) == before
    real = dp.ledger.import_jsonl(tmp_path / "b.jsonl")
    assert real.updated == 1 and dp.ledger.commit_count() == before.commits + 1
    assert [v.record.title for v in dp.ledger.history("bd-a1")] == [  # type: ignore[union-attr]
        "Renamed",
        "Router drops convoys",
    ]


def test_verify_reports_missing_extra_and_different(dp: DataPlane, tmp_path: Path) -> None:
    dp.ledger.import_jsonl(write_lines(tmp_path / "a.jsonl", BEADS_LIKE[:2]))
    other = [
        dict(BEADS_LIKE[0], labels=["router"]),  # different
        BEADS_LIKE[2],  # missing from the ledger; bd-a2 is extra
    ]
    report = dp.ledger.verify_jsonl(write_lines(tmp_path / "b.jsonl", other))
    assert not report.ok
    status = {(d.kind, d.id): d.status for d in report.differences}
    assert status == {
        ("issue", "bd-a1"): "different",
        ("issue", "bd-a2"): "extra",
        ("cv_entry", "cv-1"): "missing",
    }
    [different] = [d for d in report.differences if d.status == "different"]
    assert [(f.field, f.in_file, f.in_ledger) for f in different.fields] == [
        ("labels", ["router"], ["router", "p1"])
    ]


def test_verify_names_renamed_and_dropped_keys(dp: DataPlane, tmp_path: Path) -> None:
    """An exporter that renames or drops keys must not pass verify (it did before)."""
    dp.ledger.import_jsonl(write_lines(tmp_path / "a.jsonl", BEADS_LIKE[:1]))
    renamed = {k: v for k, v in BEADS_LIKE[0].items() if k not in ("labels", "estimated_minutes")}
    renamed["estimate"] = 90
    report = dp.ledger.verify_jsonl(write_lines(tmp_path / "b.jsonl", [renamed]))
    [different] = report.differences
    assert [(f.field, f.change, f.renamed_to) for f in different.fields] == [
        ("estimate", "renamed", "estimated_minutes"),
        ("labels", "added", None),
    ]


@pytest.mark.parametrize(
    "bad_line",
    [
        "{not json",
        '{"kind": "bug", "id": "x"}',
        '{"kind": "issue", "id": "x", "title": "t"}',
        '{"kind": "issue", "id": "x", "type": "t", "title": "t", "status": "open", '
        '"created_by": "m", "created_at": "yesterday"}',
        '["a list"]',
        json.dumps(dict(BEADS_LIKE[1], owner=5)),
        json.dumps(BEADS_LIKE[0]),  # a duplicate of line 1
    ],
)
def test_malformed_line_names_its_number_and_imports_nothing(
    dp: DataPlane, tmp_path: Path, bad_line: str
) -> None:
    good = "".join(json.dumps(o) + "\n" for o in BEADS_LIKE)
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n" + bad_line + "\n", encoding="utf-8")
    before = ledger_state(dp)
    with pytest.raises(InvalidDocument, match=r"bad\.jsonl:5: "):
        dp.ledger.import_jsonl(path)
    assert ledger_state(dp) == before


def test_progress_callback_reports_and_library_does_not_print(
    dp: DataPlane, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        {
            "kind": "cv_entry",
            "id": f"cv-{i}",
            "owner_email": "a@x",
            "activity_type": "t",
            "timestamp": "2025-01-01T00:00:00Z",
        }
        for i in range(1200)
    ]
    seen: list[tuple[str, int, int]] = []
    dp.ledger.import_jsonl(
        write_lines(tmp_path / "big.jsonl", lines), progress=lambda *a: seen.append(a)
    )
    assert ("read", 1200, 1200) in seen and ("write", 1200, 1200) in seen
    assert capsys.readouterr() == ("", "")
