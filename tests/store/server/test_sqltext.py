"""Shared SQL (``?`` markers) in pymysql's parameter style."""

from __future__ import annotations

from doltplane.store.server.sqltext import to_format


def test_markers_become_format_and_literals_stay() -> None:
    assert to_format("SELECT a FROM t WHERE b = ? AND c LIKE ?") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE %s"
    )
    assert to_format("SELECT '?', \"x?\", `y?` FROM t WHERE v = ?") == (
        "SELECT '?', \"x?\", `y?` FROM t WHERE v = %s"
    )
    assert to_format("SELECT DATE_FORMAT(d, '%Y') FROM t WHERE v = ? AND w % 2 = 0") == (
        "SELECT DATE_FORMAT(d, '%%Y') FROM t WHERE v = %s AND w %% 2 = 0"
    )
    assert to_format("SELECT 'it''s ?' WHERE x = ?") == "SELECT 'it''s ?' WHERE x = %s"


def test_sql_without_markers_is_left_alone() -> None:
    text = "SELECT DATE_FORMAT(d, '%Y') FROM t"
    assert to_format(text) is text
