"""The one place doltplane runs ``git``: list arguments, no shell, no repository code.

Transport goes through the ``git`` command line so that an operator's
credential helpers, SSH agent and ``~/.ssh/config`` work unchanged. Every
invocation disables hooks and the ``ext::`` transport, so nothing a shared
repository contains is ever executed.

A git child never outlives its caller: an exception or signal in the caller
stops it (SIGTERM first, so git removes its own ``.lock`` files), and on
Linux the kernel sends it SIGTERM when the caller dies, even by ``kill -9``
(a surviving ``git push`` once held a ref lock that broke a later fetch).
Commands that talk to a remote start helpers of their own (ssh,
git-remote-http) that git does not stop when it dies, so those run in their
own process group under a one-line ``sh`` that ends the whole group when it
is told to stop; the group has no terminal, so a prompt fails instead of
hanging.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
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


_PR_SET_PDEATHSIG = 1
_STOP_GRACE_SECONDS = 5.0


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _death_signal_setter() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when its parent dies (Linux only).

    Everything is looked up here, in the parent, so the forked child only makes one
    system call; if the parent is already gone by then, the child exits at once.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    args = (
        ctypes.c_int(_PR_SET_PDEATHSIG),
        ctypes.c_ulong(int(signal.SIGTERM)),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
    )
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(*args)
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


_TRANSPORT_COMMANDS = frozenset({"push", "fetch", "pull", "clone", "ls-remote"})

_GROUP_SUPERVISOR = 'trap "trap - TERM; kill -TERM 0" TERM; exec 3<&0; "$@" <&3 3<&- & wait $!'
"""``sh -c`` text: run the command, and on SIGTERM pass it to the whole process group."""


def _signal(proc: subprocess.Popen[bytes], signum: int, group: bool) -> None:
    try:
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
    except ProcessLookupError:
        pass


def _stop(proc: subprocess.Popen[bytes], group: bool) -> None:
    """End a child whose caller is leaving early: SIGTERM lets git remove its lock
    files; SIGKILL only if it does not stop in time."""
    if proc.poll() is not None and not group:
        return
    _signal(proc, signal.SIGTERM, group)
    try:
        proc.wait(_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL, group)
        proc.wait()


def run_child(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    input: bytes | None = None,
    whole_tree: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """Run one command to its end with output captured; it never outlives the caller.
    ``whole_tree``: the processes it starts are stopped with it (see the module doc)."""
    setter = _death_signal_setter()  # made per call: it remembers this process as the parent
    group = whole_tree and setter is not None
    argv = ["/bin/sh", "-c", _GROUP_SUPERVISOR, "sh", *command] if group else list(command)
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=setter,
        start_new_session=group,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(input)
        except BaseException:
            _stop(proc, group)
            raise
        return subprocess.CompletedProcess(list(command), proc.returncode, stdout, stderr)


def _subcommand(args: Sequence[str]) -> str | None:
    rest = list(args)
    while rest:
        head = rest.pop(0)
        if head == "-c":
            rest = rest[1:]
        elif not head.startswith("-"):
            return head
    return None


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
            proc = run_child(
                command,
                cwd=cwd or self.cwd,
                env=self._env(env),
                input=input,
                whole_tree=_subcommand(args) in _TRANSPORT_COMMANDS,
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
