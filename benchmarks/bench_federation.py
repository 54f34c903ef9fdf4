"""Federation plane benchmark (a script, not a test).

Builds a catalog of several hundred files in a temporary folder (a bare
repository and two site clones, with an isolated git configuration), then
reports: the index build after HEAD moves, a cached lookup, full-catalog
validation, and a pull that brings 100 changed files (fast-forward and
three-way merge).

    python benchmarks/bench_federation.py [--roles 300] [--formulas 300] [--templates 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from doltplane.config import Settings
from doltplane.federation import Federation

ROLE = 'role = "{name}"\nscope = "rig"\ndescription = "Role {name}."\n\n[session]\ncommand = "x"\n'
FORMULA = """\
formula = "{name}"
version = {version}
description = "{description}"

[[steps]]
id = "one"
title = "One"

[[steps]]
id = "two"
title = "Two"
needs = ["one"]
"""


def timed(action: Callable[[], object], repeat: int = 1) -> float:
    """Median seconds of ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def isolate(base: Path) -> None:
    config = base / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    os.environ.update(
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.test",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.test",
    )


def write_catalog(root: Path, roles: int, formulas: int, templates: int, tag: str = "") -> None:
    for i in range(roles):
        (root / f"roles/r-{i:04}.toml").write_text(ROLE.format(name=f"r-{i:04}"), "utf-8")
    for i in range(formulas):
        text = FORMULA.format(name=f"mol-f-{i // 3:04}", version=1 + i % 3, description=f"F{tag}")
        (root / f"formulas/f-{i:04}.formula.toml").write_text(text, "utf-8")
    for i in range(templates):
        path = root / f"templates/agent-prompts/p-{i:04}.md.tmpl"
        path.write_text(f"Prompt {i}{tag}\n", "utf-8")


def change_formulas(root: Path, count: int, tag: str) -> None:
    for i in range(count):
        text = FORMULA.format(name=f"mol-f-{i // 3:04}", version=1 + i % 3, description=tag)
        (root / f"formulas/f-{i:04}.formula.toml").write_text(text, "utf-8")


def raw_index(root: Path) -> dict[tuple[str, str, int], dict[str, object]]:
    """The raw baseline's catalog: every tracked TOML file parsed with tomllib, keyed like
    doltplane's lookups (what a hand-written reader over plain git would build)."""
    listed = subprocess.run(
        ["git", "ls-files", "*.toml"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    index: dict[tuple[str, str, int], dict[str, object]] = {}
    for name in listed:
        data = tomllib.loads((root / name).read_text("utf-8"))
        if "role" in data:
            index["role", str(data["role"]), 0] = data
        elif "formula" in data:
            index["formula", str(data["formula"]), int(data["version"])] = data  # type: ignore[call-overload]
    return index


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def site(base: Path, name: str) -> Federation:
    return Federation(Settings(data_dir=base / name, site=name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=300)
    parser.add_argument("--formulas", type=int, default=300)
    parser.add_argument("--templates", type=int, default=100)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-federation-") as tmp:
        base = Path(tmp)
        isolate(base)
        shared = Federation.init_shared(str(base / "shared.git"))
        a, b = site(base, "a"), site(base, "b")
        a.init(shared)
        write_catalog(a.repo.path, args.roles, args.formulas, args.templates)
        a.push(review=False, message="big catalog")
        b.clone(shared)
        files = len(b.repo.git.run("ls-files").stdout.splitlines())

        plain = base / "plain"
        subprocess.run(
            ["git", "clone", "-q", str(base / "shared.git"), str(plain)],
            check=True,
            capture_output=True,
        )
        cache: dict[str, dict[tuple[str, str, int], dict[str, object]]] = {}

        def raw_get(kind: str, name: str, version: int = 0) -> dict[str, object]:
            if "index" not in cache:
                cache["index"] = raw_index(plain)
            return cache["index"][kind, name, version]

        rows: list[tuple[str, float, float]] = []
        rows.append(
            ("index build (first lookup after HEAD moved)",
             timed(lambda: b.get("role", "r-0001")), timed(lambda: raw_index(plain)))
        )  # fmt: skip
        raw_get("role", "r-0001")
        names = [f"r-{i:04}" for i in range(0, args.roles, 7)]
        lookups = 2000

        def many_lookups() -> None:
            for n in range(lookups):
                b.get("role", names[n % len(names)])
                b.get("formula", f"mol-f-{n % (args.formulas // 3):04}", version=2)

        def raw_lookups() -> None:
            for n in range(lookups):
                raw_get("role", names[n % len(names)])
                raw_get("formula", f"mol-f-{n % (args.formulas // 3):04}", 2)

        per = timed(many_lookups, repeat=3) / (2 * lookups)
        rows.append(
            ("lookup, cached (get role / get formula@version)", per,
             timed(raw_lookups, repeat=3) / (2 * lookups))
        )  # fmt: skip
        rows.append(
            ("list('formula')", timed(lambda: b.list("formula"), repeat=5),
             timed(lambda: [v for k, v in cache["index"].items() if k[0] == "formula"], repeat=5))
        )  # fmt: skip
        rows.append(
            ("full-catalog validation (work tree) / tomllib parse of all",
             timed(b.validate, repeat=3), timed(lambda: raw_index(plain), repeat=3))
        )  # fmt: skip

        change_formulas(a.repo.path, args.changed, "changed once")
        a.push(review=False, message="change formulas")
        rows.append(
            (f"pull, fast-forward, {args.changed} changed files", timed(b.pull),
             timed(lambda: git(plain, "pull", "-q", "--ff-only")))
        )  # fmt: skip

        change_formulas(a.repo.path, args.changed, "changed twice")
        a.push(review=False, message="change formulas again")
        for root in (b.repo.path, plain):
            (root / "roles/local-only.toml").write_text(ROLE.format(name="local-only"), "utf-8")
            subprocess.run(["git", "add", "-A"], cwd=root, check=True)
            subprocess.run(["git", "commit", "-qm", "local"], cwd=root, check=True)
        rows.append(
            (f"pull, three-way merge, {args.changed} changed files", timed(b.pull),
             timed(lambda: git(plain, "pull", "-q", "--no-rebase", "--no-edit")))
        )  # fmt: skip
        rows.append(
            ("index rebuild after that pull", timed(lambda: b.get("role", "r-0002")),
             timed(lambda: raw_index(plain)))
        )  # fmt: skip

        print(f"federation benchmark: {files} catalog files, git via the command line; "
              "raw: plain git and tomllib")  # fmt: skip
        width = max(len(label) for label, _, _ in rows)
        print(f"{'operation'.ljust(width)}  {'doltplane':>12}  {'raw':>12}  {'ratio':>7}")
        print(f"{'-' * width}  {'-' * 12}  {'-' * 12}  {'-' * 7}")
        for label, seconds, raw in rows:
            print(f"{label.ljust(width)}  {shown(seconds):>12}  {shown(raw):>12}  "
                  f"{seconds / raw:>7.2f}")  # fmt: skip
        if args.json:
            args.json.write_text(json.dumps({"bench": "federation", "rows": [
                {"workload": label, "doltplane_s": s_, "raw_s": r, "ratio": s_ / r}
                for label, s_, r in rows]}, indent=2))  # fmt: skip


def shown(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
