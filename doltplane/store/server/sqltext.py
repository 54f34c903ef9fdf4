"""Shared SQL (``?`` parameters, ``"quoted"`` names) for pymysql (``%s`` parameters).

The server's connections run with ``ANSI_QUOTES``, so double quotes name columns on
both engines; only the parameter markers differ. Markers inside string literals and
quoted names are left alone, and a literal ``%`` is doubled where pymysql formats.
"""

from __future__ import annotations

import functools
import re

_TOKENS = re.compile(r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"]|"")*"|`[^`]*`|\?|%""")


@functools.lru_cache(maxsize=512)
def to_format(sql: str) -> str:
    """``sql`` with each ``?`` marker as ``%s`` (unchanged when it has no marker)."""
    if "?" not in sql:
        return sql

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if token.startswith("'"):
            return token.replace("%", "%%")
        return token

    return _TOKENS.sub(swap, sql)
