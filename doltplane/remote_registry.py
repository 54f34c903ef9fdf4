"""The named Dolt remotes of one data directory: validated, and kept outside the databases.

Which remotes a site uses and when it last pushed are facts about this machine,
not about the data: they live in ``<data_dir>/remotes.json`` (written atomically
under a file lock), never in a versioned table, so pulling another site's ledger
can never conflict on them.

A remote URL names a folder of plane databases: ``file:///backups/site1`` holds
``ledger.db`` and ``ops.db``; ``http://host:port`` is a ``doltplane backup serve``
(or any doltlite remote server) holding the same files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from doltplane.errors import InvalidInput, NotFound

REGISTRY_FILE = "remotes.json"
RESTORE_MARKER = ".doltplane-restoring"
"""Present in a data directory while a restore fills it; such a directory is refused."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_RESERVED_NAMES = {"origin", "remotes", "head", "main"}
_URL_PATH = re.compile(r"[A-Za-z0-9._~/+-]*")
_MAX_URL = 2048


def check_remote_name(name: object) -> str:
    """A remote name: a letter, then letters, digits, ``_`` or ``-`` (64 at most)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"invalid remote name {name!r}: use a letter, then letters, digits, _ or - "
            "(64 characters at most)"
        )
    if name.lower() in _RESERVED_NAMES:
        raise InvalidInput(f"invalid remote name {name!r}: reserved")
    return name


def check_remote_url(url: object, *, data_dir: Path | None = None) -> str:
    """A remote base URL, normalised: ``file:///abs/folder`` or ``http(s)://host[:port][/path]``.

    Nothing but these two schemes; no credentials, query or fragment; no ``.``
    or ``..`` path components; a file remote is never inside the data directory
    it backs up.
    """
    if not isinstance(url, str) or not url:
        raise InvalidInput(f"a remote URL must be non-empty text, got {url!r}")
    if len(url) > _MAX_URL or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidInput(f"invalid remote URL {url[:80]!r}: too long or has spaces/control chars")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"invalid remote URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("file", "http", "https"):
        raise InvalidInput(
            f"invalid remote URL {url!r}: only file:// and http(s):// remotes are supported"
        )
    if parts.query or parts.fragment or "@" in parts.netloc or "?" in url or "#" in url:
        raise InvalidInput(f"invalid remote URL {url!r}: no credentials, query or fragment")
    path = parts.path
    if not _URL_PATH.fullmatch(path):
        raise InvalidInput(
            f"invalid remote URL {url!r}: the path may hold only letters, digits and . _ ~ / + -"
        )
    if any(part in (".", "..") for part in path.split("/")):
        raise InvalidInput(f"invalid remote URL {url!r}: '.' and '..' are not allowed in the path")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not path.startswith("/") or path == "/":
            raise InvalidInput(f"invalid remote URL {url!r}: use file:///absolute/folder")
        folder = Path(path).resolve()
        if data_dir is not None:
            here = data_dir.resolve()
            if folder == here or here in folder.parents:
                raise InvalidInput(
                    f"invalid remote URL {url!r}: a backup cannot live inside the data directory"
                )
        return "file://" + str(folder).rstrip("/")
    if not parts.hostname:
        raise InvalidInput(f"invalid remote URL {url!r}: no host")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{port}" if port is not None else "")
    return f"{scheme}://{netloc}{path.rstrip('/')}"


def plane_url(base: str, plane: str) -> str:
    """The URL of one plane's database under a remote's base URL."""
    return f"{base}/{plane}.db"


@dataclasses.dataclass(frozen=True)
class Remote:
    """A named remote of this data directory and what this machine last pushed to it."""

    name: str
    url: str
    added_at: dt.datetime
    last_push: dt.datetime | None = None
    pushed: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    """plane -> branch -> the commit this machine last pushed (or restored) there."""

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "added_at": self.added_at.isoformat(),
            "last_push": self.last_push.isoformat() if self.last_push else None,
            "pushed": self.pushed,
        }

    @classmethod
    def from_json(cls, name: str, raw: Any) -> Remote:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise InvalidInput(f"{REGISTRY_FILE}: remote {name!r} is malformed")
        last = raw.get("last_push")
        pushed = raw.get("pushed") or {}
        return cls(
            name=name,
            url=raw["url"],
            added_at=dt.datetime.fromisoformat(raw.get("added_at") or "1970-01-01T00:00:00+00:00"),
            last_push=dt.datetime.fromisoformat(last) if isinstance(last, str) else None,
            pushed={str(p): {str(b): str(h) for b, h in v.items()} for p, v in pushed.items()},
        )


class Registry:
    """``remotes.json`` of one data directory; every change is read-modify-write under a lock."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / REGISTRY_FILE

    def check_usable(self) -> None:
        """Refuse a data directory that a restore has not finished filling."""
        if (self.data_dir / RESTORE_MARKER).exists():
            raise InvalidInput(
                f"{self.data_dir} is a half-finished restore",
                hint="delete it and run `doltplane backup restore` again",
            )

    def _read(self) -> dict[str, Remote]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            entries = raw["remotes"]
            if not isinstance(entries, dict):
                raise TypeError("remotes is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{self.path} is malformed: {exc}") from None
        return {name: Remote.from_json(name, value) for name, value in entries.items()}

    def all(self) -> list[Remote]:
        self.check_usable()
        return sorted(self._read().values(), key=lambda r: r.name)

    def get(self, name: str) -> Remote:
        check_remote_name(name)
        found = {r.name: r for r in self.all()}.get(name)
        if found is None:
            raise NotFound("remote", name, hint="add it with `doltplane backup add NAME URL`")
        return found

    @contextmanager
    def editing(self) -> Iterator[dict[str, Remote]]:
        """The remotes, to change in place; written back atomically when the block ends."""
        self.check_usable()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / f".{REGISTRY_FILE}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            remotes = self._read()
            yield remotes
            self._write(remotes)

    def _write(self, remotes: dict[str, Remote]) -> None:
        text = json.dumps(
            {"version": 1, "remotes": {n: r.to_json() for n, r in sorted(remotes.items())}},
            indent=2,
        )
        write_atomically(self.path, text)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader (or a crash) sees the old or the new file."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
