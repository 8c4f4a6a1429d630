"""A small OAuth 2.0 authorization server on loopback: a token endpoint and an introspection
endpoint, for Dovecot's oauth2 passdb and the SMTP test server to check tokens against.

    auth = OAuthServer(lifetime=3.0)
    auth.start()
    auth.add_client("inboxbot", "client-secret", user="privacy@example.com")
    refresh = auth.add_refresh_token("inboxbot", user="privacy@example.com")
    Dovecot(oauth2_introspection_url=auth.introspection_url)

- POST /token (form, RFC 6749): `client_credentials` (§4.4) and `refresh_token` (§6), the client
  authenticated by client_id/client_secret in the body or by HTTP Basic. Access tokens live
  `lifetime` seconds. With `rotate=True` every refresh answers with a new refresh token and the
  old one stops working, as strict providers do.
- POST /introspect (form `token=`, RFC 7662): `{"active": true, "username": ..., "exp": ...}` while
  the token lives, `{"active": false}` after.
- `revoke_access_tokens()` ends every access token early; `fail(status, error)` makes the token endpoint refuse until `recover()`; `requests` records
  every token request as (grant_type, client_id).

The server keeps its tokens in memory only and logs nothing: it is test infrastructure.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from rig._common import free_port


@dataclass(frozen=True)
class Issued:
    user: str
    expires: float  # time.time()


class OAuthServer:
    host = "127.0.0.1"

    def __init__(self, *, lifetime: float = 3600.0, rotate: bool = False, port: int | None = None) -> None:
        self.lifetime = lifetime
        self.rotate = rotate
        self.port = port if port is not None else free_port()
        self.requests: list[tuple[str, str]] = []  # (grant_type, client_id) per token request
        self.introspections = 0
        self._clients: dict[str, tuple[str, str]] = {}  # client_id -> (secret, user)
        self._refresh: dict[str, tuple[str, str]] = {}  # refresh token -> (client_id, user)
        self._access: dict[str, Issued] = {}
        self._failure: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def token_url(self) -> str:
        return f"http://{self.host}:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://{self.host}:{self.port}/introspect"

    # -- accounts ---------------------------------------------------------------------------

    def add_client(self, client_id: str, secret: str, user: str) -> None:
        """A confidential client whose client_credentials tokens stand for `user`."""
        with self._lock:
            self._clients[client_id] = (secret, user)

    def add_refresh_token(self, client_id: str, user: str) -> str:
        """A refresh token for `user`, as an authorization-code grant would have left behind."""
        token = "rt-" + secrets.token_urlsafe(16)
        with self._lock:
            self._refresh[token] = (client_id, user)
        return token

    def fail(self, status: int = 503, error: str = "temporarily_unavailable") -> None:
        """Refuse every token request with this status and error code until recover()."""
        with self._lock:
            self._failure = (status, error)

    def recover(self) -> None:
        with self._lock:
            self._failure = None

    def revoke_access_tokens(self) -> None:
        """End every access token now, as an administrator revoking sessions would."""
        with self._lock:
            self._access = {t: Issued(i.user, 0.0) for t, i in self._access.items()}

    def check(self, token: str, user: str | None = None) -> bool:
        """Whether `token` is a live access token (for `user`, if given)."""
        with self._lock:
            issued = self._access.get(token)
        if issued is None or issued.expires <= time.time():
            return False
        return user is None or issued.user == user

    def access_tokens(self) -> list[str]:
        """Every access token issued so far (for tests that look for leaks)."""
        with self._lock:
            return list(self._access)

    # -- the endpoints ----------------------------------------------------------------------

    def _token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        client_id, secret = basic if basic else (form.get("client_id", ""), form.get("client_secret"))
        grant = form.get("grant_type", "")
        with self._lock:
            self.requests.append((grant, client_id))
            if self._failure is not None:
                status, error = self._failure
                return status, {"error": error, "error_description": "the rig was told to fail"}
            client = self._clients.get(client_id)
            if grant == "client_credentials":
                if client is None or secret != client[0]:
                    return 401, {"error": "invalid_client"}
                user = client[1]
                refresh = None
            elif grant == "refresh_token":
                held = self._refresh.get(form.get("refresh_token", ""))
                if held is None or held[0] != client_id:
                    return 400, {"error": "invalid_grant", "error_description": "unknown refresh token"}
                if client is not None and secret != client[0]:
                    return 401, {"error": "invalid_client"}
                user = held[1]
                refresh = None
                if self.rotate:
                    del self._refresh[form["refresh_token"]]
                    refresh = "rt-" + secrets.token_urlsafe(16)
                    self._refresh[refresh] = (client_id, user)
            else:
                return 400, {"error": "unsupported_grant_type"}
            access = "at-" + secrets.token_urlsafe(24)
            self._access[access] = Issued(user, time.time() + self.lifetime)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                "expires_in": self.lifetime}
        if refresh is not None:
            body["refresh_token"] = refresh
        return 200, body

    def _introspect(self, form: dict[str, str]) -> dict[str, Any]:
        token = form.get("token", "")
        with self._lock:
            self.introspections += 1
            issued = self._access.get(token)
        if issued is None or issued.expires <= time.time():
            return {"active": False}
        return {"active": True, "username": issued.user, "exp": int(issued.expires)}

    # -- running ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            return
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                if self.path.startswith("/token"):
                    status, body = owner._token(form, _basic(self.headers.get("Authorization")))
                elif self.path.startswith("/introspect"):
                    status, body = 200, owner._introspect(form)
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests look at their own logs

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="rig-oauth", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def cleanup(self) -> None:
        self.stop()

    def __enter__(self) -> OAuthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return unquote(user), unquote(password)
