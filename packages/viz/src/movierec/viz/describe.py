"""One sentence per chart, for readers who cannot see it (the page shows it under the chart)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_TAGS = re.compile(r"<[^>]+>")


def _plain(text: Any) -> str:
    return _TAGS.sub(" ", str(text or "")).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").strip()


def _number(value: Any) -> str:
    number = float(value)
    return f"{number:,.0f}" if number == int(number) and abs(number) >= 10 else f"{number:,.3g}"


def figure_summary(figure: Any) -> str:
    """'Chart: <title>. <what the first trace shows>' for a bar, line or ranked-bar figure; '' without data."""
    title = _plain(figure.layout.title.text) if figure.layout.title else ""
    if not figure.data:
        return f"Chart: {title}." if title else ""
    trace = figure.data[0]
    text = f"Chart: {title}." if title else "Chart."
    if getattr(trace, "orientation", None) == "h" and getattr(trace, "text", None) is not None:
        labels = [_plain(label) for label in trace.text]
        if labels:
            text += f" First: {labels[0]}; last: {labels[-1]}."
        return text
    if getattr(trace, "type", "") == "heatmap":
        return text + f" {len(trace.y)} rows by {len(trace.x)} columns; the table below holds the same numbers."
    x, y = getattr(trace, "x", None), getattr(trace, "y", None)
    if x is None or y is None or not len(y):
        return text
    values = np.asarray(y, dtype=float)
    top = int(np.nanargmax(values))
    return text + (f" {len(values)} points from {_plain(x[0])} to {_plain(x[-1])}; the highest, "
                   f"{_number(values[top])}, at {_plain(x[top])}.")
