"""How many inputs each fuzz test generates, and the counts the run reports.

- Default suite (``pytest``): ``CI_EXAMPLES`` per test, derandomized, a few seconds in all.
- Full run (``pytest -m fuzz``): ``FULL_EXAMPLES`` per test, random; over 10,000 inputs.
- ``DOLTPLANE_FUZZ_EXAMPLES=N`` sets the number per test for either.

Every input a test runs is counted per area (``count``); the totals are printed at the
end of the run and, when ``DOLTPLANE_FUZZ_REPORT`` names a file, written there as JSON.
"""

from __future__ import annotations

import collections
import os
from typing import Any

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 6
FULL_EXAMPLES = 420
full_run = False  # set by conftest.py when the run selects ``-m fuzz``

INPUTS: collections.Counter[str] = collections.Counter()
"""Area -> inputs run."""
REFUSED: collections.Counter[str] = collections.Counter()
"""Area -> inputs refused with a DoltplaneError (or a documented CLI exit code)."""


def examples(weight: float = 1.0) -> int:
    given = os.environ.get("DOLTPLANE_FUZZ_EXAMPLES")
    base = int(given) if given else FULL_EXAMPLES if full_run else CI_EXAMPLES
    return max(1, int(base * weight))


def fuzz_settings(weight: float = 1.0, **overrides: Any) -> settings:
    return settings(
        max_examples=examples(weight),
        deadline=None,
        derandomize=not full_run,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        **overrides,
    )
