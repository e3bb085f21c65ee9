"""Published figures drawn as labelled reference lines on benchmark charts.

The Netflix Prize's two landmarks are RMSEs published for the real Prize data: Cinematch, Netflix's
own engine, scored 0.9514 on the quiz set, and the winning team (BellKor's Pragmatic Chaos, 2009)
0.8567 on the test set. movierec did not measure them. They belong on a chart only where the
engines were scored the way the Prize scored them: Netflix data with the `probe` split (the probe
set is the contestants' stand-in for the quiz and test sets).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from movierec.viz._style import escape

#: what every Prize line says of itself
PUBLISHED = "published on the real Prize data, not measured by movierec"


@dataclass(frozen=True)
class ReferenceLine:
    """A published value of one metric, drawn as a dashed line with its label."""

    metric: str
    value: float
    label: str
    source: str = PUBLISHED


PRIZE_REFERENCE_LINES = (
    ReferenceLine("rmse", 0.9514, "Cinematch 0.9514 (quiz set)"),
    ReferenceLine("rmse", 0.8567, "Prize winner 0.8567 (test set)"),
)


def reference_lines(dataset: str, split: str) -> list[ReferenceLine]:
    """The published lines for a benchmark of `dataset` (its spec) under `split`: the Prize's on netflix:DIR with `probe`."""
    if str(dataset).startswith("netflix:") and str(split) == "probe":
        return list(PRIZE_REFERENCE_LINES)
    return []


def draw_reference_lines(figure: go.Figure, lines: Sequence[ReferenceLine], metric: str | None) -> go.Figure:
    """Add the lines of `metric` as dashed horizontal lines with their labels; the y range keeps them in view."""
    chosen = [line for line in lines if line.metric == metric]
    for line in chosen:
        figure.add_hline(
            y=line.value,
            line=dict(color="#555555", width=1.5, dash="dash"),
            annotation=dict(text=escape(f"{line.label}: {line.source}"), font=dict(size=11, color="#555555")),
            annotation_position="top right",
        )
    if chosen:
        values = []
        for trace in figure.data:
            ys = [float(y) for y in (trace.y if trace.y is not None else [])]
            spread = getattr(getattr(trace, "error_y", None), "array", None)
            spread = [float(s) for s in spread] if spread is not None else [0.0] * len(ys)
            values += [y - s for y, s in zip(ys, spread)] + [y + s for y, s in zip(ys, spread)]
        values += [line.value for line in chosen]
        span = max(max(values) - min(values), 1e-3)
        figure.update_yaxes(range=[min(values) - 0.08 * span, max(values) + 0.12 * span])
    return figure


def reference_note(lines: Sequence[ReferenceLine], metrics: Sequence[str]) -> str | None:
    """One line naming the published values of the shown metrics (for charts that cannot draw a line)."""
    chosen = [line for line in lines if line.metric in set(metrics)]
    if not chosen:
        return None
    sources = sorted({line.source for line in chosen})
    return "; ".join(line.label for line in chosen) + f" ({'; '.join(sources)})"
