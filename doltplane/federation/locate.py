"""Line numbers of keys in TOML text, so a problem can be reported as ``path:line:``.

tomllib keeps no positions, so this scans the text: good enough to point a
person at the right line, never used to read values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def _key_pattern(key: str) -> re.Pattern[str]:
    quoted = re.escape(key)
    return re.compile(rf"""^\s*(?:{quoted}|"{quoted}"|'{quoted}')\s*(?:=|\.)""")


def _header_pattern(key: str) -> re.Pattern[str]:
    quoted = re.escape(key)
    return re.compile(rf"""^\s*\[\[?\s*(?:[^\]]*\.)?(?:{quoted}|"{quoted}")\s*\]\]?""")


def line_of(text: str, path: Sequence[str | int]) -> int:
    """The 1-based line where the value at ``path`` (keys and list indexes) is written."""
    lines = text.splitlines()
    start, found = 0, 1
    last_key: str | None = None
    for part in path:
        if isinstance(part, int):
            if last_key is None:
                break
            header = _header_pattern(last_key)
            seen = -1
            for number in range(start, len(lines)):
                if header.match(lines[number]):
                    seen += 1
                    if seen == part:
                        start, found = number + 1, number + 1
                        break
            continue
        last_key = part
        key, header = _key_pattern(part), _header_pattern(part)
        for number in range(start, len(lines)):
            if key.match(lines[number]) or header.match(lines[number]):
                start, found = number, number + 1
                break
        else:
            break
    return found


def toml_error_line(message: str, text: str = "") -> int:
    """tomllib puts ``(at line N, column M)`` or ``(at end of document)`` in its messages."""
    match = re.search(r"at line (\d+)", message)
    if match:
        return int(match.group(1))
    return max(len(text.splitlines()), 1) if "end of document" in message else 1
