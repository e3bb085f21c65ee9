"""Label placement for scatter charts: each point's label where it covers the fewest other labels and points.

Plotly places text labels but does not move them apart. The geometry here estimates each label's
box in pixels from the figure's axis ranges and height, and the font's average character size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the plot area a scatter gets in a page (pixels) and the label font's average character size
PLOT_WIDTH, CHAR_WIDTH, LINE_HEIGHT, MARKER_RADIUS = 900, 7.0, 16.0, 7.0
_POSITIONS = ("top center", "bottom center", "middle right", "middle left",
              "top right", "top left", "bottom right", "bottom left")


def label_boxes(figure: Any) -> list[tuple[float, float, float, float]]:
    """Each scatter label's box (x0, y0, x1, y1) in pixels of the plot area, as plotly places it."""
    trace = figure.data[0]
    x, y = _pixels(figure)
    return _boxes(x, y, [str(text) for text in trace.text], _as_list(trace.textposition, len(x)))


def _boxes(x: np.ndarray, y: np.ndarray, texts: list[str], positions: list[str]) -> list[tuple[float, float, float, float]]:
    boxes = []
    for px, py, text, position in zip(x, y, texts, positions):
        width, height = CHAR_WIDTH * len(text), LINE_HEIGHT
        vertical, horizontal = position.split()
        cx = px + {"left": -(MARKER_RADIUS + width / 2), "right": MARKER_RADIUS + width / 2}.get(horizontal, 0.0)
        cy = py + {"top": -(MARKER_RADIUS + height / 2), "bottom": MARKER_RADIUS + height / 2}.get(vertical, 0.0)
        boxes.append((cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2))
    return boxes


def declutter_labels(figure: Any) -> Any:
    """Place each engine label of the quality-versus-time scatter where it overlaps the fewest labels and points.

    Engines of one family (the Surprise kNNs) fit in about the same time with about the same
    quality; their labels all "top center" would print over each other. Labels are placed one
    by one, most crowded point first, each at the candidate position that covers the least.
    """
    if not figure.data or getattr(figure.data[0], "text", None) is None or len(figure.data[0].text) < 2:
        return figure
    trace = figure.data[0]
    x, y = _pixels(figure)
    x, y = [float(v) for v in x], [float(v) for v in y]  # plain floats: the loop below runs count^2 times
    texts = [str(text) for text in trace.text]
    count = len(x)
    chosen: dict[int, str] = {}
    crowd = [sum(abs(x[i] - x[j]) < 120 and abs(y[i] - y[j]) < 40 for j in range(count)) for i in range(count)]
    for i in sorted(range(count), key=lambda i: (-crowd[i], x[i])):
        best, best_cost = _POSITIONS[0], float("inf")
        for position in _POSITIONS:
            positions = [chosen.get(j, position if j == i else "top center") for j in range(count)]
            boxes = _boxes(x, y, texts, positions)
            mine = boxes[i]
            cost = sum(_overlap(mine, boxes[j]) for j in chosen)
            cost += sum(_overlap(mine, (x[j] - MARKER_RADIUS, y[j] - MARKER_RADIUS, x[j] + MARKER_RADIUS,
                                        y[j] + MARKER_RADIUS)) for j in range(count))
            cost += 0.01 * _POSITIONS.index(position)  # among equals, the plainer position
            if cost < best_cost:
                best, best_cost = position, cost
        chosen[i] = best
    trace.textposition = [chosen[i] for i in range(count)]
    return figure


def _pixels(figure: Any) -> tuple[np.ndarray, np.ndarray]:
    """The scatter's points in plot-area pixels (x on the figure's log axis range, y on the data's span)."""
    trace = figure.data[0]
    x = np.log10(np.asarray(trace.x, dtype=float))
    low, high = figure.layout.xaxis.range if figure.layout.xaxis.range else (x.min() - 0.3, x.max() + 0.5)
    values = np.asarray(trace.y, dtype=float)
    spread = np.nan_to_num(np.asarray(trace.error_y.array if trace.error_y and trace.error_y.array is not None
                                      else np.zeros_like(values), dtype=float))
    bottom, top = float(np.min(values - spread)), float(np.max(values + spread))
    pad = 0.05 * max(top - bottom, 1e-9)
    height = float(figure.layout.height or 500) - 140  # the layout's top and bottom margins
    px = (x - low) / max(high - low, 1e-9) * PLOT_WIDTH
    py = (top + pad - values) / max(top - bottom + 2 * pad, 1e-9) * height
    return px, py


def _as_list(value: Any, count: int) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value or "top center"] * count


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Overlapping area of two boxes, in square pixels."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
