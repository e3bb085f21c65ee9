"""Training curves of the deep engines: loss and validation loss per epoch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from movierec.core.errors import DataError
from movierec.viz._style import RED, counted, empty_figure, escape, layout

# the first engine keeps the notebook's red; others get distinct, print-friendly colours
ENGINE_COLORS = (RED, "#1f4e9c", "#2a9d4b", "#e08e0b", "#7b3fa0", "#555555", "#0aa1b5", "#b5560a")


def history_table(history: pd.DataFrame | Mapping[str, Any], metric: str = "loss") -> pd.DataFrame:
    """Tidy columns engine, epoch, loss, val_loss from a table or from Keras-style history dicts.

    Accepts a DataFrame (engine optional, epoch optional), one history dict such as
    `keras.callbacks.History.history` ({'loss': [...], 'val_loss': [...]}), or a mapping
    engine name -> either of those. `metric` picks another pair, e.g. 'rmse' and 'val_rmse'.
    """
    if isinstance(history, pd.DataFrame):
        return _one_table(history, None, metric)
    if metric in history or f"val_{metric}" in history:
        return _one_table(pd.DataFrame(dict(history)), None, metric)
    parts = [
        _one_table(h if isinstance(h, pd.DataFrame) else pd.DataFrame(dict(h)), str(name), metric)
        for name, h in history.items()
    ]
    if not parts:
        return pd.DataFrame(columns=["engine", "epoch", "loss", "val_loss"])
    return pd.concat(parts, ignore_index=True)


def training_curves(history: pd.DataFrame | Mapping[str, Any], metric: str = "loss") -> go.Figure:
    """Loss (solid) and validation loss (dashed) per epoch, one colour per engine (or another metric pair)."""
    curves = history_table(history, metric)
    loss_name = metric.upper() if metric in ("rmse", "mae", "mse") else metric.replace("_", " ").title()
    engines = list(dict.fromkeys(curves["engine"]))
    title = f"Training Curves Of {counted(len(engines), 'Engines')}"
    validation = curves.dropna(subset=["val_loss"])
    if len(validation):
        best = validation.loc[validation["val_loss"].idxmin()]
        who = f"{best['engine']}, " if best["engine"] else ""
        title += f": Best Validation {loss_name} {best['val_loss']:.4f} ({who}Epoch {int(best['epoch'])})"
    if curves[["loss", "val_loss"]].notna().to_numpy().sum() == 0:
        return empty_figure(title, "no epochs recorded")
    figure = go.Figure(layout=layout(title, "Epoch", loss_name))
    for index, engine in enumerate(engines):
        rows = curves[curves["engine"] == engine].sort_values("epoch")
        color = ENGINE_COLORS[index % len(ENGINE_COLORS)]
        name = escape(engine) if engine else "model"
        for column, dash, label in (("loss", "solid", "training"), ("val_loss", "dash", "validation")):
            values = rows[column].to_numpy(dtype=float)
            if not np.isfinite(values).any():
                continue
            figure.add_trace(
                go.Scatter(
                    x=rows["epoch"].to_numpy(),
                    y=values,
                    mode="lines+markers",
                    name=f"{name} {label}",
                    legendgroup=name,
                    line=dict(color=color, dash=dash),
                    hovertemplate=f"{name} {label}<br>epoch %{{x}}: %{{y:.4f}}<extra></extra>",
                )
            )
    figure.update_xaxes(dtick=1 if curves["epoch"].max() <= 20 else None)
    return figure


def _one_table(frame: pd.DataFrame, engine: str | None, metric: str) -> pd.DataFrame:
    if metric not in frame.columns and f"val_{metric}" not in frame.columns:
        raise DataError(
            f"training history{' of ' + engine if engine else ''}: expected a {metric!r} and/or "
            f"'val_{metric}' column, got {list(frame.columns)}"
        )
    out = pd.DataFrame(index=frame.index)
    out["engine"] = frame["engine"].astype(str) if "engine" in frame.columns else (engine or "")
    out["epoch"] = frame["epoch"].to_numpy() if "epoch" in frame.columns else np.arange(1, len(frame) + 1)
    for column, source in (("loss", metric), ("val_loss", f"val_{metric}")):
        out[column] = pd.to_numeric(frame[source], errors="coerce").astype(float) if source in frame.columns else np.nan
    return out.reset_index(drop=True)
