"""What every report figure shares: the house layout and colours, escaping of data text
for plotly's HTML-like rendering, and the HTML fragment that loads plotly.min.js from beside
the page (never a CDN).

Plotly.js renders a small HTML subset in chart text (<b>, <a href>, <br>, ...), so every
string that comes from data is escaped first (`label`): a title such as `<a href=...>` then
shows literally instead of becoming a link. The figure JSON itself is safe inside <script>:
plotly writes < > / as \\u escapes.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import plotly.graph_objects as go

LAYOUT = {
    "template": "plotly_white",
    "height": 380,
    "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
    "font": {"family": "sans-serif"},
}
CRITICAL = "#C00000"
NORMAL = "#5B9BD5"
GOOD = "#2E7D32"
BAD = "#C62828"
NEUTRAL = "#9E9E9E"


def label(text: str) -> str:
    """Data text made inert for plotly's HTML-like text rendering."""
    return html.escape(text, quote=False)


def lines(parts: Iterable[str]) -> str:
    """Escaped parts joined by plotly's own line break."""
    return "<br>".join(label(p) for p in parts)


def fragment(fig: go.Figure, div_id: str) -> str:
    """The figure as a <div> and its script, with no plotly.js of its own.

    `div_id` is written into the page's script verbatim, so callers pass only ids they
    build from constants and numbers, never data text."""
    own = fig.layout.to_plotly_json()
    own.pop("template", None)
    fig.update_layout(LAYOUT)
    fig.update_layout(own)  # what the figure set itself wins over the house layout
    out: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return out
