"""Where packs come from: the ``doltplane.packs`` entry-point group and ``register``."""

from __future__ import annotations

import threading
from importlib.metadata import entry_points
from types import ModuleType

from doltplane.errors import InvalidInput, NotFound
from doltplane.packs.model import Pack

GROUP = "doltplane.packs"
_lock = threading.Lock()
_registered: dict[str, Pack] = {}
_discovered: dict[str, Pack] | None = None


def register(pack: Pack) -> Pack:
    """Make ``pack`` available in this process (a pack of the same name is replaced)."""
    if not isinstance(pack, Pack):
        raise InvalidInput(f"register() takes a Pack, not {type(pack).__name__}")
    with _lock:
        _registered[pack.name] = pack
    return pack


def unregister(name: str) -> None:
    with _lock:
        _registered.pop(name, None)


def _load(value: object, where: str) -> Pack:
    if isinstance(value, ModuleType):
        value = getattr(value, "pack", None)
    if not isinstance(value, Pack):
        raise InvalidInput(f"entry point {where} in {GROUP} is not a Pack")
    return value


def _discover() -> dict[str, Pack]:
    global _discovered
    with _lock:
        if _discovered is None:
            found: dict[str, Pack] = {}
            for point in entry_points(group=GROUP):
                found[point.name] = _load(point.load(), point.value)
            _discovered = found
        return dict(_discovered)


def available() -> dict[str, Pack]:
    """Every pack this process can install: entry points, then registered ones over them."""
    packs = _discover()
    with _lock:
        packs.update(_registered)
    return dict(sorted(packs.items()))


def get(name: str) -> Pack:
    packs = available()
    if name not in packs:
        known = ", ".join(packs) or "none"
        raise NotFound("pack", name, hint=f"available packs: {known}")
    return packs[name]
