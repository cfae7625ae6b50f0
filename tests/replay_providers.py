"""Local HTTP servers answering like a provider's JSON API, with scripted faults.

`ReplayServer.answer(path, query, headers) -> (status, body)` is what a subclass serves; `faults`
holds (path prefix, "429" | "500" | "timeout:<s>") played once each, in order; every request is
kept in `requests` (path, query) and its headers in `headers`. `ProviderReplay` serves a table of
routes: path -> `handler(query, headers) -> (status, body)`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[dict[str, str], dict[str, str]], tuple[int, object]]


class ReplayServer:
    retry_after = "2"  # seconds, sent with a scripted 429
    rate_limited: object = {"error": "rate limited"}

    def __init__(self) -> None:
        self.faults: list[tuple[str, str]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.headers: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]):
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                replay.requests.append((parts.path, query))
                replay.headers.append(headers)
                for i, (prefix, fault) in enumerate(replay.faults):
                    if parts.path.startswith(prefix):
                        del replay.faults[i]
                        if fault == "429":
                            retry = {"Retry-After": replay.retry_after}
                            return self._send(429, replay.rate_limited, retry)
                        if fault == "500":
                            return self._send(500, {"error": "internal"})
                        time.sleep(float(fault.split(":")[1]))
                        break
                self._send(*replay.answer(parts.path, query, headers))

            def _send(self, status: int, body: object, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        return Handler


class ProviderReplay(ReplayServer):
    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        super().__init__()

    def answer(self, path: str, query: dict[str, str], headers: dict[str, str]):
        route = self.routes.get(path)
        if route is None:
            return 404, {"error": f"no route {path}"}
        return route(query, headers)
