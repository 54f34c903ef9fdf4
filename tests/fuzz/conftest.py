"""Fuzz suite set-up: the example budget (see budget.py) and the input counts report."""

from __future__ import annotations

import json
import os

import pytest

from . import budget


def pytest_configure(config: pytest.Config) -> None:
    expression = str(config.getoption("markexpr", "") or "")
    budget.full_run = "fuzz" in expression and "not fuzz" not in expression


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not budget.INPUTS:
        return
    total = sum(budget.INPUTS.values())
    refused = sum(budget.REFUSED.values())
    terminalreporter.section("fuzz inputs")
    for area in sorted(budget.INPUTS):
        terminalreporter.write_line(
            f"{area:32} {budget.INPUTS[area]:7,} inputs {budget.REFUSED[area]:7,} refused"
        )
    terminalreporter.write_line(f"{'total':32} {total:7,} inputs {refused:7,} refused")
    report = os.environ.get("DOLTPLANE_FUZZ_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as out:
            json.dump(
                {"inputs": dict(budget.INPUTS), "refused": dict(budget.REFUSED), "total": total},
                out,
                indent=2,
            )
