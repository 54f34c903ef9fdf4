"""The UI tests read the timeline tests' story (built once per module)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from doltplane.config import ENVIRONMENT_VARIABLES

from ..timeline.story import build_story, isolated_git_env


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("story")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for variable in ENVIRONMENT_VARIABLES.values():
            monkeypatch.delenv(variable, raising=False)
        for key, value in isolated_git_env(base / "home").items():
            monkeypatch.setenv(key, value)
        yield build_story(base)
