"""No partial effects from push: a bad argument is refused before the first git command,
and a push killed with -9 leaves no git process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from doltplane.config import Settings
from doltplane.errors import InvalidBranchName, InvalidInput
from doltplane.federation import Federation

from .conftest import git, make_site, role_text, write


@pytest.mark.parametrize("site", ["bad site", "../up", "-rf", "a..b", "x.lock"])
def test_push_with_a_bad_site_name_commits_nothing(
    tmp_path: Path, remote: Path, site_a: Federation, site: str
) -> None:
    write(site_a, "roles/polecat.toml", role_text("polecat"))
    head = git(site_a, "rev-parse", "HEAD")
    status = git(site_a, "status", "--porcelain")
    bad = Federation(Settings(data_dir=site_a.settings.data_dir, site=site))
    with pytest.raises(InvalidBranchName):
        bad.push()  # no topic: the branch name is made from the site alone
    with pytest.raises(InvalidBranchName):
        bad.push(topic="fine")
    assert git(site_a, "rev-parse", "HEAD") == head
    assert git(site_a, "status", "--porcelain") == status  # not even staged


def test_push_with_a_bad_message_commits_nothing(site_a: Federation) -> None:
    write(site_a, "roles/polecat.toml", role_text("polecat"))
    head = git(site_a, "rev-parse", "HEAD")
    status = git(site_a, "status", "--porcelain")
    with pytest.raises(InvalidInput):
        site_a.push(topic="fine", message="bad\x00message")
    assert git(site_a, "rev-parse", "HEAD") == head
    assert git(site_a, "status", "--porcelain") == status


def _marked(marker: str) -> list[int]:
    """Processes (ours) whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_push_leaves_no_git_process(tmp_path: Path, remote: Path) -> None:
    site = make_site(tmp_path, remote, "site-k")
    write(site, "roles/polecat.toml", role_text("polecat"))
    # a remote that never answers: the "ssh" git starts just blocks
    blocker = tmp_path / "blocking-ssh"
    blocker.write_text("#!/bin/sh\nexec sleep 300\n", encoding="utf-8")
    blocker.chmod(0o755)
    git(site, "remote", "set-url", "origin", "ssh://blocked.invalid/shared.git")
    marker = f"H3_PUSH_MARKER={uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}
    env.update(GIT_SSH_COMMAND=str(blocker), H3_PUSH_MARKER=marker.split("=", 1)[1])
    script = (
        "from pathlib import Path\n"
        "from doltplane.config import Settings\n"
        "from doltplane.federation import Federation\n"
        f"Federation(Settings(data_dir=Path({str(site.settings.data_dir)!r}), site='k'))"
        ".push(review=False)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 60
        while not any("sleep" in _cmdline(p) for p in _marked(marker)):
            assert parent.poll() is None, "the push ended before reaching the remote"
            assert time.monotonic() < deadline, "git never reached the blocking remote"
            time.sleep(0.1)
        assert any("git" in _cmdline(p) and "push" in _cmdline(p) for p in _marked(marker))
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while _marked(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {p: _cmdline(p) for p in _marked(marker)}
        assert not left, f"outlived the killed push: {left}"
    finally:
        for pid in _marked(marker):  # only what this test started
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


class _Interrupted(Exception):
    pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_interrupted_push_stops_its_git_processes(
    tmp_path: Path, site_a: Federation, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(site_a, "roles/polecat.toml", role_text("polecat"))
    blocker = tmp_path / "blocking-ssh"
    blocker.write_text("#!/bin/sh\nexec sleep 300\n", encoding="utf-8")
    blocker.chmod(0o755)
    git(site_a, "remote", "set-url", "origin", "ssh://blocked.invalid/shared.git")
    marker = uuid.uuid4().hex
    monkeypatch.setenv("GIT_SSH_COMMAND", str(blocker))
    monkeypatch.setenv("H3_PUSH_MARKER", marker)

    def interrupt(signum: int, frame: object) -> None:
        if any("sleep" in _cmdline(p) for p in _marked(f"H3_PUSH_MARKER={marker}")):
            raise _Interrupted  # what Ctrl-C or a handled SIGTERM does to the caller
        signal.setitimer(signal.ITIMER_REAL, 0.1)

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.1)
    try:
        with pytest.raises(_Interrupted):
            site_a.push(review=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        deadline = time.monotonic() + 15  # signalled; give them a moment to exit
        while _marked(f"H3_PUSH_MARKER={marker}") and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {p: _cmdline(p) for p in _marked(f"H3_PUSH_MARKER={marker}")}
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"outlived the interrupted push: {left}"
