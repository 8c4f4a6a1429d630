"""SMTP delivery with aiosmtplib: the only module that imports it."""

from __future__ import annotations

import logging
import ssl
from email.message import EmailMessage

import aiosmtplib

from inboxbot.config import TransportSettings
from inboxbot.errors import PermanentError, TransientError
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
