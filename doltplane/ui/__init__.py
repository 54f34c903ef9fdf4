"""``doltplane ui``: a read-only operator page (planes, agents, branches, commits,
service jobs and alerts, the federation catalog, and the timeline of any id)."""

from doltplane.ui.server import UiServer

__all__ = ["UiServer"]
