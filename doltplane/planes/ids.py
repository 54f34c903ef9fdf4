"""Record ids that never collide across branches and machines: ``<prefix>-<random>``.

Integer keys collide as soon as two branches (or two databases) insert
independently, so ledger ids are text: a short prefix naming the kind of
record and 12 random base-32 characters (60 bits from ``secrets``), e.g.
``gt-7k2qdx9mfa3c``. A billion ids drawn anywhere give a collision
probability below one in two thousand; the primary key refuses the rest.
"""

from __future__ import annotations

import re
import secrets

from doltplane.errors import InvalidId

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base 32: no i, l, o, u
RANDOM_LENGTH = 12
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,15}")


def new_id(prefix: str) -> str:
    """A fresh id such as ``gt-7k2qdx9mfa3c``."""
    if not _PREFIX.fullmatch(prefix):
        raise InvalidId(f"id prefix must be 1-16 lower-case letters or digits: {prefix!r}")
    bits = int.from_bytes(secrets.token_bytes(8), "big") >> (64 - 5 * RANDOM_LENGTH)
    chars = [_ALPHABET[(bits >> (5 * i)) & 31] for i in range(RANDOM_LENGTH)]
    return prefix + "-" + "".join(chars)
