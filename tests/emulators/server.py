"""A small threaded HTTP server for platform emulators on loopback.

Emulators subclass ``Emulator`` and register routes with ``@route``. Each
handler gets a ``Request`` and returns a ``Response``. The server records
every request it received (for assertions), and can be told to misbehave:
answer the next requests with an error, answer slowly, or drop the
connection, which is how tests exercise the adapters' error paths.

Only loopback addresses are ever bound.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[Any, "Request"], "Response"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)  # from the route pattern
    url: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8")).items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        self.headers.setdefault("Content-Type", "application/json; charset=UTF-8")
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass
class Fault:
    """Misbehaviour for the next ``count`` matching requests."""

    count: int
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    path: str | None = None  # only requests whose path matches this regex


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register an emulator method for ``method`` and a path regex (named groups → params).

    ``method`` may name several methods separated by commas (``"GET,POST"``)
    when one handler serves them all.
    """

    def register(func: Handler) -> Handler:
        methods = tuple(m.strip().upper() for m in method.split(","))
        func._route = (methods, re.compile(f"^{pattern}$"))  # type: ignore[attr-defined]
        return func

    return register


class Emulator:
    """Base of the platform emulators: start, stop, record, inject faults."""

    routes: ClassVar[list[tuple[tuple[str, ...], re.Pattern[str], str]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.routes = []
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                spec = getattr(member, "_route", None)
                if spec is not None:
                    cls.routes.append((spec[0], spec[1], name))

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        #: Called with (request, response) after the route acted and before the
        #: answer is written: a test can kill a worker whose post the platform
        #: has just accepted, before it hears so. ``response`` is None before
        #: the route runs.
        self.hooks: list[Callable[[Request, Response | None], None]] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> Emulator:
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without it every small answer waits ~40 ms for delayed ACKs.
            disable_nagle_algorithm = True

            def handle(self) -> None:
                # The client may have given up (a timeout test): nothing to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

            def _serve(self) -> None:
                emulator._dispatch(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        server = self._server
        # A short poll keeps stop() quick: tests start and stop many emulators.
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ---------------------------------------------------------------

    def fail_next(self, count: int = 1, **fault: Any) -> None:
        """Misbehave on the next ``count`` requests (see ``Fault``).

        A fault with a ``status`` still lets the route act before its answer
        is replaced: a platform can do the work and still answer 5xx, which
        is exactly the case that must not lead to a double post. Use
        ``drop=True`` for a request that never arrives.
        """
        with self.lock:
            self.faults.append(Fault(count=count, **fault))

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.path is None or re.search(fault.path, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # -- dispatch -------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            url=handler.path,
        )
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(split.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                handler.close_connection = True
                handler.connection.close()
                return
        for hook in list(self.hooks):
            hook(request, None)
        response = self._route(request)
        for hook in list(self.hooks):
            hook(request, response)
        if fault is not None and fault.status is not None:
            response = Response(fault.status, fault.body, dict(fault.headers))
        payload = response.encode()
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def _route(self, request: Request) -> Response:
        allowed = False
        for methods, pattern, name in self.routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            allowed = True
            if request.method not in methods:
                continue
            bound = Request(**{**request.__dict__, "params": match.groupdict()})
            try:
                return getattr(self, name)(bound)  # type: ignore[no-any-return]
            except Exception as exc:  # an emulator bug shows as a 500, like a real server
                return Response(500, {"error": f"emulator error: {exc!r}"})
        if allowed:
            return Response(405, {"error": "method not allowed"})
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"error": f"no route for {request.method} {request.path}"})
