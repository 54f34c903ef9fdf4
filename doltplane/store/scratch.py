"""Names of the short-lived branches doltplane makes itself, and who owns them.

A squash builds its new history on a scratch branch and a conflict preview
merges into one. A process killed in the middle leaves the branch behind, and
a branch pins every commit it reaches (and so keeps old history from being
collected). Each name therefore carries its owner: host, process id, creation
time and a random part, e.g. ``doltplane-tmp/build-7-4242-1764280000-1f2e3d``.
A leftover whose owner process is gone from this host, or that is older than
any scratch work takes (``SCRATCH_MAX_AGE_SECONDS``, also for other hosts whose
processes we cannot see), is removed by the next open, cleanup or prune.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import socket
import time

from doltplane.processes import process_alive

SQUASH_PREFIX = "doltplane-squash-"
"""History rewrites of ``squash_before`` (operational cleanup)."""
PREVIEW_PREFIX = "doltplane-tmp/"
"""Merge previews (``AgentSession.conflicts()``)."""
PREFIXES = (SQUASH_PREFIX, PREVIEW_PREFIX)

SCRATCH_MAX_AGE_SECONDS = 3600.0
"""No scratch work lasts this long: older leftovers go whoever made them."""

_START_SLACK_SECONDS = 2.0  # boot time in /proc/stat has one-second resolution
_OWNER = re.compile(r"(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)-(?P<created>\d+)-(?P<nonce>[0-9a-f]+)")
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")


@dataclasses.dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    created: float
    """Unix time the branch was named."""


def this_host() -> str:
    return _HOST_UNSAFE.sub("-", socket.gethostname()).strip("-")[:40] or "host"


def scratch_branch_name(prefix: str) -> str:
    """A fresh scratch branch name under ``prefix`` that names this process as its owner."""
    if prefix not in PREFIXES:
        raise ValueError(f"not a scratch prefix: {prefix!r}")
    return f"{prefix}{this_host()}-{os.getpid()}-{int(time.time())}-{secrets.token_hex(4)}"


def is_scratch(name: str) -> bool:
    return name.startswith(PREFIXES)


def owner_of(name: str) -> Owner | None:
    """The owner a scratch name records; None for any other name or an ownerless
    (older doltplane's) scratch name."""
    prefix = next((p for p in PREFIXES if name.startswith(p)), None)
    if prefix is None:
        return None
    match = _OWNER.fullmatch(name[len(prefix) :])
    if match is None:
        return None
    return Owner(match["host"], int(match["pid"]), float(match["created"]))


def _process_started(pid: int) -> float | None:
    """Unix time process ``pid`` started (Linux ``/proc``); None where that is unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(float(line.split()[1]) for line in handle if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def is_leftover(name: str, *, now: float | None = None) -> bool:
    """Whether a scratch branch's owner is gone: its process died on this host, it is
    older than any scratch work takes, or it carries no owner at all (made by a doltplane
    from before names carried one)."""
    if not is_scratch(name):
        return False
    owner = owner_of(name)
    if owner is None:
        return True
    moment = time.time() if now is None else now
    if moment - owner.created > SCRATCH_MAX_AGE_SECONDS:
        return True
    if owner.host != this_host():
        return False
    if not process_alive(owner.pid):
        return True
    # a live process with that id that started after the name was made reuses the id
    started = _process_started(owner.pid)
    return started is not None and started > owner.created + _START_SLACK_SECONDS
