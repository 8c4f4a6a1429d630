"""OAuth 2.0 access tokens for IMAP and SMTP logins (Microsoft 365, Google Workspace).

    tokens = OAuthTokens(settings.oauth, label="mailbox privacy")
    token = await tokens.token()          # cached; a new one when less than refresh_margin is left
    response = sasl_response("xoauth2", user, token)   # what AUTHENTICATE/AUTH send
    ...if the server refuses a token: tokens.rejected(token) says whether one more try is worth it

Two grants, both a form-encoded POST to `token_url` with the client's id (and secret) in the body
(RFC 6749 §2.3.1): `client_credentials` (§4.4) for an application granted mailbox access, and
`refresh_token` (§6) for a delegated login. A server may answer a refresh with a new refresh
token (Microsoft does, RFC 6749 §6 allows it): it replaces ours and is kept in `settings.store`
(mode 0600) so that it survives a restart; the stored one is used only while the configured one
is unchanged, so an operator who pastes a new refresh token into the config is obeyed.

A failed refresh raises TokenError (a TransientError) and logs at ERROR, naming the login and the
endpoint's error code (`invalid_grant`, ...), never a secret or a token. Callers retry with
backoff; the worker also records the error on the mailbox cursor for health checks and the digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from inboxbot.config import MailboxSettings, OAuthSettings
from inboxbot.errors import TransientError

log = logging.getLogger(__name__)

DEFAULT_LIFETIME = 3600.0  # seconds, when the endpoint leaves expires_in out (RFC 6749 §5.1)
# Errors that mean the configuration is wrong (RFC 6749 §5.2): a retry in seconds will not help.
CONFIG_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client",
                           "unsupported_grant_type", "invalid_scope", "invalid_request"})


class TokenError(TransientError):
    """The token endpoint refused or could not be reached. `code` is its error code
    (RFC 6749 §5.2) or one of ours: `unreachable`, `invalid_response`, `http_<status>`."""

    def __init__(self, message: str, code: str, status: int | None, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.code = code
        self.status = status


class TokenSource(Protocol):
    """Hands out access tokens for one login."""

    async def token(self) -> str: ...

    def rejected(self, token: str) -> bool: ...


class OAuthTokens:
    """The access token of one login, cached and refreshed before it expires.

    Safe to share between the tasks of one event loop (a mailbox's folders): one refresh at a time.
    """

    def __init__(self, settings: OAuthSettings, label: str, *,
                 clock: Callable[[], float] = time.monotonic,
                 http_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.label = label
        self.failures = 0  # refreshes failed in a row
        self._clock = clock
        self._http_transport = http_transport
        self._lock = asyncio.Lock()
        self._access: str | None = None
        self._renew_at = 0.0
        self._served = 0  # how often the current token was handed out
        configured = settings.refresh_token.value if settings.refresh_token else ""
        self._configured_hash = _sha256(configured)
        self._refresh = self._load_rotated() or configured

    async def token(self) -> str:
        """A valid access token: the cached one, or a new one when it is close to expiring."""
        async with self._lock:
            if self._access is None or self._clock() >= self._renew_at:
                self._access = await self._fetch()
                self._served = 0
            self._served += 1
            return self._access

    def rejected(self, token: str) -> bool:
        """The mail server refused `token`: forget it. True when a new token is worth one more
        login (the refused one came from the cache, so it may have been revoked early)."""
        if token != self._access:
            return True  # someone already replaced it
        cached = self._served > 1
        self._access = None
        return cached

    # -- the token endpoint ------------------------------------------------------------------

    async def _fetch(self) -> str:
        s = self.settings
        form = {"grant_type": s.flow, "client_id": s.client_id}
        if s.client_secret is not None:
            form["client_secret"] = s.client_secret.value
        if s.flow == "refresh_token":
            form["refresh_token"] = self._refresh
        if s.scope:
            form["scope"] = s.scope
        asked_at = self._clock()  # count the lifetime from before the request: errs early
        try:
            async with httpx.AsyncClient(timeout=s.timeout, transport=self._http_transport) as c:
                resp = await c.post(s.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise self._failed("unreachable", None, type(exc).__name__) from None
        try:
            body: Any = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._failed("invalid_response" if resp.status_code == 200 else f"http_{resp.status_code}",
                               resp.status_code, "the answer is not a JSON object")
        access = body.get("access_token")
        if resp.status_code != 200 or not isinstance(access, str) or not access:
            code = body.get("error") if isinstance(body.get("error"), str) else None
            raise self._failed(code or (f"http_{resp.status_code}" if resp.status_code != 200
                                        else "invalid_response"),
                               resp.status_code, str(body.get("error_description") or ""))
        kind = str(body.get("token_type", "Bearer"))
        if kind.lower() != "bearer":
            raise self._failed("invalid_response", resp.status_code, f"token_type {kind!r}, not Bearer")
        lifetime = _seconds(body.get("expires_in"))
        # Half the lifetime at most, so a provider's short tokens do not mean a request per use.
        self._renew_at = asked_at + lifetime - min(s.refresh_margin, lifetime / 2)
        rotated = body.get("refresh_token")
        if s.flow == "refresh_token" and isinstance(rotated, str) and rotated and rotated != self._refresh:
            self._refresh = rotated
            self._store_rotated()
        if self.failures:
            log.warning("%s: OAuth token endpoint works again after %d failed attempts",
                        self.label, self.failures)
        self.failures = 0
        log.info("%s: new OAuth access token, valid for %d s", self.label, lifetime)
        return access

    def _failed(self, code: str, status: int | None, detail: str) -> TokenError:
        self.failures += 1
        detail = self._scrub(detail)[:200]
        where = f"HTTP {status}" if status is not None else "no answer"
        message = (f"{self.label}: OAuth token refresh failed at {_safe_url(self.settings.token_url)}: "
                   f"{code} ({where}){': ' + detail if detail else ''}")
        retry = 300.0 if code in CONFIG_ERRORS else 30.0
        log.error("%s; attempt %d, will retry (no mail is fetched or sent with this login until then)",
                  message, self.failures)
        return TokenError(message, code, status, retry)

    def _scrub(self, text: str) -> str:
        """An endpoint's error text, with anything of ours that it echoes masked."""
        s = self.settings
        for secret in (s.client_secret.value if s.client_secret else "", self._refresh, self._access or ""):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return " ".join(text.split())

    # -- the rotated refresh token -----------------------------------------------------------

    def _load_rotated(self) -> str:
        path = self.settings.store
        if self.settings.flow != "refresh_token" or path is None or not path.exists():
            return ""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("%s: ignoring unreadable %s: %s", self.label, path, type(exc).__name__)
            return ""
        if not isinstance(data, dict) or data.get("configured_sha256") != self._configured_hash:
            return ""  # the configured token changed since: the operator's new one wins
        token = data.get("refresh_token")
        return token if isinstance(token, str) else ""

    def _store_rotated(self) -> None:
        path = self.settings.store
        if path is None:
            return
        data = json.dumps({"configured_sha256": self._configured_hash, "refresh_token": self._refresh})
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a file that was there
            os.replace(tmp, path)
        except OSError as exc:
            # In memory it still works until a restart; say so loudly, as that restart will fail.
            log.error("%s: cannot keep the rotated refresh token in %s: %s", self.label, path, exc.strerror)


class TokenSources:
    """One OAuthTokens per mailbox, kept across reconnects (the worker owns one of these)."""

    def __init__(self) -> None:
        self._by_name: dict[str, OAuthTokens] = {}

    def for_mailbox(self, mailbox: MailboxSettings) -> OAuthTokens | None:
        if mailbox.auth == "password" or mailbox.oauth is None:
            return None
        tokens = self._by_name.get(mailbox.name)
        if tokens is None or tokens.settings != mailbox.oauth:
            tokens = self._by_name[mailbox.name] = OAuthTokens(mailbox.oauth, f"mailbox {mailbox.name}")
        return tokens


# -- SASL ------------------------------------------------------------------------------------


def xoauth2_response(user: str, token: str) -> bytes:
    """The XOAUTH2 initial response, before base64 (Google's and Microsoft's mail docs)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer_response(user: str, token: str, host: str = "", port: int = 0) -> bytes:
    """The OAUTHBEARER initial response of RFC 7628 §3.1, before base64."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")  # RFC 5801 saslname
    pairs = ([f"host={host}"] if host else []) + ([f"port={port}"] if port else [])
    pairs.append(f"auth=Bearer {token}")
    return (f"n,a={authzid}," + "".join(f"\x01{p}" for p in pairs) + "\x01\x01").encode()


def sasl_response(mechanism: str, user: str, token: str, host: str = "", port: int = 0) -> bytes:
    """The initial response for `xoauth2` or `oauthbearer` (settings' `auth` values)."""
    if mechanism == "xoauth2":
        return xoauth2_response(user, token)
    if mechanism == "oauthbearer":
        return oauthbearer_response(user, token, host, port)
    raise ValueError(f"not an OAuth SASL mechanism: {mechanism!r}")


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
    return seconds if seconds > 0 else DEFAULT_LIFETIME


def _safe_url(url: str) -> str:
    """The URL without user info or query, which might carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
