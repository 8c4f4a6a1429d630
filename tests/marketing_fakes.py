"""Real HTTP servers on 127.0.0.1 that behave like the marketing APIs, for the adapter tests.

Each fake checks what the documented API checks (method, path, auth, body shape) and answers
like it. Anything the real API would refuse is answered with a 4xx and recorded in `problems`,
so a test can assert that the adapter never sent a malformed request. `fail_next` answers the
next N requests with 503 and `hang_next` sleeps through the next N (to provoke client timeouts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


Reply = tuple[int, Any]  # status, JSON-able body (None: empty)


class Refused(Exception):
    """Raised by an app for a request the real API would refuse."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FakeServer:
    def __init__(self, app: Callable[[Request], Reply]) -> None:
        self.app = app
        self.requests: list[Request] = []
        self.problems: list[str] = []
        self.fail_next = 0
        self.hang_next = 0
        self.hang_seconds = 1.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, unquote(parts.path), parse_qs(parts.query),
                              {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length) if length else b"")
                with server._lock:
                    server.requests.append(req)
                    hang = server.hang_next > 0
                    server.hang_next -= int(hang)
                    fail = not hang and server.fail_next > 0
                    server.fail_next -= int(fail)
                if hang:
                    time.sleep(server.hang_seconds)
                    status, body = 200, {"late": True}
                elif fail:
                    status, body = 503, {"message": "temporarily unavailable"}
                else:
                    try:
                        status, body = server.app(req)
                    except Refused as exc:
                        server.problems.append(f"{req.method} {req.path}: {exc}")
                        status, body = exc.status, {"message": str(exc)}
                payload = b"" if body is None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def served(self) -> list[Request]:
        """Requests that reached the app (not the injected 503s or hangs)."""
        return [r for r in self.requests]


def _json_body(req: Request) -> dict[str, Any]:
    if not req.headers.get("content-type", "").startswith("application/json"):
        raise Refused(415, "expected a JSON body")
    try:
        body = req.json()
    except ValueError:
        raise Refused(400, "body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "body must be an object")
    return body


# -- webhook ------------------------------------------------------------------------------------


@dataclass
class WebhookApp:
    key: bytes
    events: list[dict[str, Any]] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)

    def __call__(self, req: Request) -> Reply:
        if req.method != "POST" or req.path != "/hooks/suppression":
            raise Refused(404, "no such route")
        stamp = req.headers.get("x-inboxbot-timestamp", "")
        given = req.headers.get("x-inboxbot-signature", "")
        want = "sha256=" + hmac.new(self.key, stamp.encode() + b"." + req.body, hashlib.sha256).hexdigest()
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            raise Refused(401, "stale or missing timestamp")
        if not hmac.compare_digest(given, want):
            raise Refused(401, "bad signature")
        body = _json_body(req)
        if body.get("id") != req.headers.get("x-inboxbot-event"):
            raise Refused(400, "event header and body id differ")
        if body["id"] not in self.seen_ids:  # a receiver drops duplicates by event id
            self.seen_ids.add(body["id"])
            self.events.append(body)
        return 204, None


# -- listmonk -----------------------------------------------------------------------------------


_EMAIL_QUERY = re.compile(r"^subscribers\.email = '((?:[^']|'')*)'$")


@dataclass
class ListmonkApp:
    user: str
    token: str
    subscribers: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, email: str, status: str = "enabled", lists: tuple[int, ...] = ()) -> int:
        sid = len(self.subscribers) + 1
        self.subscribers[sid] = {"id": sid, "email": email, "name": email.split("@")[0], "attribs": {},
                                 "status": status,
                                 "lists": [{"id": i, "subscription_status": "confirmed"} for i in lists]}
        return sid

    def by_email(self, email: str) -> dict[str, Any] | None:
        return next((s for s in self.subscribers.values() if s["email"] == email), None)

    def __call__(self, req: Request) -> Reply:
        auth = req.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        if auth != expected:
            raise Refused(403, "invalid API credentials")
        path = req.path
        if req.method == "GET" and path == "/api/subscribers":
            match = _EMAIL_QUERY.match((req.query.get("query") or [""])[0])
            if not match:
                raise Refused(400, "unsupported query")
            email = match.group(1).replace("''", "'")
            found = [s for s in self.subscribers.values() if s["email"] == email]
            return 200, {"data": {"results": found, "total": len(found), "page": 1,
                                  "per_page": int((req.query.get("per_page") or ["20"])[0])}}
        if req.method == "POST" and path == "/api/subscribers":
            body = _json_body(req)
            if not body.get("email") or not body.get("name") or body.get("status") not in ("enabled", "blocklisted"):
                raise Refused(400, "email, name and status are required")
            if self.by_email(body["email"]):
                return 409, {"message": "E-mail already exists."}
            sid = self.add(body["email"], body["status"], tuple(body.get("lists") or ()))
            return 200, {"data": self.subscribers[sid]}
        m = re.fullmatch(r"/api/subscribers/(\d+)/blocklist", path)
        if req.method == "PUT" and m:
            sub = self.subscribers.get(int(m.group(1)))
            if sub is None:
                raise Refused(404, "subscriber not found")
            sub["status"] = "blocklisted"
            for membership in sub["lists"]:
                membership["subscription_status"] = "unsubscribed"
            return 200, {"data": True}
        if req.method == "PUT" and path == "/api/subscribers/lists":
            body = _json_body(req)
            if body.get("action") not in ("add", "remove", "unsubscribe") or not body.get("ids") \
                    or not body.get("target_list_ids"):
                raise Refused(400, "ids, action and target_list_ids are required")
            for sid in body["ids"]:
                for membership in self.subscribers[sid]["lists"]:
                    if membership["id"] in body["target_list_ids"] and body["action"] == "unsubscribe":
                        membership["subscription_status"] = "unsubscribed"
            return 200, {"data": True}
        m = re.fullmatch(r"/api/subscribers/(\d+)", path)
        if req.method == "PATCH" and m:
            sub = self.subscribers.get(int(m.group(1)))
            if sub is None:
                raise Refused(404, "subscriber not found")
            body = _json_body(req)
            if body.get("status") not in (None, "enabled", "disabled", "blocklisted"):
                raise Refused(400, "bad status")
            sub.update({k: v for k, v in body.items() if k in ("status", "name")})
            return 200, {"data": sub}
        raise Refused(404, "no such route")


# -- Pardot (Account Engagement v5) -------------------------------------------------------------


@dataclass
class PardotApp:
    business_unit: str
    client_id: str = ""
    client_secret: str = ""
    static_token: str = ""
    issued: list[str] = field(default_factory=list)
    prospects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def expire_tokens(self) -> None:
        self.issued.clear()

    def __call__(self, req: Request) -> Reply:
        if req.method == "POST" and req.path == "/services/oauth2/token":
            if req.headers.get("content-type", "") != "application/x-www-form-urlencoded":
                raise Refused(400, "token request must be form-encoded")
            form = parse_qs(req.body.decode())
            if form.get("grant_type") != ["client_credentials"] or form.get("client_id") != [self.client_id] \
                    or form.get("client_secret") != [self.client_secret]:
                raise Refused(400, "invalid_client")
            token = f"tok-{len(self.issued) + 1}-{time.monotonic_ns()}"
            self.issued.append(token)
            return 200, {"access_token": token, "token_type": "Bearer"}
        if req.path != "/api/v5/objects/prospects/do/upsertLatestByEmail" or req.method != "POST":
            raise Refused(404, "no such route")
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in (self.issued + ([self.static_token] if self.static_token else [])):
            return 401, {"code": 184, "message": "access_token is invalid, unknown, or malformed"}
        if req.headers.get("pardot-business-unit-id") != self.business_unit:
            raise Refused(400, "missing or wrong Pardot-Business-Unit-Id")
        body = _json_body(req)
        prospect = body.get("prospect")
        if not isinstance(body.get("matchEmail"), str) or not isinstance(prospect, dict) \
                or not isinstance(body.get("fields"), list):
            raise Refused(400, "matchEmail, prospect and fields are required")
        record = self.prospects.setdefault(body["matchEmail"], {"id": len(self.prospects) + 1,
                                                                "email": body["matchEmail"],
                                                                "optedOut": False})
        record.update({k: v for k, v in prospect.items() if k in ("email", "optedOut")})
        return 200, {k: record[k] for k in body["fields"] if k in record}


# -- Brevo v3 -----------------------------------------------------------------------------------


@dataclass
class BrevoApp:
    api_key: str
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    list_members: dict[int, set[str]] = field(default_factory=dict)

    def __call__(self, req: Request) -> Reply:
        if req.headers.get("api-key") != self.api_key:
            return 401, {"code": "unauthorized", "message": "Key not found"}
        if req.method == "POST" and req.path == "/v3/contacts":
            body = _json_body(req)
            email = body.get("email")
            if not isinstance(email, str):
                raise Refused(400, "email is required")
            if email in self.contacts:
                if not body.get("updateEnabled"):
                    return 400, {"code": "duplicate_parameter", "message": "Contact already exist"}
                self.contacts[email]["emailBlacklisted"] = bool(body.get("emailBlacklisted"))
                return 204, None
            self.contacts[email] = {"id": len(self.contacts) + 1, "email": email,
                                    "emailBlacklisted": bool(body.get("emailBlacklisted"))}
            return 201, {"id": self.contacts[email]["id"]}
        m = re.fullmatch(r"/v3/contacts/lists/(\d+)/contacts/remove", req.path)
        if req.method == "POST" and m:
            emails = _json_body(req).get("emails")
            if not isinstance(emails, list):
                raise Refused(400, "emails must be a list")
            members = self.list_members.setdefault(int(m.group(1)), set())
            present = [e for e in emails if e in members]
            if not present:
                return 400, {"code": "invalid_parameter",
                             "message": "Contact already removed from list and/or does not exist"}
            members.difference_update(present)
            return 201, {"contacts": {"success": present, "failure": []}}
        m = re.fullmatch(r"/v3/contacts/([^/]+)", req.path)
        if req.method == "PUT" and m:
            body = _json_body(req)
            contact = self.contacts.get(m.group(1))
            if contact is None:
                return 404, {"code": "document_not_found", "message": "Contact does not exist"}
            contact["emailBlacklisted"] = bool(body.get("emailBlacklisted"))
            return 204, None
        raise Refused(404, "no such route")
