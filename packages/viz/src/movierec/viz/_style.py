"""Shared look of every movierec chart: the notebook's red, heights, escaping, empty figures."""

from __future__ import annotations

import html
import math
from typing import Any, Iterable

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

RED = "#db0000"
TEXT_COLOR = "#000000"


def _white_template() -> go.layout.Template:
    """plotly's "plotly_white", kept to what movierec draws: bars, scatters and heatmaps on x/y axes.

    The whole template (defaults for 24 trace types, maps, polar and 3-D scenes) is copied and
    validated into every figure and sent with it: it tripled the time to build a small chart.
    """
    white = pio.templates["plotly_white"].to_plotly_json()
    unused = ("geo", "polar", "scene", "ternary")
    return go.layout.Template(
        layout={key: value for key, value in white["layout"].items() if key not in unused},
        data={key: value for key, value in white["data"].items() if key in ("bar", "scatter", "heatmap")},
    )


TEMPLATE = _white_template()
HEIGHT = 500
# horizontal bar charts grow with the number of bars so labels never overlap
BAR_ROW_HEIGHT = 42
BAR_CHART_MIN_HEIGHT = 360


def escape(value: Any) -> str:
    """Text safe for plotly's pseudo-HTML labels ('<', '>' and '&' shown literally)."""
    return html.escape(str(value), quote=False)


def layout(title: str, x_title: str, y_title: str, height: int = HEIGHT, **extra: Any) -> dict[str, Any]:
    """The common layout: escaped title, axis titles, explicit height, white template."""
    return dict(
        title=dict(text=escape(title), x=0.02, xanchor="left"),
        xaxis=dict(title=dict(text=escape(x_title))),
        yaxis=dict(title=dict(text=escape(y_title))),
        height=height,
        template=TEMPLATE,
        margin=dict(l=70, r=40, t=80, b=60),
        **extra,
    )


def empty_figure(title: str, message: str = "no data", height: int = HEIGHT) -> go.Figure:
    """A figure with the chart's title and a centred note instead of traces."""
    figure = go.Figure(layout=layout(title, "", "", height=height))
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.add_annotation(
        text=escape(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font=dict(size=16, color="#666666"),
    )
    return figure


def bar_chart_height(bars: int) -> int:
    """Height of a horizontal bar chart with this many bars."""
    return max(BAR_CHART_MIN_HEIGHT, 160 + BAR_ROW_HEIGHT * bars)


def count(n: int) -> str:
    """An integer with thousands separators, as titles show counts."""
    return f"{int(n):,}"


def counted(n: int, plural: str) -> str:
    """'1 Engine', '3 Engines': a count with its noun (plural given, singular drops a final s)."""
    noun = plural[:-1] if int(n) == 1 and plural.endswith("s") else plural
    return f"{count(n)} {noun}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value (value > 0)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value - 1e-9:
            return step * power
    return 10.0 * power


def finite(values: Iterable[float]) -> np.ndarray:
    """The finite entries of values as a float array."""
    array = np.asarray(list(values), dtype=float)
    return array[np.isfinite(array)]
