"""What the app adds in front of Gradio's server: no file uploads, and gzip where Gradio compresses nothing.

The app has no file input, yet Gradio serves `POST /gradio_api/upload` (and later the uploaded
files) on every app: on a public Space anyone could fill the disk or host files there. The route
is refused with 403 before Gradio sees the request, and `launch(max_file_size=...)` bounds it too.

Gradio compresses only paths that end in a text extension (.js, .css, .json ...), so the page
itself, its `/config` and the API's JSON answers go out uncompressed; those get gzip here.
Server-sent events (the queue's stream) are never compressed: Starlette leaves
`text/event-stream` alone, so progress still arrives as it happens.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

#: the limit handed to launch(max_file_size=...), should the upload route be reached another way
MAX_FILE_SIZE = "1kb"
# the extensions Gradio's own Brotli middleware compresses (gradio/brotli_middleware.py)
_GRADIO_COMPRESSES = (".html", ".htm", ".js", ".css", ".json", ".md", ".txt", ".csv", ".tsv", ".xml", ".svg")
UPLOAD_REFUSED = "this app takes no file uploads"


class AppMiddleware:
    """Refuse uploads; gzip the responses Gradio leaves uncompressed (at least `minimum_size` bytes)."""

    def __init__(self, app: ASGIApp, minimum_size: int = 1000) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one ASGI call: refused, compressed here, or passed on untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.rstrip("/").endswith("/upload"):
            await PlainTextResponse(UPLOAD_REFUSED, status_code=403)(scope, receive, send)
            return
        last = path.rsplit("/", 1)[-1]
        if "." in last and last.lower().endswith(_GRADIO_COMPRESSES):
            await self.app(scope, receive, send)  # Gradio compresses these itself
            return
        await self.gzip(scope, receive, send)
