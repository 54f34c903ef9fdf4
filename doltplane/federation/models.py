"""Typed catalog entries. Each keeps its whole document in ``data``: no key is dropped."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

Kind = Literal["role", "formula", "template"]
KINDS: tuple[Kind, ...] = ("role", "formula", "template")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One validation finding, printed as ``path:line: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Role:
    """``roles/<file>.toml``: ``role = "polecat"``, ``scope``, ``[session]``, ``[env]``, ..."""

    name: str
    path: str
    data: dict[str, Any]

    kind: Literal["role"] = "role"

    @property
    def scope(self) -> str | None:
        value = self.data.get("scope")
        return value if isinstance(value, str) else None

    def table(self, key: str) -> dict[str, Any]:
        """A sub-table such as ``session``, ``env`` or ``health`` (empty when absent)."""
        value = self.data.get(key)
        return value if isinstance(value, dict) else {}


@dataclasses.dataclass(frozen=True)
class Step:
    id: str
    title: str | None
    description: str | None
    needs: list[str]
    data: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Formula:
    """``formulas/<file>.formula.toml``: ``formula``, integer ``version``, ``[[steps]]``, ..."""

    name: str
    version: int
    path: str
    data: dict[str, Any]

    kind: Literal["formula"] = "formula"

    @property
    def description(self) -> str | None:
        value = self.data.get("description")
        return value if isinstance(value, str) else None

    @property
    def steps(self) -> list[Step]:
        raw = self.data.get("steps")
        steps = []
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict):
                continue
            needs = item.get("needs")
            steps.append(
                Step(
                    id=str(item.get("id", "")),
                    title=item.get("title") if isinstance(item.get("title"), str) else None,
                    description=(
                        item.get("description")
                        if isinstance(item.get("description"), str)
                        else None
                    ),
                    needs=[str(n) for n in needs] if isinstance(needs, list) else [],
                    data=item,
                )
            )
        return steps


@dataclasses.dataclass(frozen=True)
class Template:
    """Any text file under ``templates/<category>/``; its name is the path below ``templates/``."""

    name: str
    category: str
    path: str
    text: str

    kind: Literal["template"] = "template"


Entry = Role | Formula | Template
