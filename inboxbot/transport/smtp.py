"""SMTP delivery with aiosmtplib: the only module that imports it.

Certificates are verified unless `verify_tls = false`; a password is never sent in clear to a
host off loopback unless `allow_plain_login = true` (refused with ConfigError when the transport
is made). Error messages carry the server's reply, addresses redacted, never our credentials.
"""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage

import aiosmtplib

from inboxbot.config import TransportSettings, plain_login_refused
from inboxbot.errors import ConfigError, PermanentError, TransientError
from inboxbot.logs import redact_text

log = logging.getLogger(__name__)


def _tls_context(settings: TransportSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SmtpTransport:
    """One connection per send: acknowledgements are few, and a fresh connection never goes stale."""

    def __init__(self, settings: TransportSettings) -> None:
        if plain_login_refused(settings.security, settings.host, settings.password is not None,
                               settings.allow_plain_login):
            raise ConfigError(
                f"transport.security: 'plain' would send the SMTP password unencrypted to "
                f"{settings.host}; use 'tls' or 'starttls', or set allow_plain_login = true"
            )
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
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
        if s.username and s.password is not None:
            kwargs.update(username=s.username, password=s.password.value)
        try:
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

    async def close(self) -> None:
        return None
