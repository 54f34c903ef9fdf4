"""Everything known about one id over time, across the planes, and pictures of it.

``gather(dp, id)`` returns a :class:`Timeline` (events oldest first, the retention
window); ``render_html``, ``render_svg`` and ``render_png`` draw it.
"""

from doltplane.timeline.events import LANES, Event, RetentionWindow, Timeline, zone
from doltplane.timeline.gather import gather
from doltplane.timeline.html import render_html
from doltplane.timeline.svg import render_svg

__all__ = [
    "LANES",
    "Event",
    "RetentionWindow",
    "Timeline",
    "gather",
    "render_html",
    "render_svg",
    "zone",
]
