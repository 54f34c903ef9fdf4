"""Checks on caller input, shared by every plane: ids, branch names, revisions, JSON, times.

Each check raises a one-line ``InvalidInput`` subclass before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from doltplane.errors import InvalidBranchName, InvalidDocument, InvalidId, InvalidRevision

MAX_ID_LENGTH = 255
_HASH = re.compile(r"[0-9a-v]{32}|[0-9a-f]{40}")
_BRANCH_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*(?:[~^][0-9]*)*")
_RESERVED = {"HEAD", "head", "WORKING", "STAGED", "-", "@"}


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def check_id(value: object, what: str = "id") -> str:
    """A record id: non-empty text of at most 255 characters, no control characters."""
    if not isinstance(value, str) or not value:
        raise InvalidId(f"{what} must be non-empty text, got {value!r}")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidId(f"{what} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}")
    if _has_control(value):
        raise InvalidId(f"{what} {value!r} contains control characters")
    return value


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
    """A JSON object, from a mapping or from JSON text; anything else is InvalidDocument."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidDocument(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise InvalidDocument(f"{what} must be a JSON object, got {type(value).__name__}")
    try:
        # round-trip proves it is storable as JSON (no sets, no NaN surprises, str keys)
        return dict(json.loads(json.dumps(value, allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"{what} is not JSON-serializable: {exc}") from None


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; naive datetimes are taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def check_time(moment: object) -> dt.datetime:
    """A moment as aware UTC; one that UTC cannot hold (past year 9999 or before year 1
    once its offset is applied) is InvalidRevision."""
    if not isinstance(moment, dt.datetime):
        raise InvalidRevision(repr(moment), "not a datetime")
    try:
        return utc(moment)
    except OverflowError:
        raise InvalidRevision(
            moment.isoformat(), "outside the supported range (years 1 to 9999 in UTC)"
        ) from None


def parse_when(when: object) -> dt.datetime | str:
    """A moment: a datetime or ISO-8601 text becomes UTC; anything else must be a revision."""
    if isinstance(when, dt.datetime):
        return check_time(when)
    if isinstance(when, dt.date):
        return check_time(dt.datetime.combine(when, dt.time()))
    if isinstance(when, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", when):
        try:
            moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRevision(when, "not a valid ISO-8601 timestamp") from None
        return check_time(moment)
    return check_revision(when)
