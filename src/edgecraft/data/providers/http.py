"""A JSON-over-HTTP client for provider APIs: keys from the environment, retries on rate limits.

Rate limits (HTTP 429, or 418 as Binance sends) wait the server's ``Retry-After`` when given, else
back off exponentially; server errors (5xx) and timeouts back off too. Any other refusal raises a
`ProviderError` naming the URL, the status and what the server said (a 401/403 also names the
environment variable the key is read from).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from edgecraft.core.errors import ConfigError, EdgecraftError

log = logging.getLogger(__name__)


class ProviderError(EdgecraftError):
    """A provider refused a request or answered something that is not its documented format."""


def api_key(variable: str, required: bool = True) -> str | None:
    """The API key in environment variable `variable`; a clear error when it is required."""
    value = os.environ.get(variable, "").strip()
    if not value and required:
        raise ConfigError(f"no API key: set the environment variable {variable}")
    return value or None


@dataclass(frozen=True)
class Backoff:
    attempts: int = 6
    first_s: float = 1.0
    max_s: float = 60.0

    def wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_s)
            except ValueError:
                pass  # an HTTP date: fall back to the exponential wait
        return min(self.first_s * 2**attempt, self.max_s)


class JsonClient:
    """GET JSON from `base_url`; `headers`/`params` carry the key the way the provider wants."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        key_variable: str | None = None,
        backoff: Backoff = Backoff(),
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.params = dict(params or {})
        self.key_variable = key_variable
        self.backoff = backoff
        self.sleep = sleep
        self._http = httpx.Client(headers=headers or {}, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def get(self, path_or_url: str, params: dict[str, Any] | None = None) -> Any:
        """GET a path under `base_url` (or a full URL, as next-page links are) and decode JSON."""
        url = path_or_url if "://" in path_or_url else f"{self.base_url}/{path_or_url.lstrip('/')}"
        query = {**self.params, **(params or {})} if "://" not in path_or_url else params
        for attempt in range(self.backoff.attempts):
            last = attempt == self.backoff.attempts - 1
            try:
                response = self._http.get(url, params=query)
            except httpx.TransportError as exc:  # timeouts, refused connections
                if last:
                    raise ProviderError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
                self._wait(attempt, None, type(exc).__name__)
                continue
            status = response.status_code
            if status in (418, 429) or status >= 500:
                if last:
                    raise ProviderError(f"GET {url}: HTTP {status} after {attempt + 1} tries")
                self._wait(attempt, response.headers.get("Retry-After"), f"HTTP {status}")
                continue
            if status >= 400:
                hint = ""
                if status in (401, 403) and self.key_variable:
                    hint = f" (check the key in {self.key_variable})"
                raise ProviderError(f"GET {url}: HTTP {status}{hint}: {response.text[:300]}")
            try:
                return response.json()
            except ValueError as exc:
                raise ProviderError(f"GET {url}: not JSON: {response.text[:200]!r}") from exc
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: str | None, why: str) -> None:
        wait = self.backoff.wait(attempt, retry_after)
        log.warning("retry=%d wait_s=%.1f reason=%s", attempt + 1, wait, why)
        self.sleep(wait)


def expect(condition: bool, url: str, what: str) -> None:
    """Raise `ProviderError` when a response breaks the provider's documented format."""
    if not condition:
        raise ProviderError(f"{url}: unexpected response: {what}")
