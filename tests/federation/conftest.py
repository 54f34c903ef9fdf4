"""Real git everywhere: a local bare repository is the remote, two clones are two sites.

HOME, the global git config and the commit identity are isolated per test, so
neither the developer's ``~/.gitconfig`` nor the system's can change results.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from doltplane.config import ENVIRONMENT_VARIABLES, Settings
from doltplane.federation import Federation

ROLE = """\
role = "{name}"
scope = "rig"
description = "A role for tests."
custom_key = "kept"

[session]
command = "claude"
timeout_seconds = 60

[env]
MODE = "{mode}"
"""

FORMULA = """\
formula = "{name}"
version = {version}
description = "{description}"

[[steps]]
id = "first"
title = "First step"

[[steps]]
id = "second"
title = "Second step"
needs = ["first"]
"""


def role_text(name: str, mode: str = "work") -> str:
    return ROLE.format(name=name, mode=mode)


def formula_text(name: str, version: int | str = 1, description: str = "Does things.") -> str:
    return FORMULA.format(name=name, version=version, description=description)


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    for variable in ENVIRONMENT_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test Operator")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "operator@example.test")


@pytest.fixture(scope="session")
def seeded_remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A bare repository holding the starter catalog, built once and copied per test."""
    base = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch, base / "home")
        remote = Path(Federation.init_shared(str(base / "shared.git")))
        Federation(Settings(data_dir=base / "seed-site", site="seed")).init(str(remote))
        yield remote


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    isolate(monkeypatch, home)
    return home


@pytest.fixture
def remote(tmp_path: Path, seeded_remote: Path) -> Path:
    target = tmp_path / "shared.git"
    shutil.copytree(seeded_remote, target, symlinks=True)
    return target


def make_site(tmp_path: Path, remote: Path, name: str) -> Federation:
    federation = Federation(
        Settings(data_dir=tmp_path / name, site=name, federation_remote=str(remote))
    )
    federation.clone()
    return federation


@pytest.fixture
def site_a(tmp_path: Path, remote: Path) -> Federation:
    return make_site(tmp_path, remote, "site-a")


@pytest.fixture
def site_b(tmp_path: Path, remote: Path) -> Federation:
    return make_site(tmp_path, remote, "site-b")


def git(fed: Federation, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=fed.repo.path, capture_output=True, text=True, check=True
    ).stdout.strip()


def write(fed: Federation, rel: str, text: str) -> Path:
    path = fed.repo.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def publish(fed: Federation, rel: str, text: str, message: str = "change") -> str:
    """Write a file, commit it and push it straight to main (what another site did)."""
    write(fed, rel, text)
    result = fed.push(review=False, message=message)
    assert result.commit is not None
    return result.commit


def snapshot(fed: Federation) -> tuple[str, str, str]:
    """HEAD, the index and the work tree: a pull that changes nothing leaves all three equal."""
    return (
        git(fed, "rev-parse", "HEAD"),
        git(fed, "ls-files", "--stage"),
        git(fed, "status", "--porcelain=v1", "--untracked-files=all")
        + "".join(
            p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(fed.repo.path.rglob("*"))
            if p.is_file() and ".git" not in p.parts
        ),
    )
