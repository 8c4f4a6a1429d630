"""The HTTP plumbing every API adapter shares: one client, one mapping from status to error.

- 2xx, or a status the caller lists as fine (an "already done" answer): returned.
- 408, 425, 429, 5xx, timeouts, refused connections: TransientError, retried with backoff;
  a Retry-After header (seconds) is honoured.
- 401, 403: TransientError with a long delay. A wrong or expired key is ours to fix, and once it
  is fixed the waiting suppressions must flow; marking them failed would drop them.
- Any other 4xx: PermanentError. The request itself is refused; sending it again cannot help.

Error texts carry the status and a short, address-redacted excerpt of the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from inboxbot.errors import PermanentError, TransientError
from inboxbot.logs import redact_text

AUTH_RETRY_AFTER = 3600.0  # seconds: a credentials problem waits for a person
_TRANSIENT_4XX = frozenset({408, 425, 429})


def client(timeout: float, *, headers: Mapping[str, str] | None = None,
           auth: tuple[str, str] | None = None) -> httpx.AsyncClient:
    """A short-lived client: one connection pool per push is plenty for a suppression's volume."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), headers=dict(headers or {}),
                             auth=auth, follow_redirects=False)


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return max(1.0, float(value))
    except ValueError:
        return default  # absent, or an HTTP date: the backoff decides


def check(response: httpx.Response, what: str, *, ok: frozenset[int] = frozenset(),
          accept: Callable[[httpx.Response], bool] | None = None) -> httpx.Response:
    """Return `response` if it succeeded (2xx, a status in `ok`, or one `accept` takes as done,
    such as an API's "already so" answer); otherwise raise the matching error."""
    status = response.status_code
    if 200 <= status < 300 or status in ok or (accept is not None and accept(response)):
        return response
    excerpt = redact_text(response.text[:200].strip())
    message = f"{what}: HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if status >= 500 or status in _TRANSIENT_4XX:
        raise TransientError(message, retry_after=_retry_after(response, 30.0))
    if status in (401, 403):
        raise TransientError(message + " (check the credentials)", retry_after=AUTH_RETRY_AFTER)
    raise PermanentError(message)


async def send(http: httpx.AsyncClient, method: str, url: str, what: str, *,
               ok: frozenset[int] = frozenset(), accept: Callable[[httpx.Response], bool] | None = None,
               **kwargs: Any) -> httpx.Response:
    """One request; network failures become TransientError, statuses are mapped by `check`."""
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc
    return check(response, what, ok=ok, accept=accept)


def json_body(response: httpx.Response, what: str) -> Any:
    """The decoded JSON answer; a 2xx that is not JSON is the server's fault, so retry."""
    try:
        return response.json()
    except ValueError as exc:
        raise TransientError(f"{what}: answer is not JSON") from exc
