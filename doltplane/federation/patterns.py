"""Regular expressions written in federation files, run by RE2.

Patterns in ``validation-rules.yaml`` and in ``config/rig-schema.json`` come
from other sites. Python's ``re`` backtracks, so one pattern such as
``(a+)+$`` can hold ``validate``, ``push`` and ``review merge`` forever on a
short value; RE2 matches in time linear in the text whatever the pattern.
The price is RE2's syntax: no backreferences or lookaround, which a pattern
then reports as a problem instead of being run.
"""

from __future__ import annotations

import functools
from typing import Any

import re2


class BadPattern(ValueError):
    """A pattern RE2 cannot compile (invalid, or a feature RE2 leaves out)."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would otherwise write every bad pattern to stderr
    return options


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern, or BadPattern with RE2's reason."""
    if not isinstance(pattern, str):
        raise BadPattern(f"a pattern must be text, got {type(pattern).__name__}")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise BadPattern(f"RE2 cannot use this pattern: {reason}") from None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text`` (JSON Schema's ``pattern``)."""
    return compile_pattern(pattern).search(text) is not None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches the whole of ``text`` (the rules file's ``patterns``)."""
    return compile_pattern(pattern).fullmatch(text) is not None
