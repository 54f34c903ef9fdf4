"""``doltplane alerts``: each rule's state, the rules checked, and the rules for Prometheus."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from doltplane.cli.common import CliState, echo_json, echo_table

if TYPE_CHECKING:
    from doltplane.alerts import Rule
    from doltplane.config import Settings


def _settings(ctx: click.Context) -> Settings:
    from doltplane.config import Settings

    state = ctx.find_object(CliState)
    return Settings.load(state.overrides if state is not None else {})


def _data_dir(ctx: click.Context) -> Path:
    from doltplane.errors import NotFound

    data_dir = _settings(ctx).data_dir
    if not data_dir.is_dir():
        raise NotFound(
            "data directory", str(data_dir), hint="run `doltplane init`, or pass --data-dir"
        )
    return data_dir


def _rules(data_dir: Path) -> tuple[list[Rule], Path, bool]:
    """The data directory's rules, or the defaults (not written: this is a read) if the
    service has not written the file yet."""
    from doltplane.alerts import default_rules, load_rules, rules_path

    path = rules_path(data_dir)
    if path.exists():
        return load_rules(path), path, False
    return default_rules(), path, True


def _when(moment: float | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat(timespec="seconds")


def _condition(rule: Rule) -> str:
    from doltplane.alerts.prometheus import prometheus_duration
    from doltplane.alerts.rules import format_threshold

    operator = ">" if rule.condition == "above" else "<"
    text = f"{rule.observe} {operator} {format_threshold(rule.threshold, rule.unit)}"
    return text + (f" for {prometheus_duration(rule.for_seconds)}" if rule.for_seconds else "")


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def alerts(ctx: click.Context, as_json: bool) -> None:
    """Each alert rule with its state, since when and the last value seen (from the
    running `doltplane serve`); subcommands check the rules and export them."""
    if ctx.invoked_subcommand is not None:
        return
    from doltplane.alerts import read_lock, read_service_state
    from doltplane.alerts.rules import format_threshold

    data_dir = _data_dir(ctx)
    rules, path, defaults = _rules(data_dir)
    lock = read_lock(data_dir)
    service = read_service_state(data_dir)
    running = lock is not None and lock.running
    rows: list[dict[str, Any]] = []
    for rule in rules:
        state = service.alerts.get(rule.name) if service is not None else None
        rows.append(
            {
                "name": rule.name,
                "severity": rule.severity,
                "condition": _condition(rule),
                "state": state.state if state is not None else "unknown",
                "since": _when(state.since) if state is not None else None,
                "value": state.value if state is not None else None,
                "shown_value": (
                    format_threshold(state.value, rule.unit)
                    if state is not None and state.value is not None
                    else ""
                ),
                "summary": rule.summary,
                "description": rule.description,
                "observe": rule.observe,
                "threshold": rule.threshold,
                "for_seconds": rule.for_seconds,
            }
        )
    if as_json:
        echo_json(
            {
                "rules_file": str(path),
                "defaults": defaults,
                "service": {
                    "running": running,
                    "pid": lock.pid if lock is not None else None,
                    "updated_at": service.updated_at if service is not None else None,
                },
                "rules": [{k: v for k, v in r.items() if k != "shown_value"} for r in rows],
            }
        )
        return
    for row in rows:
        if row["state"] == "firing":
            click.echo(f"FIRING {row['name']} ({row['severity']}): {row['summary']}")
            if row["description"]:
                click.echo(f"  what to do: {row['description']}")
    if running:
        updated = f", state of {service.updated_at}" if service is not None else ""
        click.echo(f"service running (pid {lock.pid if lock else '?'}{updated})")
    elif service is not None:
        click.echo(
            f"no service is running: states are as it left them at {service.updated_at} "
            "(start it with `doltplane serve`)"
        )
    else:
        click.echo("no service is running: rules are not evaluated (start `doltplane serve`)")
    echo_table(
        [{**r, "value": r["shown_value"]} for r in rows],
        ["name", "state", "severity", "condition", "since", "value"],
        title=f"{path} (missing: the default rules)" if defaults else str(path),
        empty="(no rules: every alert is switched off)",
    )


@alerts.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def check(ctx: click.Context, file: str | None, as_json: bool) -> None:
    """Validate a rules file (default: the data directory's alerts.yaml); an invalid one
    exits 3 with `path:line: message`."""
    from doltplane.alerts import load_rules, rules_path

    path = Path(file) if file is not None else rules_path(_data_dir(ctx))
    rules = load_rules(path)
    if as_json:
        echo_json({"file": str(path), "valid": True, "rules": [r.name for r in rules]})
        return
    click.echo(f"{path}: {len(rules)} rule(s) valid: {', '.join(r.name for r in rules) or '-'}")


@alerts.command("export-rules")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of standard output.",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Rules file to export (default: the data directory's alerts.yaml).",
)
@click.pass_context
def export_rules(ctx: click.Context, output: str | None, rules_file: str | None) -> None:
    """The rules as a Prometheus alerting-rules file (for Prometheus and Alertmanager),
    over the metrics `doltplane serve` exports."""
    from doltplane.alerts import export_prometheus_rules, load_rules

    rules = load_rules(Path(rules_file)) if rules_file is not None else _rules(_data_dir(ctx))[0]
    text = export_prometheus_rules(rules)
    if output is None:
        click.echo(text, nl=False)
        return
    target = Path(output)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(target)
    click.echo(f"wrote {len(rules)} rule(s) to {target}", err=True)
