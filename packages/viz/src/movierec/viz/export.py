"""Write figures as standalone HTML, and as PNG through Kaleido and the system's chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from movierec.core.errors import MovierecError

PNG_WIDTH = 1000
_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ExportError(MovierecError):
    """A figure could not be written (no browser for PNG export, or the browser failed)."""


def find_browser() -> str | None:
    """The chromium Kaleido will drive: $BROWSER_PATH, else the first chromium/chrome on PATH."""
    configured = os.environ.get("BROWSER_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    for name in _BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_html(figure: go.Figure, path: str | Path, include_plotlyjs: bool | str = True) -> Path:
    """Write one HTML file; by default it embeds plotly.js and opens offline anywhere."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.write_html(path, include_plotlyjs=include_plotlyjs, full_html=True)
    return path


def to_png(figure: go.Figure, width: int = PNG_WIDTH, scale: float = 1.0) -> bytes:
    """The figure rendered as PNG bytes, at its own height and `width` layout pixels."""
    import kaleido

    options = _kaleido_options()
    try:
        return kaleido.calc_fig_sync(figure.to_dict(), opts=_options(figure, width, scale), kopts=options)
    except Exception as error:  # kaleido raises its own, choreographer's and asyncio errors
        raise ExportError(f"PNG rendering failed: {type(error).__name__}: {error}") from error


def write_png(figure: go.Figure, path: str | Path, width: int = PNG_WIDTH, scale: float = 1.0) -> Path:
    """Write one PNG file (see `write_pngs` to render many in one browser session)."""
    return write_pngs([(figure, path)], width=width, scale=scale)[0]


def write_pngs(figures: Sequence[tuple[go.Figure, str | Path]], width: int = PNG_WIDTH, scale: float = 1.0) -> list[Path]:
    """Write several PNG files with one browser start, which is most of the time of one."""
    import kaleido

    paths = [Path(path) for _, path in figures]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
    specs = [
        dict(fig=figure.to_dict(), path=path, opts=_options(figure, width, scale))
        for (figure, _), path in zip(figures, paths)
    ]
    if specs:
        options = _kaleido_options()
        try:
            kaleido.write_fig_from_object_sync(specs, kopts=options)
        except Exception as error:  # kaleido raises its own, choreographer's and asyncio errors
            raise ExportError(f"PNG export to {paths[0].parent} failed: {type(error).__name__}: {error}") from error
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise ExportError(f"PNG export wrote no file for {', '.join(missing)}")
    return paths


def _options(figure: go.Figure, width: int, scale: float) -> dict[str, Any]:
    height = figure.layout.height or 500
    return dict(format="png", width=int(figure.layout.width or width), height=int(height), scale=scale)


def missing_browser_reason() -> str | None:
    """Why PNG export cannot run here, or None when a browser was found."""
    if find_browser() is not None:
        return None
    configured = os.environ.get("BROWSER_PATH")
    if configured:
        return f"BROWSER_PATH={configured!r} does not exist"
    return "no chromium or chrome on PATH and BROWSER_PATH is unset"


def _kaleido_options() -> dict[str, Any]:
    browser = find_browser()
    if browser is None:
        raise ExportError(
            f"PNG export needs chromium or chrome: {missing_browser_reason()} "
            "(install chromium, or set BROWSER_PATH to the browser executable; `--no-png` skips PNGs)"
        )
    # MathJax would be fetched from a CDN; no chart uses LaTeX, and exports must work offline
    return {"path": browser, "mathjax": False}
