"""A catalog in the shapes of a real Gas Town catalog validates with the starter rules as it is.

The files here are written for these tests (made-up roles and formulas); they
use the structures and field kinds real Gas Town roles and formulas use:
literal-string keys, snake_case and dotted ids, ``[vars]`` tables and string
shorthands, ``needs``, gates, parallel steps with ``children``, convoy
``[[legs]]`` with ``[synthesis]``, expansion ``[[template]]`` steps with
placeholder ids, ``extends`` and ``[compose]``. The starter rules must accept
them unchanged and still catch the mistakes that matter.
"""

from __future__ import annotations

import re

import pytest

from doltplane.federation import Federation
from doltplane.federation.models import Formula, Role

from .conftest import write

ROLES = {
    "roles/lamplighter.toml": """\
# Keeps the lights on across the whole town.
role = "lamplighter"
scope = "town"
nudge = "Look at your queue, then go."
prompt_template = "lamplighter.md.tmpl"

[session]
pattern = "town-{name}"
work_dir = "{town}/lamplighter"
needs_pre_sync = true
start_command = "exec agent --quiet"

[env]
GT_ROLE = "lamplighter"
GT_SCOPE = "town"

[health]
ping_timeout = "45s"
consecutive_failures = 2
kill_cooldown = "10m"
stuck_threshold = "1h30m"
""",
    "roles/tinker.toml": """\
role = "tinker"
scope = "rig"
nudge = "Pick up the next job."
prompt_template = "tinker.md.tmpl"
emoji = "T"
autonomous = false

[session]
pattern = "{prefix}-{name}"
work_dir = "{town}/{rig}/tinkers/{name}"
needs_pre_sync = false

[env]
GT_ROLE = "{rig}/tinkers/{name}"
GT_SCOPE = "rig"

[health]
ping_timeout = "15s"
consecutive_failures = 5
kill_cooldown = "2m"
stuck_threshold = "3h"
""",
}

PATROL_V1 = """\
description = "Walk the yard once."
formula = 'mol-yard-walk'
version = 1

[[steps]]
id = 'look'
title = 'Look around'
description = "See what is there."
"""

PATROL_V2 = """\
description = "Walk the yard and sweep what is left behind.\\n\\nRuns in a loop."
formula = 'mol-yard-walk'
version = 2
type = "workflow"

[vars]
yard = "north"

[vars.sweep_age]
description = "How old a leftover must be before it goes"
default = "2h"

[vars.strict]
description = "Refuse to guess"
required = true

[[steps]]
description = "Read the notes left by the last walk."
id = 'read-notes'
title = 'Read notes'

[[steps]]
description = "Mark what is still waiting."
id = 'mark_waiting'
needs = ['read-notes']
title = 'Mark waiting'

[[steps]]
description = "Sweep in parallel."
id = 'sweep'
needs = ['mark_waiting']
title = 'Sweep'
type = "parallel"

[[steps.children]]
description = "The east side."
id = 'sweep-east'
title = 'Sweep east'

[[steps.children]]
description = "The west side."
id = 'sweep-west'
title = 'Sweep west'

[[steps]]
description = "Only when something was left."
id = 'report.1'
needs = ['sweep', 'sweep-east']
title = 'Report'
acceptance = "A report exists."

[steps.gate]
type = "conditional"
condition = "found_leftovers"

[squash]
trigger = "on_complete"
template_type = "work"
include_metrics = true
"""

CONVOY = """\
description = "Several readers look at one change from different sides."
formula = "change-reading"
type = "convoy"
version = 1

[inputs]
[inputs.change]
description = "The change to read"
type = "string"
required_unless = ["paths"]

[inputs.paths]
description = "Paths to read"
type = "string"
required = false

[prompts]
base = "Read {{change}} for {{leg.focus}}."

[output]
directory = "readings/{{id}}"
leg_pattern = "{{leg.id}}.md"
synthesis = "summary.md"

[[legs]]
id = "clarity"
title = "Clarity"
focus = "Is it easy to follow"
description = "Look for names and structure."

[[legs]]
id = "risk"
title = "Risk"
focus = "What could break"
description = "Look for edges."

[synthesis]
title = "Summary"
description = "Fold the readings into one."
depends_on = ["clarity", "risk"]
"""

EXPANSION = """\
description = "Write, then check, then polish: wraps any step."
formula = "write-check-polish"
type = "expansion"
version = 3

[[template]]
id = "{target}.write"
title = "Write: {target.title}"
description = "First pass."

[[template]]
id = "{target}.check"
needs = ["{target}.write"]
title = "Check"
description = "Second pass."
acceptance = "Checked."
"""

DERIVED = """\
description = "The yard walk with polishing folded in."
extends = ["mol-yard-walk"]
formula = "yard-walk-polished.v2"
type = "workflow"
version = 1

[compose]
aspects = ["write-check-polish"]

[[compose.expand]]
target = "sweep"
with = "write-check-polish"
"""

FORMULAS = {
    "formulas/mol-yard-walk.formula.toml": PATROL_V2,
    "formulas/mol-yard-walk-v1.formula.toml": PATROL_V1,
    "formulas/change-reading.formula.toml": CONVOY,
    "formulas/write-check-polish.formula.toml": EXPANSION,
    "formulas/yard-walk-polished.formula.toml": DERIVED,
}


def add_catalog(fed: Federation) -> None:
    for path, text in {**ROLES, **FORMULAS}.items():
        write(fed, path, text)


def test_gastown_shaped_catalog_validates_and_resolves(site_a: Federation) -> None:
    add_catalog(site_a)
    assert site_a.validate().problems == []
    site_a.push(review=False, message="gastown-shaped catalog")

    role = site_a.get("role", "lamplighter")
    assert isinstance(role, Role)
    assert role.scope == "town"
    assert role.table("health")["stuck_threshold"] == "1h30m"
    assert site_a.versions("mol-yard-walk") == [1, 2]
    latest = site_a.get("formula", "mol-yard-walk")
    assert isinstance(latest, Formula) and latest.version == 2
    assert [s.id for s in latest.steps] == ["read-notes", "mark_waiting", "sweep", "report.1"]
    assert latest.steps[3].needs == ["sweep", "sweep-east"]
    assert latest.data["vars"]["yard"] == "north"
    first = site_a.get("formula", "mol-yard-walk", version=1)
    assert isinstance(first, Formula) and first.path == "formulas/mol-yard-walk-v1.formula.toml"
    assert site_a.get("formula", "yard-walk-polished.v2").data["extends"] == ["mol-yard-walk"]
    convoy = site_a.get("formula", "change-reading")
    assert isinstance(convoy, Formula) and len(convoy.data["legs"]) == 2
    names = {(e.kind, e.name) for e in site_a.list()}
    assert {("role", "tinker"), ("formula", "write-check-polish")} <= names


def line_with(text: str, needle: str, occurrence: int = 1) -> int:
    """The line of the ``occurrence``-th line holding ``needle``."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        pytest.param(
            "formulas/mol-yard-walk.formula.toml",
            PATROL_V2.replace("formula = 'mol-yard-walk'\n", ""),
            [
                (None, "'formula' is a required property"),
                (None, "missing required key 'formula'"),
            ],
            id="missing-formula",
        ),
        pytest.param(
            "formulas/change-reading.formula.toml",
            CONVOY.replace("version = 1", 'version = "1"'),
            [
                ("version =", "version must be a non-negative integer, got '1'"),
                ("version =", "version: '1' is not of type 'integer'"),
            ],
            id="version-text",
        ),
        pytest.param(
            "formulas/write-check-polish.formula.toml",
            EXPANSION.replace("version = 3", "version = 3.5"),
            [
                ("version =", "version must be a non-negative integer, got 3.5"),
                ("version =", "version: 3.5 is not of type 'integer'"),
            ],
            id="version-float",
        ),
        pytest.param(
            "formulas/mol-yard-walk.formula.toml",
            PATROL_V2.replace("needs = ['mark_waiting']", "needs = ['mark-waiting']"),
            [
                (
                    "needs = ['mark-waiting']",
                    "steps[].needs[] = 'mark-waiting' is not a step id in this file (known: "
                    "mark_waiting, read-notes, report.1, sweep, sweep-east, sweep-west)",
                )
            ],
            id="needs-unknown-step",
        ),
        pytest.param(
            "formulas/mol-yard-walk.formula.toml",
            PATROL_V2.replace("id = 'read-notes'\n", "id = 'read-notes'\nneeds = ['report.1']\n"),
            [
                (
                    "needs = ['mark_waiting']",
                    "steps[].needs[] = 'mark_waiting' closes a cycle of steps: "
                    "mark_waiting -> read-notes -> report.1 -> sweep -> mark_waiting",
                )
            ],
            id="needs-cycle",
        ),
        pytest.param(
            "formulas/mol-yard-walk.formula.toml",
            PATROL_V2.replace("needs = ['mark_waiting']", "needs = ['mark_waiting', 'sweep']"),
            [
                (
                    "needs = ['mark_waiting', 'sweep']",
                    "steps[].needs[] = 'sweep' closes a cycle of steps: sweep -> sweep",
                )
            ],
            id="needs-itself",
        ),
        pytest.param(
            "formulas/mol-yard-walk.formula.toml",
            PATROL_V2.replace("id = 'sweep-west'", "id = 'sweep-east'"),
            [
                (
                    "id = 'sweep-east'#2",
                    "duplicate step id 'sweep-east' (first at line <id = 'sweep-east'#1>)",
                )
            ],
            id="duplicate-step-id",
        ),
        pytest.param(
            "formulas/change-reading.formula.toml",
            CONVOY.replace('depends_on = ["clarity", "risk"]', 'depends_on = ["clarity", "risks"]'),
            [
                (
                    "depends_on",
                    "synthesis.depends_on[] = 'risks' is not a leg id in this file "
                    "(known: clarity, risk)",
                )
            ],
            id="synthesis-unknown-leg",
        ),
        pytest.param(
            "formulas/write-check-polish.formula.toml",
            EXPANSION.replace('needs = ["{target}.write"]', 'needs = ["{target}.draft"]'),
            [
                (
                    "needs =",
                    "template[].needs[] = '{target}.draft' is not a template-step id in this "
                    "file (known: {target}.check, {target}.write)",
                )
            ],
            id="template-unknown-step",
        ),
        pytest.param(
            "roles/tinker.toml",
            ROLES["roles/tinker.toml"].replace('ping_timeout = "15s"', 'ping_timeout = "15 sec"'),
            [
                (
                    "ping_timeout",
                    "health.ping_timeout: '15 sec' does not match "
                    "'^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$'",
                )
            ],
            id="role-bad-duration",
        ),
    ],
)
def test_real_mistakes_are_caught(
    site_a: Federation, path: str, text: str, expected: list[tuple[str | None, str]]
) -> None:
    """Each mistake is one ``path:line: message`` at the line where it is written."""

    def where(needle: str | None) -> int:
        if needle is None:
            return 1
        needle, _, nth = needle.partition("#")
        return line_with(text, needle, int(nth or 1))

    add_catalog(site_a)
    write(site_a, path, text)
    wanted = [
        f"{path}:{where(needle)}: " + re.sub(r"<(.+?)>", lambda m: str(where(m.group(1))), message)
        for needle, message in expected
    ]
    assert site_a.validate().problems == sorted(wanted, key=lambda p: (int(p.split(":")[1]), p))


def test_duplicate_names_are_caught(site_a: Federation) -> None:
    add_catalog(site_a)
    write(site_a, "roles/tinker-again.toml", ROLES["roles/tinker.toml"])
    write(site_a, "formulas/yard-walk-copy.formula.toml", PATROL_V1)
    assert site_a.validate().problems == [
        "formulas/mol-yard-walk-v1.formula.toml:2: duplicate formula 'mol-yard-walk' version 1 "
        "(also in formulas/yard-walk-copy.formula.toml)",
        "formulas/yard-walk-copy.formula.toml:2: duplicate formula 'mol-yard-walk' version 1 "
        "(also in formulas/mol-yard-walk-v1.formula.toml)",
        "roles/tinker-again.toml:1: duplicate role 'tinker' (also in roles/tinker.toml)",
        "roles/tinker.toml:1: duplicate role 'tinker' (also in roles/tinker-again.toml)",
    ]
