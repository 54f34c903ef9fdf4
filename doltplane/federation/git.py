"""The one place doltplane runs ``git``: list arguments, no shell, no repository code.

Transport goes through the ``git`` command line so that an operator's
credential helpers, SSH agent and ``~/.ssh/config`` work unchanged. Every
invocation disables hooks and the ``ext::`` transport, so nothing a shared
repository contains is ever executed.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from doltplane.config import mask_password
from doltplane.errors import GitCommandError, GitUnavailable, InvalidInput

MIN_GIT_VERSION = (2, 38)
"""``git merge-tree --write-tree`` (conflict detection without a work tree) arrived in 2.38."""

SAFE_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "submodule.recurse=false",
    "-c",
    "advice.detachedHead=false",
    "-c",
    "core.quotePath=false",
)
"""Prepended to every command: never run hooks, ext:: helpers or an fsmonitor daemon."""

_FIXED_ENV = {
    "LC_ALL": "C",  # stable messages to parse
    "GIT_TERMINAL_PROMPT": "0",  # fail instead of hanging on a password prompt
    "GIT_MERGE_AUTOEDIT": "no",
    "GIT_EDITOR": "true",
}


@functools.cache
def git_version(executable: str = "git") -> tuple[int, ...]:
    """The installed git's version, checked against MIN_GIT_VERSION (cached per process)."""
    if shutil.which(executable) is None:
        raise GitUnavailable(
            f"the git command line ({executable!r}) is not installed or not on PATH",
            hint=f"install git >= {'.'.join(map(str, MIN_GIT_VERSION))}",
        )
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitUnavailable(f"cannot run {executable!r}: {exc}") from None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    if match is None:
        raise GitUnavailable(f"cannot read the git version from {out.strip()!r}")
    version = tuple(int(part) for part in match.groups() if part is not None)
    if version[:2] < MIN_GIT_VERSION:
        need = ".".join(map(str, MIN_GIT_VERSION))
        raise GitUnavailable(
            f"git {'.'.join(map(str, version))} is too old: the federation plane needs "
            f"git >= {need} for `git merge-tree --write-tree`",
            hint=f"upgrade git to {need} or later",
        )
    return version


def command_error(args: Sequence[str], returncode: int, stderr: str) -> GitCommandError:
    """GitCommandError naming git's ``fatal:``/``error:`` line (the last line is often a hint)."""
    masked = [mask_password(a) for a in args]
    error = GitCommandError(masked, returncode, stderr)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
    if reason is not None:
        command = " ".join(a for a in masked[:3] if not a.startswith("-"))
        error.args = (f"git {command} failed: {mask_password(reason)}",)
    return error


class Git:
    """Runs git in one directory; failures become GitCommandError with git's own message."""

    def __init__(self, cwd: Path, *, executable: str = "git") -> None:
        git_version(executable)
        self.cwd = cwd
        self.executable = executable

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = {**os.environ, **_FIXED_ENV}
        if extra:
            env.update(extra)
        return env

    def run_bytes(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        ok_codes: Sequence[int] = (0,),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        if any("\x00" in arg for arg in args):  # the OS refuses it with a bare ValueError
            raise InvalidInput(f"a NUL byte cannot be passed to git: {list(args)!r}")
        command = [self.executable, *SAFE_CONFIG, *args]
        try:
            proc = subprocess.run(
                command,
                cwd=cwd or self.cwd,
                input=input,
                capture_output=True,
                env=self._env(env),
                check=False,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitUnavailable(f"cannot run git: {exc}") from None
        if check and proc.returncode not in ok_codes:
            raise command_error(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        ok_codes: Sequence[int] = (0,),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``git *args``; stdout and stderr as text."""
        proc = self.run_bytes(
            *args,
            input=None if input is None else input.encode(),
            check=check,
            ok_codes=ok_codes,
            env=env,
            cwd=cwd,
        )
        return subprocess.CompletedProcess(
            proc.args,
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    def out(self, *args: str, cwd: Path | None = None) -> str:
        """stdout of a command that must succeed, stripped."""
        return self.run(*args, cwd=cwd).stdout.strip()
