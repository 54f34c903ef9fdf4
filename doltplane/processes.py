"""Whether a process that left something behind (a scratch branch, a half-pushed remote, a
half-restored folder) is still running on this host."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True unless ``pid`` is certainly gone: a leftover is removed only when its owner is
    known to be dead, so a process we may not signal counts as alive."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's live process
        return True
    return True
