"""The ``doltplane`` entry point: the hottest agent read answered before click loads.

Agents run ``doltplane ops get ID --json`` once per call, so its cold start is their
latency. Importing click (and building the command tree) was about a third of that
start. When the arguments are exactly that read (with an optional ``--data-dir``),
it is answered here with the CLI's own reader and JSON; anything else, and any case
the fast reader declines (a server URL, a schema to migrate), goes to the click CLI,
which answers exactly as before.
"""

from __future__ import annotations

import json
import sys


def fast_get_args(argv: list[str]) -> tuple[str | None, str] | None:
    """``(data_dir, id)`` when ``argv`` is ``[--data-dir DIR] ops get ID --json`` (in any
    order of ID and ``--json``); None for anything else."""
    data_dir = None
    rest = list(argv)
    if rest[:1] == ["--data-dir"] and len(rest) >= 2:
        data_dir, rest = rest[1], rest[2:]
    elif rest[:1] and rest[0].startswith("--data-dir="):
        data_dir, rest = rest[0].split("=", 1)[1], rest[1:]
    if len(rest) != 4 or rest[:2] != ["ops", "get"] or "--json" not in rest[2:]:
        return None
    id = rest[3] if rest[2] == "--json" else rest[2]
    if id.startswith("-") or data_dir == "":
        return None
    return data_dir, id


def answer(argv: list[str]) -> int | None:
    """The exit code once ``argv`` was answered here; None: the click CLI must answer."""
    wanted = fast_get_args(argv)
    if wanted is None:
        return None
    data_dir, id = wanted
    from doltplane.client import require_data_dir
    from doltplane.config import Settings
    from doltplane.errors import DoltplaneError
    from doltplane.planes.ops_fastread import FastOpsReader

    try:
        settings = Settings.load({"data_dir": data_dir, "url": None})
        if not settings.embedded:
            return None
        require_data_dir(settings)
        reader = FastOpsReader.open(settings)
        if reader is None:
            return None
        with reader:
            record = reader.get(id)
    except DoltplaneError as exc:  # as the click group reports it
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    from doltplane.cli.jsonable import to_jsonable

    print(json.dumps(to_jsonable(record), indent=2, sort_keys=False, default=str))
    return 0


def main() -> None:
    code = answer(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from doltplane.cli.main import main as click_main

    click_main()
