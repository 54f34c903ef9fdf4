"""Checks on caller input, shared by every plane: ids, branch names, revisions, JSON, times,
numbers, flags, paths and collections.

Each check raises a one-line ``InvalidInput`` subclass before anything is written. Public
functions check every argument here, one helper per kind of value, so that a wrong type
is an ``InvalidInput`` and never a ``TypeError`` or ``AttributeError`` from deep inside.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from doltplane.errors import (
    InvalidBranchName,
    InvalidDocument,
    InvalidId,
    InvalidInput,
    InvalidRevision,
)

MAX_ID_LENGTH = 255
MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays a stored JSON document may have. Python's JSON
code recurses once per level; a document near its limit (about 1,000) stored once would
make every later read of it fail with RecursionError."""
MAX_INTEGER = 2**63 - 1
"""Integers are stored as SQL BIGINT."""
MAX_DAYS = 36_525.0
"""A span of time given in days (retention): at most 100 years, so that ``now - span``
stays a valid datetime."""
_HASH = re.compile(r"[0-9a-v]{32}|[0-9a-f]{40}")
_BRANCH_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*(?:[~^][0-9]*)*")
_RESERVED = {"HEAD", "head", "WORKING", "STAGED", "-", "@"}


def _shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut short: error messages stay one readable line whatever the input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters (and DEL): one regex scan, not a Python loop per char."""


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _is_unicode(text: str) -> bool:
    """False for text holding lone surrogates: what non-UTF-8 bytes in argv or a file name
    become in Python (``surrogateescape``); the database driver cannot encode them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(value: object, what: str, *, max_length: int | None = None) -> str:
    """Free text (a title, a message): non-blank, valid Unicode, at most ``max_length``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be non-empty text, got {_shown(value)}")
    if not _is_unicode(value):
        raise InvalidInput(f"{what} {_shown(value)} is not valid Unicode (non-UTF-8 bytes?)")
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(f"{what} is {len(value)} characters long; the limit is {max_length}")
    return value


def check_id(value: object, what: str = "id") -> str:
    """A record id: non-empty text of at most 255 characters, no control characters."""
    if not isinstance(value, str) or not value:
        raise InvalidId(f"{what} must be non-empty text, got {_shown(value)}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidId(f"{what} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}")
    if _has_control(value):
        raise InvalidId(f"{what} {_shown(value)} contains control characters")
    if not _is_unicode(value):
        raise InvalidId(f"{what} {_shown(value)} is not valid Unicode (non-UTF-8 bytes?)")
    return value


MAX_WORD_LENGTH = 64


def check_word(value: object, what: str) -> str:
    """A short label (a type, a status, an activity): an id of 1 to 64 characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_WORD_LENGTH:
        raise InvalidInput(
            f"{what} must be text of 1 to {MAX_WORD_LENGTH} characters, got {_shown(value)}"
        )
    return check_id(value, what)


def check_optional_id(value: object, what: str) -> str | None:
    """An id-like filter or field that may be absent (None)."""
    return None if value is None else check_id(value, what)


def check_ids(values: object, what: str = "ids") -> list[str]:
    """A collection of ids (a list, tuple, set or other iterable, but not one string)."""
    return [check_id(v, "id") for v in check_collection(values, what)]


def check_collection(values: object, what: str) -> list[Any]:
    """The items of an iterable argument; text, bytes and mappings are refused, since
    iterating them (characters, keys) is never what the caller meant."""
    if isinstance(values, str | bytes | bytearray | Mapping) or not isinstance(values, Iterable):
        raise InvalidInput(f"{what} must be a list or other iterable, got {type(values).__name__}")
    return list(values)


def check_record(
    value: object, what: str, *, allowed: Iterable[str], required: Iterable[str] = ()
) -> dict[str, Any]:
    """A mapping of named fields (one item of a batch): only ``allowed`` names, every
    ``required`` one present; ready to pass on as keyword arguments."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"each {what} must be a mapping, got {type(value).__name__}")
    permitted = frozenset(allowed)  # the same object when it already is one
    if not value.keys() <= permitted:  # a set comparison in C: the common case ends here
        names = [k for k in value if isinstance(k, str)]
        if len(names) != len(value):
            raise InvalidInput(f"{what} field names must be text")
        unknown = sorted(set(names) - permitted)
        raise InvalidInput(f"unknown field(s) in {what}: {', '.join(unknown)}")
    missing = [name for name in required if name not in value]
    if missing:
        raise InvalidInput(f"{what} is missing: {', '.join(missing)}")
    return dict(value)


def check_int(
    value: object, what: str, *, minimum: int | None = 0, maximum: int = MAX_INTEGER
) -> int:
    """A whole number in ``[minimum, maximum]`` (booleans are not numbers)."""
    low = -MAX_INTEGER if minimum is None else minimum
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= maximum:
        bounds = f">= {low}" if minimum is not None else "that fits 64 bits"
        raise InvalidInput(f"{what} must be an integer {bounds}, got {_shown(value)}")
    return value


def check_optional_int(value: object, what: str, *, minimum: int | None = 0) -> int | None:
    return None if value is None else check_int(value, what, minimum=minimum)


def check_limit(value: object, what: str = "limit") -> int | None:
    """A row limit: None (no limit) or an integer >= 0."""
    return check_optional_int(value, what, minimum=0)


def check_number(
    value: object, what: str, *, minimum: float = 0.0, maximum: float = float(MAX_INTEGER)
) -> float:
    """A finite real number in ``[minimum, maximum]``; NaN and infinities are refused."""
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not minimum <= value <= maximum
    ):
        raise InvalidInput(
            f"{what} must be a finite number from {minimum:g} to {maximum:g}, got {_shown(value)}"
        )
    return float(value)


def check_days(value: object, what: str) -> float:
    """A number of days such as a retention window: 0 to ``MAX_DAYS``."""
    return check_number(value, what, maximum=MAX_DAYS)


def check_flag(value: object, what: str) -> bool:
    """A yes/no option: only ``True`` or ``False`` (a string such as "no" is truthy)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{what} must be True or False, got {_shown(value)}")
    return value


def check_callable(value: object, what: str) -> Callable[..., Any] | None:
    """An optional callback (a progress reporter)."""
    if value is not None and not callable(value):
        raise InvalidInput(f"{what} must be callable, got {type(value).__name__}")
    return value


def check_path(value: object, what: str = "path") -> Path:
    """A file system path given as text or ``os.PathLike``."""
    if not isinstance(value, str | os.PathLike) or not str(os.fspath(value)):
        raise InvalidInput(f"{what} must be a file path, got {_shown(value)}")
    text = str(os.fspath(value))
    if "\x00" in text:
        raise InvalidInput(f"{what} {_shown(text)} contains a NUL character")
    return Path(text)


def check_choice(value: object, choices: Iterable[str], what: str) -> str:
    """One of a fixed set of words."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise InvalidInput(f"{what} must be one of {', '.join(options)}; got {_shown(value)}")
    return value


def check_datetime(value: object, what: str) -> dt.datetime:
    """A moment given as a datetime (naive = UTC), as an aware UTC datetime."""
    if not isinstance(value, dt.datetime):
        raise InvalidInput(f"{what} must be a datetime, got {_shown(value)}")
    return utc(value, what)


def check_optional_datetime(value: object, what: str) -> dt.datetime | None:
    return None if value is None else check_datetime(value, what)


def check_branch_name(name: object) -> str:
    """A branch name both Dolt and git accept (and that no command mistakes for an option)."""
    if not isinstance(name, str) or not name:
        raise InvalidBranchName(str(name), "must be non-empty text")
    reason = None
    if name in _RESERVED or name.startswith("-"):
        reason = "reserved, or looks like an option"
    elif len(name) > MAX_ID_LENGTH:
        reason = f"longer than {MAX_ID_LENGTH} characters"
    elif _HASH.fullmatch(name):
        reason = "looks like a commit hash"
    elif not _BRANCH_CHARS.fullmatch(name):
        reason = "only letters, digits and . _ - / are allowed"
    elif ".." in name:
        reason = "contains '..'"
    elif name.startswith("/") or name.endswith("/") or name.endswith(".") or "//" in name:
        reason = "starts or ends with '/', ends with '.', or has an empty component"
    elif any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        reason = "a component starts with '.' or ends with '.lock'"
    if reason:
        raise InvalidBranchName(name, reason)
    return name


def check_revision(revision: object) -> str:
    """A revision spelling: branch, tag, commit hash, optionally with ``~n`` / ``^n``."""
    if not isinstance(revision, str) or not revision:
        raise InvalidRevision(str(revision), "must be non-empty text")
    if len(revision) > MAX_ID_LENGTH or not _REVISION.fullmatch(revision):
        raise InvalidRevision(revision, "not a branch, tag, commit hash or <rev>~n")
    if ".." in revision or revision.endswith(".lock"):
        raise InvalidRevision(revision, "ranges are not revisions")
    return revision


def json_object(value: object, what: str = "state") -> dict[str, Any]:
    """A JSON object, from a mapping or from JSON text; anything else is InvalidDocument.

    Every JSON document doltplane stores passes here: no deeper than ``MAX_JSON_DEPTH``,
    only text keys, no NaN, only valid Unicode.
    """
    return json_document(value, what)[0]


def json_document(value: object, what: str = "state") -> tuple[dict[str, Any], str]:
    """``json_object``'s document and its JSON text, for a caller that stores the text
    (so that it is serialized once). Checked with one walk over the containers and one
    serialization: per-string checks cost more than the write on hot paths."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidDocument(f"{what} is not valid JSON: {exc}") from None
        except RecursionError:
            raise _too_deep(what) from None
    if not isinstance(value, Mapping):
        raise InvalidDocument(f"{what} must be a JSON object, got {type(value).__name__}")
    try:
        text = _ENCODER.encode(value)
    except RecursionError:
        raise _too_deep(what) from None
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"{what} is not JSON-serializable: {exc}") from None
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        # brackets counted in the text (strings' too) bound the depth from above: only a
        # document with more of them is walked (measured: the walk was a third of set_many)
        _check_json_depth(value, what)
    if not text.isascii() and not _is_unicode(text):  # isascii: a C scan, no copy
        _check_json_tree(value, what)  # names the text at fault
    # parsed back: the caller gets what was stored (tuples as lists, keys as text); an
    # object's text always parses to a dict
    document: dict[str, Any] = json.loads(text)
    return document, text


_ENCODER = json.JSONEncoder(allow_nan=False, ensure_ascii=False)
"""Made once: ``json.dumps`` with any option builds a new encoder per call."""


def _check_json_depth(root: Mapping[Any, Any], what: str) -> None:
    """No container deeper than ``MAX_JSON_DEPTH``, walked without recursion (a hostile
    document may be deeper than Python's stack)."""
    pending: list[tuple[Any, int]] = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(what)
        children = node.values() if isinstance(node, Mapping) else node
        # only dicts, lists and tuples serialize: any other container fails in json.dumps
        pending.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list | tuple)
        )


def _too_deep(what: str) -> InvalidDocument:
    return InvalidDocument(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep")


def _check_json_tree(root: Mapping[Any, Any], what: str) -> None:
    """Depth and text of a document, walked without recursion (a hostile document may be
    deeper than Python's stack)."""
    pending: list[tuple[object, int]] = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if not _is_unicode(node):
                raise InvalidDocument(
                    f"{what} holds text that is not valid Unicode: {_shown(node)}"
                )
            continue
        if isinstance(node, Mapping):
            children: Iterable[object] = [*node.keys(), *node.values()]
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise _too_deep(what)
        pending.extend((child, depth + 1) for child in children)


def utc(moment: dt.datetime, what: str = "time") -> dt.datetime:
    """An aware UTC datetime; naive datetimes are taken to be UTC. A moment that has no
    UTC equivalent (9999-12-31T23:59-14:00 is in the year 10000) is InvalidInput."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidInput(
            f"{what} {moment.isoformat()} is outside the years 1 to 9999 in UTC"
        ) from None


_OUT_OF_RANGE = "outside the supported range: the years 1 to 9999 in UTC"


def parse_time(text: str) -> dt.datetime:
    """ISO-8601 text (``Z`` allowed) as an aware UTC datetime; InvalidRevision otherwise."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRevision(text, "not a valid ISO-8601 timestamp") from None
    return check_time(moment)


def check_time(moment: object) -> dt.datetime:
    """A moment as aware UTC; one that UTC cannot hold (past year 9999 or before year 1
    once its offset is applied) is InvalidRevision."""
    if not isinstance(moment, dt.datetime):
        raise InvalidRevision(repr(moment), "not a datetime")
    try:
        return utc(moment)
    except InvalidInput:
        raise InvalidRevision(moment.isoformat(), _OUT_OF_RANGE) from None


def parse_when(when: object) -> dt.datetime | str:
    """A moment: a datetime or ISO-8601 text becomes UTC; anything else must be a revision."""
    if isinstance(when, dt.datetime):
        return check_time(when)
    if isinstance(when, dt.date):
        return check_time(dt.datetime.combine(when, dt.time()))
    if isinstance(when, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", when):
        return parse_time(when)
    return check_revision(when)
