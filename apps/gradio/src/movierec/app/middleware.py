"""What the app adds in front of Gradio's server: no file uploads, bounded requests, and gzip where Gradio compresses nothing.

The app has no file input, yet Gradio serves `POST /gradio_api/upload` (and later the uploaded
files) on every app: on a public Space anyone could fill the disk or host files there. The route
is refused with 403 before Gradio sees the request, and `launch(max_file_size=...)` bounds it too.
So are the other routes the app's widgets never use: `/process_recording` (audio and video
inputs; it takes multipart files) and `/component_server` (server functions of components such
as the file explorer; a malformed body there is a 500 with a traceback).

A request body is at most `MAX_BODY_BYTES` (the largest the page sends, ten rated titles, is a
few kB): a larger one is answered 413 before Gradio parses it, so no input costs the server
more than reading that much (`limits` bounds each text further). A call of an event that does
not exist, or with fewer values than the event takes, is answered 404 or 422 here: Gradio
would answer it with a traceback in the log.

Gradio compresses only paths that end in a text extension (.js, .css, .json ...), so the page
itself, its `/config` and the API's JSON answers go out uncompressed; those get gzip here.
Server-sent events (the queue's stream) are never compressed: Starlette leaves
`text/event-stream` alone, so progress still arrives as it happens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the limit handed to launch(max_file_size=...), should the upload route be reached another way
MAX_FILE_SIZE = "1kb"
#: the largest request body passed on to Gradio
MAX_BODY_BYTES = 64 * 1024
#: routes of Gradio's that this app's widgets never call, refused as uploads are
UNUSED_ROUTES = ("/process_recording", "/component_server")
UNUSED_REFUSED = "this app has no recording or component-server inputs"
BODY_REFUSED = f"request body over {MAX_BODY_BYTES:,} bytes"
# the extensions Gradio's own Brotli middleware compresses (gradio/brotli_middleware.py)
_GRADIO_COMPRESSES = (".html", ".htm", ".js", ".css", ".json", ".md", ".txt", ".csv", ".tsv", ".xml", ".svg")
UPLOAD_REFUSED = "this app takes no file uploads"


class AppMiddleware:
    """Refuse uploads; gzip the responses Gradio leaves uncompressed (at least `minimum_size` bytes)."""

    def __init__(self, app: ASGIApp, minimum_size: int = 1000, inputs: Mapping[int, int] | None = None,
                 api_inputs: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)
        #: values each event takes, by fn_index and by API name (see `event_inputs`); None: not checked
        self.inputs = inputs
        self.api_inputs = api_inputs or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one ASGI call: refused, compressed here, or passed on untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.rstrip("/").endswith("/upload"):
            await PlainTextResponse(UPLOAD_REFUSED, status_code=403)(scope, receive, send)
            return
        if path.rstrip("/").endswith(UNUSED_ROUTES):
            await PlainTextResponse(UNUSED_REFUSED, status_code=403)(scope, receive, send)
            return
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            bounded = await _bounded_body(scope, receive)
            if bounded is None:
                await PlainTextResponse(BODY_REFUSED, status_code=413)(scope, _no_body, send)
                return
            receive, body = bounded
            refusal = self._refused_call(path, body)
            if refusal is not None:
                await PlainTextResponse(refusal[1], status_code=refusal[0])(scope, _no_body, send)
                return
        last = path.rsplit("/", 1)[-1]
        if "." in last and last.lower().endswith(_GRADIO_COMPRESSES):
            await self.app(scope, receive, send)  # Gradio compresses these itself
            return
        await self.gzip(scope, receive, send)


    def _refused_call(self, path: str, body: bytes) -> tuple[int, str] | None:
        """(status, text) for an event call Gradio would answer with a traceback: unknown, or too few values."""
        if self.inputs is None:
            return None
        route = path.rstrip("/")
        if route.endswith(("/queue/join", "/run/predict")):
            key: int | str | None = None
            expected = None
        elif "/call/" in route:
            key = route.rsplit("/call/", 1)[1]
            expected = self.api_inputs.get(str(key))
        else:
            return None
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return None  # Gradio answers malformed JSON with a clear 422 itself
        if not isinstance(request, dict):
            return None
        if key is None:
            key = request.get("fn_index")
            if not isinstance(key, int) or isinstance(key, bool):
                return None  # Gradio's own 422 names a missing or mistyped fn_index
            expected = self.inputs.get(key)
            if expected is None:
                return 404, f"no event {key}"
        elif expected is None:
            return None  # Gradio's own 404 for an unknown API name
        data = request.get("data")
        if isinstance(data, list) and len(data) < expected:
            return 422, f"event {key} takes {expected} values, got {len(data)}"
        return None


def event_inputs(demo: object) -> tuple[dict[int, int], dict[str, int]]:
    """How many values each event of a gr.Blocks takes: by fn_index, and by API name."""
    by_index: dict[int, int] = {}
    by_name: dict[str, int] = {}
    for index, function in getattr(demo, "fns", {}).items():
        count = len(getattr(function, "inputs", []) or [])
        by_index[int(index)] = count
        name = getattr(function, "api_name", None)
        if isinstance(name, str):
            by_name[name] = count
    return by_index, by_name


async def _bounded_body(scope: Scope, receive: Receive) -> tuple[Receive, bytes] | None:
    """A `receive` that replays the request's body, read in full here, and the body; None past MAX_BODY_BYTES."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                if int(value) > MAX_BODY_BYTES:
                    return None  # said up front: nothing is read
            except ValueError:
                return None
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # the client went away; the app sees that as it would have
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            break

    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay, body


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
