"""`movierec serve` and `python apps/gradio/app.py`: one way to start the app, two doors."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


DEFAULT_PORT = 7860


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `serve` and app.py share."""
    parser.add_argument("--dataset", metavar="SPEC",
                        help="'sample', 'netflix:DIR' or 'movielens:DIR' (default: $MOVIEREC_DATASET or sample)")
    parser.add_argument("--metadata", metavar="CSV",
                        help="movies_metadata.csv (or a MovieLens movies_with_overview.csv) whose overviews to join "
                             "(default: $MOVIEREC_METADATA)")
    parser.add_argument("--host", help="address to bind (default: $GRADIO_SERVER_NAME; 0.0.0.0 on a Space, "
                                       "else 127.0.0.1)")
    parser.add_argument("--port", type=port_number, help=f"port 1-65535 (default: $PORT, $GRADIO_SERVER_PORT or {DEFAULT_PORT})")
    parser.add_argument("--cache-dir", type=Path,
                        help="where fitted engines are kept (default: $MOVIEREC_CACHE_DIR or ~/.cache/movierec/engines)")
    parser.add_argument("--no-warm", action="store_true",
                        help="train every engine on first use instead of the defaults at start")


def port_number(text: str) -> int:
    """Type of --port: a whole number from 1 to 65535."""
    try:
        number = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is out of range: expected 1 to 65535")
    return number


def register(subparsers: Any) -> None:
    """Add `movierec serve` (entry point of the `movierec.cli` group)."""
    parser = subparsers.add_parser("serve", help="serve the web demo (Gradio)",
                                   description="Serve the movierec web demo.")
    add_serve_arguments(parser)
    parser.set_defaults(handler=serve)


def resolve_host(host: str | None) -> str:
    """The bind address: the flag, $GRADIO_SERVER_NAME, 0.0.0.0 on a Space (or under $PORT), else loopback."""
    if host:
        return host
    if os.environ.get("GRADIO_SERVER_NAME"):
        return os.environ["GRADIO_SERVER_NAME"]
    return "0.0.0.0" if os.environ.get("SPACE_ID") or os.environ.get("PORT") else "127.0.0.1"


def resolve_port(port: int | None) -> int:
    """The port: the flag, $PORT, $GRADIO_SERVER_PORT, else 7860."""
    if port:
        return int(port)
    for name in ("PORT", "GRADIO_SERVER_PORT"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return port_number(value)
            except argparse.ArgumentTypeError as error:
                from movierec.core.errors import MovierecError

                raise MovierecError(f"${name}: {error}") from None
    return DEFAULT_PORT


def check_address(host: str, port: int) -> None:
    """Bind `host`:`port` once before any work, so a bad address or a busy port is one clear line.

    The probe sets SO_REUSEADDR as the server does: a port left in TIME_WAIT is free to it, a
    port some program listens on is not.
    """
    from movierec.core.errors import MovierecError

    if re.fullmatch(r"[0-9.]+", host):  # looks like IPv4: say what is wrong with it, without a DNS lookup
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise MovierecError(f"--host {host}: not an IPv4 address (four numbers 0-255, e.g. 127.0.0.1)") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        raise MovierecError(f"--host {host}: not an address of this machine ({getattr(error, 'strerror', None) or error})") from None
    family, kind, protocol, _, address = infos[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise MovierecError(f"port {port} on {host} is in use by another program; choose another with --port") from None
            if error.errno == errno.EACCES:
                raise MovierecError(f"port {port} on {host}: permission denied (ports below 1024 need privileges)") from None
            raise MovierecError(f"--host {host} --port {port}: cannot listen there ({error.strerror or error})") from None


def prepare(dataset: str | None = None, cache_dir: Path | None = None, warm: bool = True,
            metadata: str | None = None) -> Any:
    """Load the dataset, warm the default engines with progress on stderr, and build the page."""
    from movierec.app.layout import build_demo, configure_queue
    from movierec.app.state import AppState, dataset_spec_from_env

    started = time.perf_counter()
    spec = dataset or dataset_spec_from_env()
    _say(f"loading dataset {spec}")
    state = AppState.create(spec, cache_dir, metadata)
    if state.notice:
        _say(f"note: {state.notice}")
    _say(f"{state.name}: {len(state.dataset.ratings):,} ratings loaded; engines: {', '.join(state.offered)}")
    if warm:
        names = state.engines_to_warm()
        failures = state.warm(names, lambda fraction, text: _say(f"[{fraction:4.0%}] {text}"))
        for name in names:
            how, seconds = state.engines.timings.get(name, ("not available", 0.0))
            _say(f"{name} {how} in {seconds:.1f} s" if name not in failures else f"{name} not available: {failures[name]}")
        from movierec.app.tabs.benchmarks import draw_opening_view
        from movierec.app.tabs.explore import data_figures
        from movierec.core.errors import MovierecError

        began = time.perf_counter()
        data_figures(state)  # the Explore tab's charts, drawn once per dataset, so the tab opens at once
        try:  # and the Benchmarks tab's first view (kept per file version, metric and dataset)
            draw_opening_view(state)
        except MovierecError as error:
            _say(f"note: the stored benchmark results cannot be drawn: {error}")
        _say(f"data and benchmark charts drawn in {time.perf_counter() - began:.1f} s")
    demo = configure_queue(build_demo(state))
    _say(f"ready in {time.perf_counter() - started:.1f} s")
    return demo


def launch(demo: Any, host: str | None = None, port: int | None = None, block: bool = True) -> Any:
    """Start the server with the app's theme and CSS (Gradio 6 takes them in launch), uploads refused, gzip on."""
    import gradio as gr
    from starlette.middleware import Middleware

    from movierec.app.layout import CSS
    from movierec.app.middleware import MAX_FILE_SIZE, AppMiddleware, event_inputs

    inputs, api_inputs = event_inputs(demo)
    return demo.launch(
        server_name=resolve_host(host),
        server_port=resolve_port(port),
        theme=gr.themes.Soft(primary_hue="red"),
        css=CSS,
        prevent_thread_lock=not block,
        show_error=False,
        quiet=not block,
        max_file_size=MAX_FILE_SIZE,
        app_kwargs={"middleware": [Middleware(AppMiddleware, inputs=inputs, api_inputs=api_inputs)]},
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(dataset: str | None = "sample", cache_dir: Path | None = None, host: str = "127.0.0.1",
            warm: bool = True) -> Iterator[str]:
    """The app prepared and launched on a free port for the duration of a `with` block: its URL."""
    demo = prepare(dataset, cache_dir, warm=warm)
    port = free_port(host)
    launch(demo, host, port, block=False)
    try:
        yield f"http://{host}:{port}/"
    finally:
        demo.close()


def serve(args: argparse.Namespace) -> int:
    """Handler of `movierec serve` and of app.py."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if (Path.cwd() / "data_samples" / "combined_data_1.txt").exists():  # a regular install run from a checkout
        os.environ.setdefault("MOVIEREC_SAMPLE_DIR", str(Path.cwd() / "data_samples"))
    host, port = resolve_host(args.host), resolve_port(args.port)
    check_address(host, port)  # before the minutes of loading and training, not after
    demo = prepare(args.dataset, args.cache_dir, warm=not args.no_warm, metadata=args.metadata)
    try:
        launch(demo, host, port)
    except OSError as error:  # taken in the meantime: Gradio's "Cannot find empty port"
        from movierec.core.errors import MovierecError

        raise MovierecError(f"cannot listen on {host}:{port}: {error}") from None
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python apps/gradio/app.py [--dataset SPEC] [--host H] [--port P] [--accelerator A]`."""
    parser = argparse.ArgumentParser(prog="app.py", description="Serve the movierec web demo.")
    add_serve_arguments(parser)
    parser.add_argument("--accelerator", choices=("auto", "tpu", "gpu", "cpu"),
                        help="device for the deep-learning engines (default: $MOVIEREC_ACCELERATOR or auto)")
    args = parser.parse_args(argv)
    if args.accelerator:
        os.environ["MOVIEREC_ACCELERATOR"] = args.accelerator
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("movierec").setLevel(logging.INFO)
    from movierec.core.errors import MovierecError

    try:
        return serve(args)
    except MovierecError as error:
        print(f"app.py: error: {error}", file=sys.stderr)
        return 2


def _say(text: str) -> None:
    print(f"movierec: {text}", file=sys.stderr, flush=True)
