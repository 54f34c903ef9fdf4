"""The site's clone: HEAD, work-tree state, files at a revision, safe paths, commits."""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
from pathlib import Path, PurePosixPath

from doltplane.errors import InvalidBranchName, NotFound, UnsafePath
from doltplane.federation.git import Git

MAIN = "main"
REMOTE = "origin"
UPSTREAM = f"{REMOTE}/{MAIN}"
STATE_DIR = "doltplane"
"""Doltplane's own files inside the clone's ``.git`` (never committed, never shared)."""


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One catalog file: its bytes, or for a symlink the bytes of what it points to."""

    data: bytes
    symlink: str | None = None
    """The link's target as written, when the file is a symlink."""
    escapes: bool = False
    """A symlink whose target lies outside the repository (its data is empty)."""


def safe_relpath(path: str | os.PathLike[str], root: Path | None = None) -> str:
    """``path`` as a clean repository-relative POSIX path, or UnsafePath.

    Refuses absolute paths, ``..`` that climbs out, anything inside ``.git``,
    and (when ``root`` is given) a path whose real location is outside ``root``
    because a symlink on the way points out of the tree.
    """
    text = os.fspath(path)
    if not text or "\x00" in text:
        raise UnsafePath(text, "empty or contains NUL")
    if (
        text.startswith(("/", "\\"))
        or PurePosixPath(text).is_absolute()
        or re.match(r"^[A-Za-z]:", text)
    ):
        raise UnsafePath(text, "absolute paths are not allowed")
    normal = posixpath.normpath(text.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise UnsafePath(text)
    if normal == "." or normal.split("/")[0] == ".git":
        raise UnsafePath(text, "not a catalog file")
    if root is not None:
        real_root = root.resolve()
        real = (root / normal).resolve()
        if real != real_root and real_root not in real.parents:
            raise UnsafePath(text, "a symlink on the way points outside the repository")
    return normal


def validate_branch_part(part: str, what: str) -> str:
    """One component of ``review/<site>/<topic>``: letters, digits, ``._-``, no leading dot."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", part) or part.endswith((".lock", ".")):
        raise InvalidBranchName(part, f"{what} must be letters, digits, '.', '_' or '-'")
    if ".." in part:
        raise InvalidBranchName(part, f"{what} must not contain '..'")
    return part


class Repo:
    """A work tree with a ``.git`` directory (the site clone)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._git: Git | None = None

    @property
    def git(self) -> Git:
        if self._git is None:
            self._git = Git(self.path)
        return self._git

    @property
    def git_dir(self) -> Path:
        return self.path / ".git"

    @property
    def state_dir(self) -> Path:
        return self.git_dir / STATE_DIR

    def exists(self) -> bool:
        return (self.git_dir / "HEAD").is_file()

    def require(self) -> Repo:
        if not self.exists():
            raise NotFound(
                "federation clone",
                str(self.path),
                hint="run `doltplane federation init` or `doltplane federation clone URL`",
            )
        return self

    # -- revisions ----------------------------------------------------------------------------

    def head(self) -> str | None:
        """HEAD's commit hash, read from the ref files (no subprocess; lookups call it often)."""
        try:
            text = (self.git_dir / "HEAD").read_text().strip()
        except OSError:
            return None
        if not text.startswith("ref: "):
            return text or None
        ref = text[5:]
        try:
            return (self.git_dir / ref).read_text().strip() or None
        except OSError:
            pass
        try:
            packed = (self.git_dir / "packed-refs").read_text()
        except OSError:
            return None
        for line in packed.splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
        return None

    def rev(self, ref: str) -> str | None:
        proc = self.git.run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        proc = self.git.run(
            "merge-base", "--is-ancestor", ancestor, descendant, check=True, ok_codes=(0, 1)
        )
        return proc.returncode == 0

    def ahead_behind(self, local: str, upstream: str) -> tuple[int, int]:
        left, right = self.git.out(
            "rev-list", "--left-right", "--count", f"{local}...{upstream}"
        ).split()
        return int(left), int(right)

    def current_branch(self) -> str | None:
        proc = self.git.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return proc.stdout.strip() or None

    def remote_url(self) -> str | None:
        proc = self.git.run("remote", "get-url", REMOTE, check=False)
        return proc.stdout.strip() or None

    # -- work tree ----------------------------------------------------------------------------

    def changed_paths(self) -> list[str]:
        """Tracked files modified, staged or deleted (untracked files excluded)."""
        return self._status(untracked=False)

    def untracked_paths(self) -> list[str]:
        tracked = set(self.changed_paths())
        return [p for p in self._status(untracked=True) if p not in tracked]

    def all_local_changes(self) -> list[str]:
        return self._status(untracked=True)

    def _status(self, *, untracked: bool) -> list[str]:
        out = self.git.run(
            "status", "--porcelain=v1", "-z", f"--untracked-files={'all' if untracked else 'no'}"
        ).stdout
        paths: list[str] = []
        entries = out.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            i += 1
            if len(entry) < 4:
                continue
            paths.append(entry[3:])
            if entry[0] in "RC":  # a rename is followed by its source path
                i += 1
        return sorted(set(paths))

    def merge_in_progress(self) -> bool:
        return (self.git_dir / "MERGE_HEAD").is_file()

    def unmerged_paths(self) -> list[str]:
        out = self.git.run("diff", "--name-only", "--diff-filter=U", "-z").stdout
        return sorted({p for p in out.split("\0") if p})

    # -- files --------------------------------------------------------------------------------

    def files_at(self, rev: str) -> dict[str, FileEntry]:
        """Every file of a commit or tree, read from git's object store in two processes."""
        listing = self.git.run_bytes("ls-tree", "-r", "-z", "--full-tree", rev).stdout
        entries: list[tuple[str, str, str]] = []
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, kind, oid = meta.decode().split()
            if kind == "blob":
                entries.append((name.decode("utf-8", "surrogateescape"), mode, oid))
        blobs = self._cat_blobs([oid for _, _, oid in entries])
        raw = {path: (mode, blobs[oid]) for path, mode, oid in entries}
        files: dict[str, FileEntry] = {}
        for path, (mode, data) in raw.items():
            if mode != "120000":
                files[path] = FileEntry(data)
                continue
            target = data.decode("utf-8", "surrogateescape")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                files[path] = FileEntry(b"", symlink=target, escapes=True)
            else:
                files[path] = FileEntry(raw.get(resolved, ("", b""))[1], symlink=target)
        return files

    def _cat_blobs(self, oids: list[str]) -> dict[str, bytes]:
        if not oids:
            return {}
        unique = list(dict.fromkeys(oids))
        out = self.git.run_bytes(
            "cat-file", "--batch", input="\n".join(unique).encode() + b"\n"
        ).stdout
        blobs: dict[str, bytes] = {}
        pos = 0
        for oid in unique:
            header_end = out.index(b"\n", pos)
            header = out[pos:header_end].split()
            size = int(header[2])
            start = header_end + 1
            blobs[oid] = out[start : start + size]
            pos = start + size + 1
        return blobs

    def worktree_files(self) -> dict[str, FileEntry]:
        """Every file in the work tree that git would commit (tracked or not ignored)."""
        out = self.git.run_bytes(
            "ls-files", "-z", "--cached", "--others", "--exclude-standard"
        ).stdout
        root = self.path.resolve()
        files: dict[str, FileEntry] = {}
        for raw in sorted(set(out.split(b"\0"))):
            if not raw:
                continue
            rel = raw.decode("utf-8", "surrogateescape")
            full = self.path / rel
            if not full.is_symlink() and not full.is_file():
                continue  # deleted locally
            if full.is_symlink():
                target = os.readlink(full)
                real = full.resolve()
                if real != root and root not in real.parents:
                    files[rel] = FileEntry(b"", symlink=target, escapes=True)
                    continue
                files[rel] = FileEntry(real.read_bytes() if real.is_file() else b"", symlink=target)
                continue
            files[rel] = FileEntry(full.read_bytes())
        return files

    # -- commits ------------------------------------------------------------------------------

    def identity_args(self, author: str) -> list[str]:
        """``-c user.name=.. -c user.email=..`` from settings, only when git has no identity."""
        name = self.git.run("config", "user.name", check=False).stdout.strip()
        email = self.git.run("config", "user.email", check=False).stdout.strip()
        if name and email:
            return []
        match = re.fullmatch(r"\s*(.*?)\s*<([^>]*)>\s*", author)
        who, mail = (
            (match.group(1), match.group(2)) if match else (author.strip(), "doltplane@localhost")
        )
        return [
            "-c",
            f"user.name={name or who or 'doltplane'}",
            "-c",
            f"user.email={email or mail}",
        ]

    def commit_all(self, message: str, author: str) -> str | None:
        """Stage every change and commit it; None when there was nothing to commit."""
        self.git.run("add", "--all")
        if self.git.run("diff", "--cached", "--quiet", check=False).returncode == 0:
            return None
        self.git.run(*self.identity_args(author), "commit", "--quiet", "--no-verify", "-m", message)
        return self.rev("HEAD")

    def commit_tree(self, tree: str, parents: list[str], message: str, author: str) -> str:
        """A commit object made without touching the work tree."""
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.git.out(*self.identity_args(author), *args, "-m", message)

    def fetch(self) -> None:
        self.git.run("fetch", "--quiet", "--prune", REMOTE)
