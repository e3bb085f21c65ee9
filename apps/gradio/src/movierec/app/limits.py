"""What the server accepts from a visitor: input checks that run before Gradio's own, and text made safe to show.

Gradio checks a slider's range or a dropdown's choices itself, but reports a failure with a
traceback in the server log; a value sent through the API can be any JSON. `guard_inputs`
wraps every component's `preprocess` so that such a value, or a text longer than
`MAX_TEXT_CHARS`, becomes one `gr.Error` for the caller and one line in the log. The title
search (`state.search_labels`) gives up on texts longer than any title, and the middleware
bounds a request's body, so no input can keep the server busy.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

#: the longest text any input takes: user ids, engine names, titles (the longest MovieLens label
#: is under 200 characters); a longer one is refused before any search runs
MAX_TEXT_CHARS = 300
#: how much of a refused value a message quotes
_QUOTED = 60
# the marks that make markup inside a line of markdown (GitHub's flavour): links and images need
# '[', emphasis '*' or a word-edge '_' (an underscore inside a word, as in item_knn, is text)
_MARKDOWN = re.compile(r"([\\`*\[\]!~|#])|(?<![0-9A-Za-z])(_)|(_)(?![0-9A-Za-z])")
# bare links and addresses, which GitHub's flavour links by itself: 'http://', 'www.', 'a@b'
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<=www)(\.)|(@)")


def too_long(value: Any) -> bool:
    """True for a text, or a list holding a text, longer than MAX_TEXT_CHARS."""
    if isinstance(value, str):
        return len(value) > MAX_TEXT_CHARS
    if isinstance(value, (list, tuple)):
        return any(too_long(item) for item in value)
    return False


def quoted(value: Any) -> str:
    """A visitor's value for a message: repr, cut, HTML-escaped (the error toast renders HTML)."""
    text = repr(value)
    return html.escape(text if len(text) <= _QUOTED else text[:_QUOTED] + "...")


def guard_inputs(demo: gr.Blocks) -> gr.Blocks:
    """Wrap the `preprocess` of every component of `demo`: too-long texts and Gradio's own checks become one-line errors."""
    import gradio as gr

    for block in demo.blocks.values():
        if isinstance(block, gr.components.Component) and not getattr(block, "_movierec_guarded", False):
            block.preprocess = _guarded(block, block.preprocess)  # type: ignore[method-assign]
            block._movierec_guarded = True  # type: ignore[attr-defined]
    return demo


def _guarded(block: Any, preprocess: Callable[[Any], Any]) -> Callable[[Any], Any]:
    import gradio as gr

    name = getattr(block, "label", None) or type(block).__name__

    def checked(payload: Any) -> Any:
        if too_long(payload):
            log.info("refused input: %s longer than %d characters", name, MAX_TEXT_CHARS)
            raise gr.Error(f"{html.escape(str(name))} takes at most {MAX_TEXT_CHARS} characters", print_exception=False)
        try:
            return preprocess(payload)
        except gr.Error as error:
            if not error.print_exception:
                raise
            message = str(error.message if hasattr(error, "message") else error)
        except (ValueError, TypeError, KeyError) as error:  # Gradio's checks of a value's shape
            message = f"{name}: {quoted(payload)} is not a value it takes ({type(error).__name__})"
        message = message if len(message) <= 200 else message[:200] + "..."
        log.info("refused input: %s: %s", name, message)
        raise gr.Error(html.escape(message, quote=False), print_exception=False)

    return checked


def plain_markdown(text: str) -> str:
    """`text` shown as typed in a gr.Markdown: HTML escaped, then every markdown mark (links, images, emphasis) escaped."""
    escaped = html.escape(" ".join(text.splitlines()), quote=False)  # one line: no headings or lists
    escaped = _MARKDOWN.sub(lambda match: "\\" + match.group(0), escaped)
    return _AUTOLINK.sub(lambda match: "\\" + match.group(0), escaped)
