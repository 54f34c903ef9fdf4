"""What doltplane records at the foot of every commit message it writes, and reads back.

Dolt commit dates have one-second resolution, so two commits in one second
cannot be told apart by date. Every commit doltplane makes ends with a block
of trailer lines::

    <message people read>

    doltplane-time: 2026-11-27T21:03:04.123456Z
    doltplane-replaces: <hash this commit replays>   (after a history squash)
    doltplane-squashed: 57                           (the commit a squash folded into)

The block is the last paragraph of the message; only lines of these keys
count, so text people wrote above it is never taken for a trailer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence

TIME = "doltplane-time"
REPLACES = "doltplane-replaces"
SQUASHED = "doltplane-squashed"

_LINE = re.compile(rf"({TIME}|{REPLACES}|{SQUASHED}): (\S+)")
_HASH = re.compile(r"[0-9a-v]{20,64}")


@dataclasses.dataclass(frozen=True)
class Trailers:
    """The facts a commit message carries: its precise time (None: not recorded), the
    hashes it replaces (earlier hashes of the same content), and how many commits it folds."""

    time: dt.datetime | None = None
    replaces: tuple[str, ...] = ()
    squashed: int = 0


def format_time(moment: dt.datetime) -> str:
    # isoformat, not strftime: strftime does not pad years before 1000 to four digits
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def stamp(message: str, trailers: Trailers) -> str:
    """``message`` followed by its trailer block (the message alone when there is nothing)."""
    lines = []
    if trailers.time is not None:
        lines.append(f"{TIME}: {format_time(trailers.time)}")
    lines += [f"{REPLACES}: {old}" for old in dict.fromkeys(trailers.replaces)]
    if trailers.squashed:
        lines.append(f"{SQUASHED}: {trailers.squashed}")
    if not lines:
        return message
    return message.rstrip("\n") + "\n\n" + "\n".join(lines)


def parse(message: str) -> tuple[str, Trailers]:
    """The message as people should see it, and the trailers its last paragraph holds."""
    body, sep, block = message.rstrip("\n").rpartition("\n\n")
    if not sep:
        return message, Trailers()
    time: dt.datetime | None = None
    replaces: list[str] = []
    squashed = 0
    for line in block.split("\n"):
        match = _LINE.fullmatch(line.strip())
        if match is None:
            return message, Trailers()  # not a block doltplane wrote: all of it is message
        key, value = match.groups()
        if key == TIME:
            time = _parse_time(value)
        elif key == REPLACES and _HASH.fullmatch(value):
            replaces.append(value)
        elif key == SQUASHED and value.isdigit():
            squashed = int(value)
    return body, Trailers(time, tuple(replaces), squashed)


def _parse_time(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def carried(replaces: Sequence[str], current: str) -> tuple[str, ...]:
    """The aliases a replay of the commit ``current`` carries: its own hash first, then
    every earlier hash it already replaced."""
    return tuple(dict.fromkeys([current, *replaces]))
