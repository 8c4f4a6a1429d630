"""SMTP delivery with aiosmtplib: the only module that imports it.

Certificates are verified unless `verify_tls = false`; a password is never sent in clear to a
host off loopback unless `allow_plain_login = true` (refused with ConfigError when the transport
is made). Error messages carry the server's reply, addresses redacted, never our credentials.

With `auth = "xoauth2"` or `"oauthbearer"` the login is SASL with an OAuth access token
(inboxbot/oauth.py), cached across sends; a token the server refuses is dropped, and a cached one
is replaced and tried once more on the same connection.
"""

from __future__ import annotations

import base64
import logging
import ssl
from email.message import EmailMessage

import aiosmtplib

from inboxbot.config import TransportSettings, plain_login_refused
from inboxbot.errors import ConfigError, PermanentError, TransientError
from inboxbot.logs import redact_text
from inboxbot.oauth import OAuthTokens, TokenSource, sasl_response

log = logging.getLogger(__name__)


def _tls_context(settings: TransportSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SmtpTransport:
    """One connection per send: acknowledgements are few, and a fresh connection never goes stale."""

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
        s = self.settings
        kwargs = self._connection()
        try:
            if self.tokens is not None:
                await self._send_with_token(message, kwargs, self.tokens)
                return
            if s.username and s.password is not None:
                kwargs.update(username=s.username, password=s.password.value)
            await aiosmtplib.send(message, **kwargs)  # type: ignore[arg-type]
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentError(f"recipient refused: {codes}") from None
            raise TransientError(f"recipient deferred: {codes}") from None
        except aiosmtplib.SMTPResponseException as exc:
            text = redact_text(exc.message)
            if 500 <= exc.code < 600 and exc.code not in (530, 535):
                raise PermanentError(f"SMTP {exc.code}: {text}") from None
            raise TransientError(f"SMTP {exc.code}: {text}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}: {redact_text(str(exc))}") from None

    async def _send_with_token(
        self, message: EmailMessage, kwargs: dict[str, object], tokens: TokenSource
    ) -> None:
        token = await tokens.token()  # before connecting: a dead token endpoint costs no session
        client = aiosmtplib.SMTP(**kwargs)  # type: ignore[arg-type]
        async with client:
            try:
                await self._authenticate(client, token)
            except aiosmtplib.SMTPAuthenticationError:
                if not tokens.rejected(token):
                    raise
                log.info("SMTP server refused the cached OAuth token; trying a new one")
                await self._authenticate(client, await tokens.token())
            await client.send_message(message)

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
        return None


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
