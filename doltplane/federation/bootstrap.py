"""Creating a site clone: ``init`` (a new catalog from the starter) and ``clone URL``."""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from doltplane.errors import FederationError, InvalidInput
from doltplane.federation.catalog import TEMPLATES_DIR
from doltplane.federation.git import Git
from doltplane.federation.repo import MAIN, REMOTE, Repo
from doltplane.federation.validate import DEFAULT_CATEGORIES


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_dir():
            _copy_tree(item, target / item.name)
        elif item.is_file():
            (target / item.name).write_bytes(item.read_bytes())


def write_starter(root: Path) -> None:
    """The layout, a starter schema and rules, and one example of each kind."""
    _copy_tree(resources.files("doltplane.federation") / "starter", root)
    for category in DEFAULT_CATEGORIES:
        folder = root / TEMPLATES_DIR / category
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.iterdir()):
            (folder / ".gitkeep").write_bytes(b"")


def _refuse_existing(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FederationError(
            f"{path} already exists and is not empty",
            hint="the site already has a federation clone; use pull, or move it away",
        )


def init_bare(path: Path) -> str:
    """An empty shared repository (the remote every site clones), with main as its branch."""
    _refuse_existing(path)
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    Git(path.parent).run("init", "--quiet", "--bare", f"--initial-branch={MAIN}", str(path))
    return str(path)


def init(repo: Repo, remote: str | None, author: str) -> None:
    """A new catalog at the clone path; with ``remote`` (an empty one), publish it there too."""
    _refuse_existing(repo.path)
    if remote is not None:
        remote = _check_url(remote)
        _require_empty_remote(repo, remote)
    staging = _staging_dir(repo.path)
    try:
        git = Git(staging)
        git.run("init", "--quiet", f"--initial-branch={MAIN}")
        write_starter(staging)
        staged = Repo(staging)
        staged.commit_all("Start the federation catalog", author)
        if remote is not None:
            git.run("remote", "add", "--", REMOTE, remote)
            git.run("push", "--quiet", "--set-upstream", REMOTE, MAIN)
        _move_into_place(staging, repo.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def clone(repo: Repo, url: str | None) -> None:
    """Clone the shared repository; on any failure nothing is left behind."""
    if not url:
        raise InvalidInput(
            "no federation remote given",
            hint="pass a URL, or set DOLTPLANE_FEDERATION_REMOTE",
        )
    url = _check_url(url)
    _refuse_existing(repo.path)
    staging = _staging_dir(repo.path)
    try:
        Git(staging.parent).run(
            "clone",
            "--quiet",
            "--no-recurse-submodules",
            "--origin",
            REMOTE,
            "--",
            url,
            str(staging / "c"),
        )
        _move_into_place(staging / "c", repo.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_url(url: str) -> str:
    """Refuse option-like URLs; a local path becomes absolute (git runs in other folders)."""
    if url.startswith("-") or "\x00" in url or "\n" in url:
        raise InvalidInput(f"not a repository URL: {url!r}")
    if "://" not in url and Path(url).exists():
        return str(Path(url).resolve())
    return url


def _require_empty_remote(repo: Repo, remote: str) -> None:
    heads = Git(repo.path.parent if repo.path.parent.exists() else Path.cwd()).out(
        "ls-remote", "--heads", "--", remote
    )
    if heads:
        raise FederationError(
            f"the remote {remote!r} already holds a catalog",
            hint="use `doltplane federation clone` to join it",
        )


def _staging_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".federation-", dir=target.parent))


def _move_into_place(staging: Path, target: Path) -> None:
    if target.exists():
        target.rmdir()  # empty, checked by _refuse_existing
    staging.rename(target)
