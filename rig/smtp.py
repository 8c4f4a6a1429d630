"""An SMTP server that records what it receives: the other end of inboxbot's mailer in tests.

    smtp = RecordingSMTP()
    smtp.start()
    ... send to smtp.host:smtp.port ...
    [got] = await smtp.wait_for(1)
    assert got.rcpt_tos == ["someone@example.org"]

It runs aiosmtpd's Controller (its own event loop in a thread), so it works from sync and async
tests alike. `refuse()` makes it answer 4xx for a while; `stop()` then `start()` brings it back
on the same port, so a client sees it go down and come back.

`RecordingSMTP(token_check=auth.check)` demands SMTP AUTH with XOAUTH2 or OAUTHBEARER (no TLS
needed on loopback) and asks `token_check(token, user)` whether a token is good (rig.OAuthServer
has one); a refusal goes the way Gmail's does: an error challenge, then 535. `logins` records
(mechanism, user) for each accepted login.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from rig._common import free_port

Stage = Literal["mail", "rcpt", "data"]


@dataclass(frozen=True)
class Received:
    """One accepted envelope, as it came over the wire."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        """The parsed message (modern policy, so headers come back decoded)."""
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class _Recorder:
    """aiosmtpd handler: refuse while told to, otherwise keep the envelope."""

    def __init__(self, owner: RecordingSMTP) -> None:
        self.owner = owner

    def _refusal(self, stage: Stage) -> str | None:
        with self.owner._lock:
            if self.owner._refuse_count and self.owner._refuse_stage == stage:
                self.owner._refuse_count -= 1
                self.owner.refused += 1
                return self.owner._refuse_reply
        return None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._refusal("mail")
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._refusal("rcpt")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self._refusal("data")
        if refusal:
            return refusal
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        got = Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(raw))
        with self.owner._lock:
            self.owner.messages.append(got)
        return "250 OK: recorded"


class _OAuthRecorder(_Recorder):
    """The recorder plus the two OAuth SASL mechanisms (aiosmtpd finds `auth_*` on handlers)."""

    def __init__(self, owner: RecordingSMTP, check: Callable[[str, str], bool]) -> None:
        super().__init__(owner)
        self.check = check

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        raw = await self._initial(server, args)
        fields = dict(p.split("=", 1) for p in raw.split("\x01") if "=" in p) if raw else {}
        return await self._verdict(server, "XOAUTH2", fields.get("user", ""), fields.get("auth", ""))

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        raw = await self._initial(server, args)
        gs2, _, rest = raw.partition("\x01")
        user = gs2.split(",")[1][2:] if gs2.startswith("n,a=") else ""
        fields = dict(p.split("=", 1) for p in rest.split("\x01") if "=" in p)
        user = user.replace("=2C", ",").replace("=3D", "=")
        return await self._verdict(server, "OAUTHBEARER", user, fields.get("auth", ""))

    async def _initial(self, server: SMTP, args: list[str]) -> str:
        if len(args) > 1:
            return b64decode(args[1]).decode("utf-8", "replace")
        answer = await server.challenge_auth("")
        return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else ""

    async def _verdict(self, server: SMTP, mechanism: str, user: str, auth: str) -> AuthResult:
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if user and token and self.check(token, user):
            with self.owner._lock:
                self.owner.logins.append((mechanism, user))
            return AuthResult(success=True, auth_data=user)
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"})
        answer = await server.challenge_auth(error)  # the client's dummy answer ends the exchange
        with self.owner._lock:
            self.owner.refused_logins += 1
        # An aborted exchange ("*") was answered by challenge_auth already.
        return AuthResult(success=False, handled=not isinstance(answer, bytes))


class RecordingSMTP:
    """A recording SMTP server on 127.0.0.1 at a free port (fixed across stop/start)."""

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, *,
                 token_check: Callable[[str, str], bool] | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.token_check = token_check
        self.logins: list[tuple[str, str]] = []  # (mechanism, user), OAuth only
        self.refused_logins = 0
        self.messages: list[Received] = []
        self.refused = 0  # how many commands were answered with the refusal
        self._lock = threading.Lock()
        self._refuse_count = 0
        self._refuse_stage: Stage = "data"
        self._refuse_reply = ""
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        if self.token_check is None:
            controller = Controller(_Recorder(self), hostname=self.host, port=self.port)
        else:
            controller = Controller(
                _OAuthRecorder(self, self.token_check), hostname=self.host, port=self.port,
                auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"],
            )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Close the listening socket and every open session, as a server going down would."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> RecordingSMTP:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refuse(
        self,
        count: int = 1,
        reply: str = "451 4.3.0 Temporary failure, try again later",
        stage: Stage = "data",
    ) -> None:
        """Answer the next `count` MAIL/RCPT/DATA commands (per `stage`) with `reply`."""
        with self._lock:
            self._refuse_count = count
            self._refuse_stage = stage
            self._refuse_reply = reply

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    async def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """Wait (without blocking the event loop) until `count` messages arrived; return them."""
        deadline = time.monotonic() + timeout
        while (got := self._at_least(count, deadline, timeout)) is None:
            await asyncio.sleep(0.02)
        return got

    def wait_for_sync(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """The same for code with no event loop of its own (the server has its own thread)."""
        deadline = time.monotonic() + timeout
        while (got := self._at_least(count, deadline, timeout)) is None:
            time.sleep(0.02)
        return got

    def _at_least(self, count: int, deadline: float, timeout: float) -> list[Received] | None:
        with self._lock:
            if len(self.messages) >= count:
                return list(self.messages)
            have = len(self.messages)
        if time.monotonic() > deadline:
            raise TimeoutError(f"expected {count} messages, got {have} in {timeout} s")
        return None
