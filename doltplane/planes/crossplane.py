"""Read-only SQL across planes: the ledger with the operational plane attached.

The contract both engines keep (``Engine.query``): the query is written in the
embedded engine's SQL (SQLite's); tables may be qualified by plane name
(``ops.operational_state``, ``ledger.issues``: on a server these map to the
configured ``ops_database`` / ``ledger_database``), and unqualified names resolve
in order: the ledger's tables first, then the operational plane's. Parameters are
``?`` (a sequence) or ``:name`` (a mapping). Writes are refused three times over:
only SELECT/WITH statements are accepted here, the engine calls only functions
known to read, and the statement runs read-only (read-only files embedded, a
``READ ONLY`` transaction on a server). A query runs at most
``query_timeout_seconds``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from doltplane.errors import InvalidInput
from doltplane.validation import check_text

if TYPE_CHECKING:
    from doltplane.client import DataPlane

_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_READ_STATEMENT = re.compile(r"(?:SELECT|WITH|VALUES)\b", re.I)


def check_read_only(sql: object) -> str:
    """The statement, if it is one read-only query; InvalidInput otherwise."""
    statement = check_text(sql, "query")
    body = _LEADING_COMMENTS.sub("", statement)
    if not _READ_STATEMENT.match(body):
        first = body.split(None, 1)[0] if body.split() else ""
        raise InvalidInput(
            f"only SELECT or WITH queries are allowed, not {first.upper()!r}",
            hint="cross-plane queries are read-only",
        )
    return statement


def run_query(dp: DataPlane, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Rows of one read-only query over the ledger and the operational plane."""
    statement = check_read_only(sql)
    if params is not None and (
        isinstance(params, str | bytes) or not isinstance(params, Mapping | Sequence)
    ):
        raise InvalidInput("params must be a sequence (for ?) or a mapping (for :name)")
    ledger, ops = dp.engine("ledger"), dp.engine("ops")  # both exist and are migrated
    timeout = dp.settings.query_timeout_seconds
    planes = {"ops": ops, "ledger": ledger}
    return ledger.query(statement, params, attach=planes, timeout=timeout)
