"""A local HTTP server answering like a provider's JSON API, with scripted faults.

Routes map a path to `handler(query, headers) -> (status, body)`; `faults` holds (path prefix,
"429" | "500" | "timeout:<s>") played once each, in order. Every request is kept in `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[dict[str, str], dict[str, str]], tuple[int, object]]


class ProviderReplay:
    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.faults: list[tuple[str, str]] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ProviderReplay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                replay.requests.append((parts.path, query, headers))
                for i, (prefix, fault) in enumerate(replay.faults):
                    if parts.path.startswith(prefix):
                        del replay.faults[i]
                        if fault == "429":
                            return self._send(429, {"error": "rate limited"}, {"Retry-After": "2"})
                        if fault == "500":
                            return self._send(500, {"error": "internal"})
                        time.sleep(float(fault.split(":")[1]))
                        break
                route = replay.routes.get(parts.path)
                if route is None:
                    return self._send(404, {"error": f"no route {parts.path}"})
                self._send(*route(query, headers))

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
                    pass

        return Handler
