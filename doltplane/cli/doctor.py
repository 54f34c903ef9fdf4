"""``doltplane doctor``: every check with its fix; exits 13 when something is wrong."""

from __future__ import annotations

import click

from doltplane.cli.common import CliState, echo_json, echo_table

_MARK = {"ok": "ok", "info": "info", "warning": "WARN", "error": "FAIL"}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check versions (Python, libraries, engine, dolt, git), data directory permissions,
    leftover scratch branches, stale agent branches, storage against retention, firing
    alerts and a service lock left by a dead process; each problem comes with its fix.
    Exits 13 when any check warns or fails (0: healthy). Reads only."""
    from doltplane.doctor import doctor as run
    from doltplane.errors import DoctorFoundProblems

    state = ctx.find_object(CliState)
    report = run(state.overrides if state is not None else {})
    if as_json:
        echo_json({**_fields(report), "ok": report.ok, "problems": len(report.problems)})
    else:
        echo_table(
            [
                {
                    "check": c.name,
                    "status": _MARK[c.status],
                    "detail": c.detail,
                    "fix": c.hint or "",
                }
                for c in report.checks
            ],
            ["check", "status", "detail", "fix"],
            title=f"doltplane doctor: {report.data_dir} ({report.engine} engine)",
        )
    if not report.ok:
        names = ", ".join(c.name for c in report.problems)
        raise DoctorFoundProblems(f"{len(report.problems)} problem(s): {names}")
    if not as_json:
        click.echo("healthy: no problems found")


def _fields(report: object) -> dict[str, object]:
    from doltplane.cli.common import to_jsonable

    value = to_jsonable(report)
    assert isinstance(value, dict)
    return value
