"""Widgets and wiring every tab shares: declared outputs, the error guard, sliders, title and engine pickers."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from movierec.app import callbacks, limits
from movierec.app.callbacks import InputError
from movierec.app.catalog import engine_entries
from movierec.app.state import AppState
from movierec.core.errors import MovierecError

log = logging.getLogger(__name__)

MESSAGE = "message"
#: re-types the focused dropdown's text (one space added, then removed) so the page filters the new options
REFILTER_JS = """() => {
  const box = document.activeElement;
  if (!box || box.getAttribute("role") !== "combobox") return;
  const typed = box.value;
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
  setValue.call(box, typed + " "); box.dispatchEvent(new Event("input", {bubbles: true}));
  setValue.call(box, typed); box.dispatchEvent(new Event("input", {bubbles: true}));
}"""


def warn(text: str) -> str:
    """Show `text` as a warning toast and return it for the page's message line."""
    safe = html.escape(text, quote=False)  # the toast renders HTML, and the text may quote what a visitor typed
    gr.Warning(safe)
    return f"**Note:** {limits.plain_markdown(text)}"  # the page's note renders markdown: no links or images


def empty_frame(columns: list[str]) -> pd.DataFrame:
    """A table with headers and no rows (a table that keeps its headers after an error)."""
    return pd.DataFrame(columns=columns)


class Outputs:
    """A tab's output widgets, declared once: their order, and what each shows when a handler fails.

    `Outputs(table=(widget, empty value), message=(widget, None))`; a handler returns
    `outputs.answer(table=..., message=...)` and is wrapped by `outputs.guard`, so the count and
    order live here only. The widget named `message` receives the error text.
    """

    def __init__(self, **declared: tuple[Any, Any]) -> None:
        self.names = list(declared)
        self.widgets = [widget for widget, _ in declared.values()]
        self._empty = {name: value for name, (_, value) in declared.items()}

    def answer(self, **values: Any) -> tuple:
        """The handler's return value, in the declared order; every output must be given."""
        missing = [name for name in self.names if name not in values]
        extra = [name for name in values if name not in self._empty]
        if missing or extra:
            raise TypeError(f"outputs missing {missing}, unknown {extra}")
        return tuple(values[name] for name in self.names)

    def empty(self, text: str) -> tuple:
        """What every output shows after a refused input: its empty value, and `text` as the message."""
        values = {name: (value() if callable(value) else value) for name, value in self._empty.items()}
        if MESSAGE in values:
            values[MESSAGE] = text
        return self.answer(**values)

    def guard(self, handler: Callable[..., tuple]) -> Callable[..., tuple]:
        """Run `handler`; on a user error show a warning and return `empty(message)` instead."""

        @functools.wraps(handler)
        def run(*args: Any, **kwargs: Any) -> tuple:
            try:
                return handler(*args, **kwargs)
            except (InputError, MovierecError) as error:
                return self.empty(warn(str(error)))
            except (ValueError, KeyError) as error:  # e.g. a core check on k or an id
                log.info("rejected input: %s", error)
                return self.empty(warn(str(error).strip("'\"")))
            except Exception as error:  # keep serving; the log has the traceback
                log.exception("handler %s failed", handler.__name__)
                return self.empty(warn(f"something went wrong ({type(error).__name__}); please try again"))

        return run


#: a column's width when its table names none
COLUMN_WIDTH = "120px"


def _cell(value: Any) -> str:
    """One table cell's text: empty for a missing value, else the value as pandas prints it."""
    if value is None or (isinstance(value, float) and value != value):  # value != value: NaN
        return ""
    return html.escape(str(value), quote=False)


def html_table(table: pd.DataFrame, label: str, widths: dict[str, str] | None = None) -> str:
    """`table` as a plain HTML table named `label`, in a box that scrolls sideways on a phone.

    Gradio's Dataframe rebuilds its rows on every read of its state while an earlier update of
    the page is still pending (after picking a title the server's search had listed, opening a
    tab with a 20-row table cost 10-40 s of script); a static table costs one layout. The box
    takes keyboard focus, so a table wider than the screen can be scrolled without a mouse.
    """
    widths = widths or {}
    columns = [str(column) for column in table.columns]
    name = html.escape(label)
    sizes = [widths.get(column, COLUMN_WIDTH) for column in columns]
    cols = "".join(f'<col style="width: {html.escape(size)}">' for size in sizes)
    # a fixed layout needs the table's own width: the columns' sum, or the box's width where that is wider
    wide = f' style="width: {sum(int(size[:-2]) for size in sizes)}px"' if all(
        size.endswith("px") and size[:-2].isdigit() for size in sizes) else ""
    head = "".join(f'<th scope="col">{html.escape(column)}</th>' for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>"
                   for row in table.itertuples(index=False, name=None))
    if not body:
        body = f'<tr><td colspan="{max(len(columns), 1)}" class="movierec-empty">nothing to show yet</td></tr>'
    return (f'<div class="movierec-table-box" role="region" aria-label="{name}" tabindex="0">'
            f'<table{wide}><caption>{name}</caption><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


#: characters per line of a chart's title and of its x-axis title (centred under a plot area that long
#: row names push right): about what a 390 px phone shows at plotly's sizes
TITLE_LINE, AXIS_LINE = 38, 30


def _wrapped(text: str, width: int) -> str:
    """`text` broken at spaces into lines of at most `width` characters (plotly's <br>)."""
    lines: list[str] = []
    for word in str(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def fit_titles(figure: Any, width: int = TITLE_LINE, axis_width: int = AXIS_LINE) -> Any:
    """`figure` with its title and x-axis title in lines a phone shows whole (plotly never wraps them).

    The top margin grows by a line for each line the title gains; the summary under each chart
    reads the title with its breaks as spaces.
    """
    if figure is None:
        return None
    title = figure.layout.title.text if figure.layout.title else None
    if title and len(title) > width and "<br>" not in title:
        wrapped = _wrapped(title, width)
        figure.update_layout(title_text=wrapped)
        margin = figure.layout.margin.t if figure.layout.margin and figure.layout.margin.t is not None else 80
        figure.update_layout(margin_t=margin + 20 * wrapped.count("<br>"))
    axis = figure.layout.xaxis.title.text if figure.layout.xaxis and figure.layout.xaxis.title else None
    if axis and len(axis) > axis_width and "<br>" not in axis:
        wrapped = _wrapped(axis, axis_width)
        figure.update_xaxes(title_text=wrapped)
        margin = figure.layout.margin.b if figure.layout.margin and figure.layout.margin.b is not None else 60
        figure.update_layout(margin_b=margin + 16 * wrapped.count("<br>"))
    return figure


class ResultTable:
    """A tab's result table: its label, columns and column widths, shown as `html_table`."""

    def __init__(self, label: str, columns: list[str], widths: dict[str, str] | None = None) -> None:
        self.label, self.columns, self.widths = label, list(columns), dict(widths or {})
        self.widget = gr.HTML(self.empty(), elem_classes="movierec-table", js_on_load=None)

    def show(self, table: pd.DataFrame) -> str:
        """`table` drawn with this table's label and widths (a ranking engine's list has no stars column)."""
        return html_table(table, self.label, self.widths)

    def empty(self) -> str:
        """The table with its headers and no rows (it keeps its headers after an error)."""
        return self.show(empty_frame(self.columns))


def gradio_progress(progress: gr.Progress) -> Callable[[float, str], None]:
    """A core progress callback that drives Gradio's progress bar."""
    return lambda fraction, text: progress(fraction, desc=text)


def checked_slider(*args: Any, **options: Any) -> gr.Slider:
    """A gr.Slider whose API value must be a number: text or true/false get a clear error, not a traceback.

    The check wraps this slider's own preprocess: a subclass would make Gradio write a .pyi stub
    next to this module and need its own frontend name.
    """
    slider = gr.Slider(*args, **options)
    checks_range = slider.preprocess

    def preprocess(payload: Any) -> float:
        if isinstance(payload, bool) or not isinstance(payload, (int, float)):
            raise gr.Error(f"{slider.label or 'value'} must be a number from {slider.minimum:g} to {slider.maximum:g}, "
                           f"got {html.escape(repr(payload)[:40])}", print_exception=False)  # bad input, not a bug
        return checks_range(payload)

    slider.preprocess = preprocess  # type: ignore[method-assign]
    return slider


def k_slider() -> gr.Slider:
    """The "How many (k)" control."""
    return checked_slider(callbacks.K_MIN, callbacks.K_MAX, value=10, step=1, label="How many (k)", scale=2,
                          min_width=160)


def min_ratings_slider(state: AppState) -> gr.Slider:
    """The "Minimum ratings per title" control (5 on real data, 0 on the sample)."""
    return checked_slider(0, callbacks.MIN_RATINGS_MAX, value=callbacks.default_min_ratings(state), step=1,
                          label="Minimum ratings per title", scale=2, min_width=160,
                          info="leaves out titles too few people rated to judge")


def title_widget(state: AppState, **options: Any) -> gr.Dropdown:
    """A title dropdown that opens with the most rated titles and searches them all on the server as one types."""
    widget = gr.Dropdown(state.search_labels(""), filterable=True, allow_custom_value=True, **options)

    def search(data: gr.KeyUpData) -> Any:
        return gr.update(choices=state.search_labels(data.input_value))

    # no queue: a search answers in milliseconds and must not wait behind a training
    # always_last: an answer to an earlier prefix never lands after the latest one; then the list is
    # filtered again in the page, which Gradio's dropdown does only when the typed text changes
    # (without it, the options drawn for an earlier prefix stay on screen next to the new ones)
    widget.key_up(search, None, widget, queue=False, show_progress="hidden", api_visibility="private",
                  trigger_mode="multiple").then(None, None, None, js=REFILTER_JS, queue=False,
                                                   api_visibility="private")
    return widget


def engine_picker(state: AppState, tab: str, label: str = "Engine", scale: int = 4) -> gr.Dropdown:
    """The tab's engine dropdown: the recommended engines in plain words; a tick shows every engine, grouped."""
    with gr.Column(scale=scale, min_width=240):
        # any offered engine is a valid value (the API may name one the short list leaves out); the tab checks it
        engine = gr.Dropdown(engine_entries(state, tab, full=False), value=state.default_engine(tab), label=label,
                             allow_custom_value=True)
        every = gr.Checkbox(False, label="Show every engine, grouped (baselines last)", container=False)

    def listed(full: bool, current: Any) -> Any:
        return gr.update(choices=engine_entries(state, tab, bool(full), keep=current))

    every.input(listed, [every, engine], engine, queue=False, show_progress="hidden", api_visibility="private")
    return engine


def ranking_sliders(state: AppState) -> tuple[gr.Slider, gr.Slider]:
    """The "How many (k)" and "Minimum ratings per title" controls, placed where the caller is building."""
    return k_slider(), min_ratings_slider(state)


def engine_row(state: AppState, tab: str, label: str) -> tuple[gr.Dropdown, gr.Slider, gr.Slider]:
    """One row of the tab's engine dropdown, the k slider and the minimum-ratings slider."""
    with gr.Row():
        engine = engine_picker(state, tab, label, scale=3)
        k, min_ratings = ranking_sliders(state)
    return engine, k, min_ratings
