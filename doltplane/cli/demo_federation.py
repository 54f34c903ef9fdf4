"""The federation part of ``doltplane demo``: two sites, one shared repository."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from doltplane.config import Settings
from doltplane.errors import PushRejected
from doltplane.federation import Federation, Formula, MergeStatus

FORMULA = "formulas/mol-deacon-sweep.formula.toml"

_SWEEP = """\
formula = "mol-deacon-sweep"
version = 1
description = "{description}"
owner_team = "deacons"   # a key the schema does not know: kept as it is

[[steps]]
id = "scan"
title = "Scan for idle workers"

[[steps]]
id = "nudge"
title = "Nudge them"
needs = ["scan"]
"""


@contextlib.contextmanager
def _isolated_git_config(base: Path) -> Iterator[None]:
    """The story must not depend on (or be changed by) the user's own git configuration."""
    saved = {k: os.environ.get(k) for k in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")}
    config = base / "demo-gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    os.environ["GIT_CONFIG_GLOBAL"] = str(config)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _site(base: Path, name: str) -> Federation:
    return Federation(
        Settings(
            data_dir=base / name,
            site=name,
            author=f"operator at {name} <ops@{name}.example>",
            federation_pull_interval_seconds=3600,
        )
    )


def _set_identity(fed: Federation, name: str) -> None:
    for key, value in (("user.name", f"operator at {name}"), ("user.email", f"ops@{name}.example")):
        subprocess.run(["git", "config", key, value], cwd=fed.repo.path, check=True)


def _description(fed: Federation) -> str:
    entry = fed.get("formula", "mol-deacon-sweep")
    assert isinstance(entry, Formula)
    return entry.description or ""


def federation_story(base: Path, say: Callable[[str], None]) -> None:
    """Site A proposes a formula, it is reviewed and merged, site B pulls it; then a conflict."""
    base.mkdir(parents=True, exist_ok=True)
    with _isolated_git_config(base):
        _story(base, say)


def _story(base: Path, say: Callable[[str], None]) -> None:
    shared = Federation.init_shared(str(base / "shared.git"))
    say(f"Two sites share one bare git repository: {shared}")
    site_a, site_b = _site(base, "site-a"), _site(base, "site-b")
    info = site_a.init(shared)
    _set_identity(site_a, "site-a")
    say(f"site-a starts the catalog ({info.files} starter files) and publishes it")
    site_b.clone(shared)
    _set_identity(site_b, "site-b")
    roles = ", ".join(e.name for e in site_b.list("role"))
    say(f"site-b clones it; roles available there: {roles}")

    sweep = site_a.repo.path / FORMULA
    sweep.write_text(_SWEEP.format(description="Sweep idle workers every hour."), "utf-8")
    pushed = site_a.push(topic="deacon-sweep", message="Add the deacon sweep formula")
    say(f"site-a validates and pushes {FORMULA} for review to {pushed.branch}")

    [review] = site_b.reviews()
    say(f"site-b sees review {review.name}: {review.subject!r}, approved: {review.approved}")
    approved = site_b.approve(review.name, "reviewer at site-b")
    say(f"site-b approves it (approved by {approved.approved_by})")
    merged = site_b.merge_review(review.name)
    say(f"site-b merges it into main ({merged.status.value}, {merged.commit[:10]})")
    pulled = site_b.pull()
    say(f"site-b pulls: {pulled.status.value}, changed {', '.join(pulled.changed_files)}")
    say(f"site-b's catalog now has mol-deacon-sweep: {_description(site_b)!r}")
    site_a.pull()

    say("Now both sites edit the same line of that formula.")
    sweep.write_text(_SWEEP.format(description="Sweep every 30 minutes."), "utf-8")
    site_a.push(review=False, message="Sweep more often")
    say("site-a pushes 'every 30 minutes' straight to main (--no-review)")
    (site_b.repo.path / FORMULA).write_text(
        _SWEEP.format(description="Sweep every 2 hours."), "utf-8"
    )
    try:
        site_b.push(review=False, message="Sweep less often")
    except PushRejected as exc:
        say(f"site-b commits 'every 2 hours' but its push is refused: {exc.one_line()}")
    before = (site_b.repo.path / FORMULA).read_text("utf-8")
    result = site_b.pull()
    assert result.status is MergeStatus.CONFLICT
    unchanged = (site_b.repo.path / FORMULA).read_text("utf-8") == before
    say(
        f"site-b pulls: {result.status.value} in {', '.join(result.conflicts)}; "
        f"work tree unchanged: {unchanged}"
    )
    say(f"site-b lists the conflicts: {site_b.conflicts()}")
    resolved = site_b.resolve(FORMULA, "theirs")
    say(
        f"site-b resolves {resolved.path} with --theirs; merge commit "
        f"{(resolved.merge_commit or '')[:10]}, nothing committed was lost"
    )
    site_b.push(review=False)
    site_a.pull()
    say(f"both sites agree: site-a {_description(site_a)!r}, site-b {_description(site_b)!r}")
