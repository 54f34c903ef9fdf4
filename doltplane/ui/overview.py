"""What the operator page shows, read from the planes' public APIs; changes nothing.

Each section is read on its own: one that fails (a plane not created yet, no
federation clone) is reported in words and the others still show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from doltplane.alerts.service_state import LockInfo, ServiceState, read_lock, read_service_state
from doltplane.errors import DoltplaneError

if TYPE_CHECKING:
    from doltplane.admin import PlaneStatus
    from doltplane.client import DataPlane
    from doltplane.federation.models import Entry
    from doltplane.planes.ledger import AgentBranch
    from doltplane.planes.ops_records import AgentHealth
    from doltplane.store.base import Commit

T = TypeVar("T")

RECENT_COMMITS = 8


@dataclasses.dataclass(frozen=True)
class Overview:
    planes: list[PlaneStatus]
    agents: list[AgentHealth]
    branches: list[AgentBranch]
    commits: dict[str, list[Commit]]
    """Plane -> its newest commits on main."""
    catalog: list[Entry] | None
    """None: this site has no federation clone."""
    service_lock: LockInfo | None
    """Who holds ``.serve/lock`` (None: no service ever ran here)."""
    service: ServiceState | None
    """What the service last wrote to ``.serve/state.json`` (None: nothing, or unreadable)."""
    problems: dict[str, str]
    """Section -> why it could not be read."""


def read_overview(dp: DataPlane) -> Overview:
    problems: dict[str, str] = {}

    def section(name: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except DoltplaneError as exc:
            problems[name] = exc.one_line()
            return None

    planes = section("planes", dp.status) or []
    existing = {p.plane for p in planes if p.exists}
    agents = (section("agents", dp.ops.agents) if "ops" in existing else None) or []
    branches = (section("branches", dp.ledger.branches) if "ledger" in existing else None) or []
    commits: dict[str, list[Commit]] = {}
    for plane in sorted(existing):

        def recent(plane: str = plane) -> list[Commit]:
            return dp.engine(plane).log(limit=RECENT_COMMITS)

        commits[plane] = section(f"{plane} commits", recent) or []
    catalog: list[Entry] | None = None
    if dp.federation.repo.exists():
        catalog = section("federation", dp.federation.list) or []
    return Overview(
        planes=planes,
        agents=agents,
        branches=branches,
        commits=commits,
        catalog=catalog,
        service_lock=read_lock(dp.settings.data_dir),
        service=section("service", lambda: read_service_state(dp.settings.data_dir)),
        problems=problems,
    )
