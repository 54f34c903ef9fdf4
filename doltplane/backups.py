"""Backups and multi-host sync through Dolt remotes.

A backup is the databases themselves, every branch, tag and commit, pushed to a
remote: unlike a JSONL export it keeps history, so AS OF and row history work
in a restored copy. The same remotes let two sites share one ledger: ``pull``
fetches the remote's ``main`` and merges it (conflicts come back as data, as in
agent merges), ``push_ledger`` refuses to overwrite work it has not merged.

Push rule (one for every plane and branch): a branch is pushed as a
fast-forward; if the remote refuses, it is forced only when the remote still
holds exactly what this machine pushed last (our own history was rewritten,
as retention cleanup does to the operational plane); anything else is someone
else's work and is reported as rejected, never overwritten.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from doltplane.config import Settings
from doltplane.errors import (
    InvalidInput,
    NotFound,
    RemoteError,
    RemoteRejected,
    UnsupportedOperation,
)
from doltplane.processes import process_alive
from doltplane.remote_registry import (
    RESTORE_MARKER,
    Registry,
    Remote,
    check_remote_name,
    check_remote_url,
    plane_url,
    write_atomically,
)
from doltplane.store import PLANES
from doltplane.store.base import MAIN, Engine, MergeResult, MergeStatus, RemoteHeads, Resolution

if TYPE_CHECKING:
    from doltplane.client import DataPlane
    from doltplane.planes.ledger_agents import RowsResolution
    from doltplane.store.remote_server import RemoteServer

_SCRATCH_PREFIXES = ("doltplane-tmp/", "doltplane-squash-")
"""Short-lived branches doltplane makes itself: never backed up."""


@dataclasses.dataclass(frozen=True)
class RefPush:
    """What happened to one branch of one plane: pushed, forced, unchanged, deleted, rejected."""

    plane: str
    branch: str
    outcome: str
    commit: str | None


@dataclasses.dataclass(frozen=True)
class BackupPush:
    remote: str
    url: str
    pushed_at: dt.datetime
    refs: tuple[RefPush, ...]
    tags: int

    @property
    def rejected(self) -> list[RefPush]:
        return [r for r in self.refs if r.outcome == "rejected"]

    @property
    def ok(self) -> bool:
        return not self.rejected


@dataclasses.dataclass(frozen=True)
class BackupInfo:
    """A remote, when this machine last pushed to it, and what it holds now (None: nothing)."""

    name: str
    url: str
    last_push: dt.datetime | None
    holds: dict[str, RemoteHeads | None]
    error: str | None = None
    """Why the remote could not be asked (it stays listed)."""


@dataclasses.dataclass(frozen=True)
class PlaneCheck:
    plane: str
    missing: tuple[str, ...]
    """Local branches and tags (``tag:<name>``) the remote lacks."""
    differing: tuple[str, ...]
    """Present on both sides at different commits."""
    extra: tuple[str, ...]
    """On the remote only (another site's branches, or ones deleted here): not a failure."""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.differing


@dataclasses.dataclass(frozen=True)
class BackupCheck:
    remote: str
    url: str
    planes: tuple[PlaneCheck, ...]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.planes)


@dataclasses.dataclass(frozen=True)
class Restored:
    into: Path
    url: str
    remote: str
    planes: dict[str, RemoteHeads]


@dataclasses.dataclass(frozen=True)
class LedgerPush:
    remote: str
    branch: str
    commit: str
    status: str
    """``pushed`` or ``up_to_date``."""


# --- the registry --------------------------------------------------------------
def _registry(dp: DataPlane) -> Registry:
    if not dp.settings.embedded:
        raise UnsupportedOperation(
            "backups through remotes need the embedded engine here",
            hint="a Dolt server has its own remotes and replication",
        )
    return Registry(dp.settings.data_dir)


def _engine(dp: DataPlane, plane: str) -> Engine:
    engine = dp.engine(plane)
    if not engine.capabilities.remotes:
        why = engine.capabilities.why_not("remotes")
        raise UnsupportedOperation(f"the {engine.name} engine has no remotes: {why}")
    return engine


def add_remote(dp: DataPlane, name: str, url: str) -> Remote:
    """Register a remote (idempotent for the same URL); nothing is pushed yet."""
    registry = _registry(dp)
    name = check_remote_name(name)
    url = check_remote_url(url, data_dir=dp.settings.data_dir)
    with registry.editing() as remotes:
        known = remotes.get(name)
        if known is not None:
            if known.url != url:
                raise InvalidInput(
                    f"remote {name!r} already points at {known.url}",
                    hint=f"remove it first with `doltplane backup remove {name}`",
                )
            return known
        remotes[name] = Remote(name, url, dt.datetime.now(dt.UTC))
        return remotes[name]


def remove_remote(dp: DataPlane, name: str) -> Remote:
    """Forget a remote here; what it holds stays where it is."""
    registry = _registry(dp)
    removed = registry.get(name)
    with registry.editing() as remotes:
        remotes.pop(name, None)
    return removed


def remotes(dp: DataPlane) -> list[Remote]:
    return _registry(dp).all()


def _remote_heads(dp: DataPlane, remote: Remote) -> dict[str, RemoteHeads | None]:
    return {p: _engine(dp, p).remote_heads(plane_url(remote.url, p)) for p in PLANES}


def list_backups(dp: DataPlane, *, probe: bool = True) -> list[BackupInfo]:
    """Every remote with its last push; with ``probe``, what it holds now (one read each)."""
    out = []
    for remote in remotes(dp):
        holds: dict[str, RemoteHeads | None] = {}
        error = None
        if probe:
            try:
                holds = _remote_heads(dp, remote)
            except RemoteError as exc:  # one remote being down hides none of the others
                error = exc.one_line()
        out.append(BackupInfo(remote.name, remote.url, remote.last_push, holds, error))
    return out


# --- backup push ------------------------------------------------------------------
def _branches(engine: Engine) -> dict[str, str]:
    return {b.name: b.hash for b in engine.branches() if not b.name.startswith(_SCRATCH_PREFIXES)}


def _push_plane(
    engine: Engine, plane: str, remote: Remote, *, force: bool
) -> tuple[list[RefPush], dict[str, str], int]:
    url = plane_url(remote.url, plane)
    there = engine.remote_heads(url) or RemoteHeads({}, {})
    mine = remote.pushed.get(plane, {})
    refs: list[RefPush] = []
    now_pushed: dict[str, str] = {}
    for branch, commit in sorted(_branches(engine).items()):
        theirs = there.branches.get(branch)
        if theirs == commit:
            refs.append(RefPush(plane, branch, "unchanged", commit))
            now_pushed[branch] = commit
            continue
        try:
            engine.push(remote.name, url, branch)
            outcome = "pushed"
        except RemoteRejected:
            if not force and theirs != mine.get(branch):
                refs.append(RefPush(plane, branch, "rejected", commit))
                if branch in mine:
                    now_pushed[branch] = mine[branch]
                continue
            engine.push(remote.name, url, branch, force=True)
            outcome = "forced"
        refs.append(RefPush(plane, branch, outcome, commit))
        now_pushed[branch] = commit
    for branch, commit in sorted(mine.items()):
        # deleted here since our last push, and nobody moved it there since: delete it there
        if branch not in now_pushed and branch != MAIN and there.branches.get(branch) == commit:
            engine.delete_remote_branch(remote.name, url, branch)
            refs.append(RefPush(plane, branch, "deleted", None))
    tags = engine.tags()
    if tags and any(there.tags.get(t) != h for t, h in tags.items()):
        engine.push_tags(remote.name, url)
    return refs, now_pushed, len(tags)


def push_backup(dp: DataPlane, name: str | None = None, *, force: bool = False) -> list[BackupPush]:
    """Push every plane, every branch and every tag to one remote (or all of them)."""
    registry = _registry(dp)
    targets = [registry.get(name)] if name is not None else registry.all()
    if not targets:
        raise NotFound("remote", "(none)", hint="add one with `doltplane backup add NAME URL`")
    results = []
    for remote in targets:
        refs: list[RefPush] = []
        pushed: dict[str, dict[str, str]] = {}
        tags = 0
        for plane in PLANES:
            plane_refs, pushed[plane], count = _push_plane(
                _engine(dp, plane), plane, remote, force=force
            )
            refs += plane_refs
            tags += count
        when = dt.datetime.now(dt.UTC)
        with registry.editing() as entries:
            if remote.name in entries:
                entries[remote.name] = dataclasses.replace(
                    entries[remote.name], last_push=when, pushed=pushed
                )
        results.append(BackupPush(remote.name, remote.url, when, tuple(refs), tags))
    return results


# --- verify -----------------------------------------------------------------------
def _compare(plane: str, local: RemoteHeads, there: RemoteHeads | None) -> PlaneCheck:
    there = there or RemoteHeads({}, {})
    ours = {**local.branches, **{f"tag:{t}": h for t, h in local.tags.items()}}
    theirs = {**there.branches, **{f"tag:{t}": h for t, h in there.tags.items()}}
    return PlaneCheck(
        plane,
        tuple(sorted(k for k in ours if k not in theirs)),
        tuple(sorted(k for k in ours if k in theirs and theirs[k] != ours[k])),
        tuple(sorted(k for k in theirs if k not in ours)),
    )


def verify_backup(dp: DataPlane, name: str) -> BackupCheck:
    """Whether the remote holds every local branch and tag at the same commit; reads only."""
    remote = _registry(dp).get(name)
    checks = []
    for plane in PLANES:
        engine = _engine(dp, plane)
        local = RemoteHeads(_branches(engine), engine.tags())
        checks.append(_compare(plane, local, engine.remote_heads(plane_url(remote.url, plane))))
    return BackupCheck(remote.name, remote.url, tuple(checks))


# --- restore ----------------------------------------------------------------------
def resolve_source(data_dir: Path, name_or_url: str) -> tuple[str, str]:
    """``(remote name, base URL)`` for a registered name, or for a URL (named ``backup``)."""
    if "://" in name_or_url:
        return "backup", check_remote_url(name_or_url)
    remote = Registry(data_dir).get(name_or_url)
    return remote.name, remote.url


def _owner_alive(marker: Path) -> bool:
    try:
        pid = int(json.loads(marker.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # unreadable marker: a restore killed while writing it
    return process_alive(pid)


def _clear_leftovers(into: Path) -> None:
    """Remove staging folders of restores into ``into`` whose process is gone."""
    for staging in into.parent.glob(f".{into.name}.restore-*"):
        marker = staging / RESTORE_MARKER
        if marker.exists() and _owner_alive(marker):
            raise InvalidInput(
                f"another restore into {into} is running ({staging.name})",
                hint="wait for it to finish",
            )
        shutil.rmtree(staging, ignore_errors=True)


def _check_target(into: Path) -> None:
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise InvalidInput(f"{into} exists and is not empty", hint="restore into a new directory")


def restore(
    url: str, into: Path, *, remote: str = "backup", settings: Settings | None = None
) -> Restored:
    """A new data directory ``into`` holding the remote's full history, every branch and tag.

    It is filled in a hidden folder beside ``into`` and renamed into place at the
    end, so ``into`` is either absent or complete; a restore killed half-way leaves
    only that folder, which the next restore into the same place removes.
    """
    url = check_remote_url(url)
    remote = check_remote_name(remote)
    into = Path(into).absolute()
    _check_target(into)
    into.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(into)
    staging = into.parent / f".{into.name}.restore-{secrets.token_hex(6)}"
    staging.mkdir()
    marker = staging / RESTORE_MARKER
    started = dt.datetime.now(dt.UTC).isoformat()
    marker.write_text(json.dumps({"pid": os.getpid(), "url": url, "started": started}))
    base = dataclasses.replace(settings or Settings(), data_dir=staging, url=None)
    try:
        planes = _clone_planes(url, remote, base)
        registry = Registry(staging)
        entry = Remote(
            remote,
            url,
            dt.datetime.now(dt.UTC),
            pushed={p: dict(h.branches) for p, h in planes.items()},
        )
        registry_text = json.dumps({"version": 1, "remotes": {remote: entry.to_json()}})
        write_atomically(registry.path, registry_text)
        marker.unlink()
        _check_target(into)
        if into.exists():
            into.rmdir()
        staging.rename(into)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Restored(into, url, remote, planes)


def _clone_planes(url: str, remote: str, settings: Settings) -> dict[str, RemoteHeads]:
    from doltplane.store.doltlite import DoltliteEngine

    planes: dict[str, RemoteHeads] = {}
    for plane in PLANES:
        # directly, not through open_engine: that refuses a folder with the restore marker
        engine = DoltliteEngine(settings.data_dir / f"{plane}.db", settings)
        try:
            there = engine.remote_heads(plane_url(url, plane))
            if there is None:
                continue
            got = engine.clone_from(plane_url(url, plane), remote)
            if got.branches != there.branches or got.tags != there.tags:
                raise RemoteError(f"restore of {plane} from {url} is incomplete")
            planes[plane] = got
        finally:
            engine.close()
        if plane not in planes:  # nothing there: the plane starts fresh on first use
            for leftover in settings.data_dir.glob(f"*{plane}.db*"):
                leftover.unlink()
    if "ledger" not in planes:
        raise NotFound("backup", url, hint="nothing was ever pushed there")
    return planes


# --- multi-host ledger sync ------------------------------------------------------
def pull(dp: DataPlane, name: str) -> MergeResult:
    """Fetch the remote's ledger ``main`` and merge it into ours (fast-forward when it can).

    A conflict changes nothing and comes back as data (``ours``: this site's rows,
    ``theirs``: the remote's); finish it with :func:`resolve_pull`.
    """
    remote = _registry(dp).get(name)
    engine = _engine(dp, "ledger")
    url = plane_url(remote.url, "ledger")
    fetched = engine.fetch(remote.name, url, MAIN)
    _check_shared_history(engine, fetched, remote)
    result = engine.merge(
        fetched,
        into=MAIN,
        message=f"pull ledger main from {remote.name}",
        no_ff=False,
    )
    return dataclasses.replace(result, source=f"{remote.name}/{MAIN}")


def _check_shared_history(engine: Engine, fetched: str, remote: Remote) -> None:
    # two separately created databases share at most their empty first commit (same
    # hash when made in the same second): that is no shared history either
    base = engine.merge_base(MAIN, fetched)
    if base in (None, "", "None") or engine.commit_count(base) <= 1:
        raise RemoteError(
            f"the ledger at {remote.name} shares no history with this one",
            hint="start a second site with `doltplane backup restore` from the first",
        )


def resolve_pull(dp: DataPlane, name: str, strategy: Resolution | RowsResolution) -> MergeResult:
    """Finish a conflicting :func:`pull` against what it fetched: ``"ours"`` keeps this
    site's rows, ``"theirs"`` the remote's, or ``{table: [final rows]}``."""
    from doltplane.planes.ledger_agents import final_rows

    remote = _registry(dp).get(name)
    engine = _engine(dp, "ledger")
    try:
        fetched = engine.resolve_revision(f"remotes/{remote.name}/{MAIN}")
    except InvalidInput:
        raise NotFound(
            "fetched ledger", remote.name, hint=f"run `doltplane remote pull {name}` first"
        ) from None
    result = engine.resolve_merge(
        fetched,
        final_rows(strategy),
        into=MAIN,
        message=f"pull ledger main from {remote.name} (resolved)",
    )
    return dataclasses.replace(result, source=f"{remote.name}/{MAIN}")


def push_ledger(dp: DataPlane, name: str) -> LedgerPush:
    """Push the ledger's ``main`` to the remote; a non-fast-forward is refused, never forced."""
    registry = _registry(dp)
    remote = registry.get(name)
    engine = _engine(dp, "ledger")
    url = plane_url(remote.url, "ledger")
    commit = engine.resolve_revision(MAIN)
    there = engine.remote_heads(url)
    if there is not None and there.branches.get(MAIN) == commit:
        return LedgerPush(remote.name, MAIN, commit, MergeStatus.UP_TO_DATE.value)
    try:
        engine.push(remote.name, url, MAIN)
    except RemoteRejected:
        raise RemoteRejected(
            remote.name,
            [f"ledger {MAIN}"],
            hint=f"the remote has work this site lacks: run `doltplane remote pull {name}` first",
        ) from None
    with registry.editing() as entries:
        if remote.name in entries:
            entry = entries[remote.name]
            pushed = {**entry.pushed, "ledger": {**entry.pushed.get("ledger", {}), MAIN: commit}}
            entries[remote.name] = dataclasses.replace(entry, pushed=pushed)
    return LedgerPush(remote.name, MAIN, commit, "pushed")


def serve(dp: DataPlane, port: int = 0) -> RemoteServer:
    """Serve this data directory's plane databases as an HTTP remote on 127.0.0.1."""
    from doltplane.store.remote_server import RemoteServer

    registry = _registry(dp)
    registry.check_usable()
    for plane in PLANES:
        _engine(dp, plane)  # created and migrated, so there is something to clone
    return RemoteServer(dp.settings.data_dir, port)
