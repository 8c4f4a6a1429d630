"""SMTP delivery with aiosmtplib: the only module that imports it.

Certificates are verified unless `verify_tls = false`; a password is never sent in clear to a
host off loopback unless `allow_plain_login = true` (refused with ConfigError when the transport
is made). Error messages carry the server's reply, addresses redacted, never our credentials.

With `auth = "xoauth2"` or `"oauthbearer"` the login is SASL with an OAuth access token
(inboxbot/oauth.py), cached across sends; a token the server refuses is dropped, and a cached one
is replaced and tried once more on the same connection.

One connection serves a burst of sends (a backlog's acknowledgements): connecting, greeting, EHLO,
STARTTLS and login once instead of per message. Sends on it are one at a time, each a whole SMTP
transaction, so the outbox's guarantee (an item is marked sent only after its final 250, at most
one in flight) is unchanged. A connection idle for more than REUSE_IDLE seconds is first asked
NOOP, one left idle longer than KEEP_IDLE is closed and opened anew, and none carries more than
MAX_PER_CONNECTION messages (some servers limit a session); any error drops it. With OAuth
(`auth = "xoauth2"`/`"oauthbearer"`) each message still gets its own connection and login.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import HeaderParser

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender

from inboxbot.config import TransportSettings, plain_login_refused
from inboxbot.errors import ConfigError, PermanentError, TransientError
from inboxbot.logs import redact_text
from inboxbot.oauth import OAuthTokens, TokenSource, sasl_response
from inboxbot.transport import parse_stored

log = logging.getLogger(__name__)

REUSE_IDLE = 1.0  # seconds idle after which a kept connection is checked with NOOP before use
KEEP_IDLE = 30.0  # seconds idle after which it is not worth checking: connect anew
MAX_PER_CONNECTION = 100  # messages per connection, below the session limits servers set


def _tls_context(settings: TransportSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SmtpTransport:
    """Sends over one kept connection, opened anew when it has gone idle, failed or is used up."""

    def __init__(self, settings: TransportSettings, tokens: TokenSource | None = None) -> None:
        if plain_login_refused(settings.security, settings.host, settings.password is not None,
                               settings.allow_plain_login):
            raise ConfigError(
                f"transport.security: 'plain' would send the SMTP password unencrypted to "
                f"{settings.host}; use 'tls' or 'starttls', or set allow_plain_login = true"
            )
        self.settings = settings
        if tokens is None and settings.auth != "password" and settings.oauth is not None:
            tokens = OAuthTokens(settings.oauth, "transport (SMTP)")
        self.tokens = tokens
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._sent_on_connection = 0
        self._lock = asyncio.Lock()  # one SMTP transaction at a time on the connection

    def _connection(self) -> dict[str, object]:
        s = self.settings
        kwargs: dict[str, object] = {
            "hostname": s.host,
            "port": s.port,
            "timeout": s.timeout,
        }
        if s.security == "tls":
            kwargs.update(use_tls=True, tls_context=_tls_context(s))
        elif s.security == "starttls":
            kwargs.update(start_tls=True, tls_context=_tls_context(s))
        else:
            kwargs.update(start_tls=False, use_tls=False)
        return kwargs

    async def send(self, message: EmailMessage) -> None:
        await self._on_connection(lambda client: client.send_message(message))

    async def send_stored(self, payload: str) -> None:
        """Send a message stored by the outbox (`EmailMessage.as_string()`), skipping the
        parse and re-flatten that send() costs (most of a send's CPU): the wire bytes and the
        envelope are the ones send_message would make for it, when the payload is ASCII (our
        messages are: non-ASCII text goes out encoded). Anything else takes send()'s path."""
        wire = wire_form(payload)
        headers = HeaderParser(policy=email_policy.compat32).parsestr(payload, headersonly=True)
        sender, recipients = extract_sender(headers), extract_recipients(headers)
        if wire is None or sender is None or not recipients:
            await self.send(parse_stored(payload))
            return

        async def transaction(client: aiosmtplib.SMTP) -> None:
            # As send_message does: BODY=8BITMIME whenever the server offers it.
            options = ["BODY=8BITMIME"] if client.supports_extension("8BITMIME") else []
            await client.sendmail(sender, recipients, wire, mail_options=options)

        await self._on_connection(transaction)

    async def _on_connection(self, transaction: Callable[[aiosmtplib.SMTP], Awaitable[object]]) -> None:
        """Run one SMTP transaction on the kept (or a new) connection, ours alone meanwhile. Any
        failure drops the connection: it is never reused in an unknown state."""
        async with self._lock:
            try:
                await transaction(await self._ready_client())
            except BaseException as exc:
                self._drop()
                if isinstance(exc, (aiosmtplib.SMTPException, OSError, TimeoutError)):
                    raise _translated(exc) from None
                raise
            await self._sent()

    async def _sent(self) -> None:
        self._last_used = time.monotonic()
        self._sent_on_connection += 1
        if self.tokens is not None:
            # An OAuth login is per connection and the token behind it expires or may be
            # revoked: log in afresh for each message, so a refused token is noticed and
            # replaced at once (as before), never carried on by an old session.
            await self.close()

    async def _ready_client(self) -> aiosmtplib.SMTP:
        """The kept connection if it is fit for another message, else a new one."""
        client = self._client
        idle = time.monotonic() - self._last_used
        if (client is not None and client.is_connected and idle < KEEP_IDLE
                and self._sent_on_connection < MAX_PER_CONNECTION):
            if idle < REUSE_IDLE:
                return client
            try:
                await client.noop()
                return client
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass  # gone while idle (nothing was sent on it): connect anew
        self._drop()
        self._client = await self._connect()
        self._sent_on_connection = 0
        return self._client

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        kwargs = self._connection()
        # The token before connecting: a dead token endpoint costs no session.
        token = await self.tokens.token() if self.tokens is not None else None
        if token is None and s.username and s.password is not None:
            kwargs.update(username=s.username, password=s.password.value)
        client = aiosmtplib.SMTP(**kwargs)  # type: ignore[arg-type]
        await client.connect()  # TLS or STARTTLS, EHLO, and the password login if configured
        if self.tokens is not None and token is not None:
            try:
                await self._login_with_token(client, self.tokens, token)
            except BaseException:
                client.close()
                raise
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _login_with_token(self, client: aiosmtplib.SMTP, tokens: TokenSource, token: str) -> None:
        try:
            await self._authenticate(client, token)
        except aiosmtplib.SMTPAuthenticationError:
            if not tokens.rejected(token):
                raise
            log.info("SMTP server refused the cached OAuth token; trying a new one")
            await self._authenticate(client, await tokens.token())

    async def _authenticate(self, client: aiosmtplib.SMTP, token: str) -> None:
        s = self.settings
        mechanism = s.auth.upper()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        if s.auth not in client.server_auth_methods:
            offered = " ".join(client.server_auth_methods).upper() or "none"
            raise TransientError(f"SMTP server does not offer AUTH {mechanism} (offers: {offered})")
        first = base64.b64encode(sasl_response(s.auth, s.username, token, s.host, s.port))
        response = await client.execute_command(b"AUTH", mechanism.encode(), first)
        if response.code == 334:
            # The server's error report as a challenge (Google's XOAUTH2, RFC 7628 §3.2.3):
            # a dummy answer brings the final refusal.
            dummy = base64.b64encode(b"\x01") if s.auth == "oauthbearer" else b""
            response = await client.execute_command(dummy)
        if response.code != 235:
            raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)

    async def close(self) -> None:
        """QUIT the kept connection, if any (politely; a failure here changes nothing)."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


def wire_form(payload: str) -> bytes | None:
    """What aiosmtplib's send_message puts on the wire for a payload written by as_string()
    (policy.default, LF line ends), when it is pure ASCII: the same text with CRLF. Whether a
    stored header is refolded or a body re-encoded depends on non-ASCII content only, so for
    ASCII the two agree byte for byte (tests/test_transport_smtp.py checks it); else None."""
    if not payload.isascii() or "\r" in payload:
        return None
    return payload.replace("\n", "\r\n").encode("ascii")


def _translated(exc: BaseException) -> PermanentError | TransientError:
    """aiosmtplib's errors as ours: 5xx (except auth) for good, anything else for now."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentError(f"recipient refused: {codes}")
        return TransientError(f"recipient deferred: {codes}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = redact_text(exc.message)
        if 500 <= exc.code < 600 and exc.code not in (530, 535):
            return PermanentError(f"SMTP {exc.code}: {text}")
        return TransientError(f"SMTP {exc.code}: {text}")
    return TransientError(f"SMTP unavailable: {type(exc).__name__}: {redact_text(str(exc))}")


async def probe(settings: TransportSettings) -> str:
    """Connect, EHLO, STARTTLS and log in as configured, then QUIT; send nothing.

    For `inboxbot config check`. Returns what was done, e.g. "EHLO, STARTTLS, login"; raises
    TransientError or PermanentError (as send() does) saying which step failed."""
    s = settings
    client = aiosmtplib.SMTP(hostname=s.host, port=s.port, timeout=s.timeout,
                             use_tls=s.security == "tls", start_tls=False,
                             tls_context=_tls_context(s) if s.security != "plain" else None)
    done: list[str] = []
    step = "connect"
    try:
        await client.connect()
        done.append("TLS" if s.security == "tls" else "connected")
        step = "EHLO"
        await client.ehlo()
        done.append("EHLO")
        if s.security == "starttls":
            step = "STARTTLS"
            await client.starttls(tls_context=_tls_context(s))
            await client.ehlo()
            done.append("STARTTLS")
        if s.username and s.password is not None:
            step = "login"
            await client.login(s.username, s.password.value)
            done.append(f"login as {s.username}")
        await client.quit()
    except aiosmtplib.SMTPResponseException as exc:
        raise PermanentError(f"{step} refused: SMTP {exc.code} {redact_text(exc.message)}") from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TransientError(f"{step} failed: {type(exc).__name__}: {redact_text(str(exc))}") from None
    finally:
        client.close()
    return ", ".join(done)
