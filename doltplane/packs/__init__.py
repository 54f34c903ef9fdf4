"""Schema packs: bring your own tables, with migrations, history, retention and safe writes.

A :class:`Pack` names a plane, its SQLAlchemy ``MetaData``, an Alembic versions
folder (its own branch of the plane's migrations), retention rules, seed rows,
views, state machines and idempotency scopes. Packs are found through the
``doltplane.packs`` entry-point group and by :func:`register`; ``dp.packs``
installs them and ``dp.table(name)`` reads and writes their tables.
"""

from __future__ import annotations

from doltplane.packs.model import Pack, Retention, StateMachine
from doltplane.packs.registry import available, get, register, unregister

__all__ = ["Pack", "Retention", "StateMachine", "available", "get", "register", "unregister"]
