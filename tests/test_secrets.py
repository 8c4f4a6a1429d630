"""Secrets stay secret; TLS is verified by default; no password crosses the network in clear.

The failed-login tests run with every logger at DEBUG (library protocol logs included) and scan
everything a person could see afterwards: log records, formatted tracebacks, error messages.
"""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from inboxbot.config import (
    Secret,
    Settings,
    TransportSettings,
    load_settings,
    settings_from_dict,
)
from inboxbot.errors import ConfigError, InboxbotError, PermanentError, TransientError
from inboxbot.logs import configure
from inboxbot.source.imap import ImapFolder
from inboxbot.transport.smtp import SmtpTransport
from rig import Dovecot, MailUser
from rig._common import free_port

PASSWORD = "s3cret-Hunter2-correct-horse"


def leaks(text: str, secret: str = PASSWORD) -> bool:
    """The secret, or what SMTP AUTH and IMAP would put on the wire for it."""
    forms = {secret, base64.b64encode(secret.encode()).decode()}
    for user in ("someone@example.com", "smtp-user"):
        forms.add(base64.b64encode(f"\0{user}\0{secret}".encode()).decode())
    return any(f in text for f in forms)


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG on the root and on the chatty libraries that the CLI would quieten."""
    names = ["", "imapclient", "aiosmtplib", "inboxbot", "asyncio"]
    old = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, level in old.items():
        logging.getLogger(name).setLevel(level)


def everything_seen(caplog: pytest.LogCaptureFixture, exc: BaseException) -> str:
    parts = [caplog.text, str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


def test_secret_never_prints_itself(tmp_path: Path) -> None:
    secret = Secret(PASSWORD)
    assert PASSWORD not in repr(secret) and PASSWORD not in str(secret) and PASSWORD not in f"{secret}"
    config = tmp_path / "inboxbot.toml"
    config.write_text(
        '[[mailbox]]\nname = "privacy"\nusername = "privacy@example.com"\npassword_env = "IMAP_PW"\n'
        '[transport]\nhost = "smtp.example.com"\nusername = "u"\npassword_env = "SMTP_PW"\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={"IMAP_PW": PASSWORD, "SMTP_PW": PASSWORD})
    assert settings.mailboxes[0].password is not None
    assert settings.mailboxes[0].password.value == PASSWORD
    assert not leaks(repr(settings)) and not leaks(str(settings))


def test_a_secret_written_into_the_config_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict({"transport": {"password": PASSWORD}})
    assert not leaks(str(info.value))


async def test_failed_imap_login_leaks_no_password(
    dovecot: Dovecot, mailbox_user: MailUser, everything_at_debug: pytest.LogCaptureFixture
) -> None:
    settings = dovecot.mailbox_settings(mailbox_user.name, password=Secret(PASSWORD))
    with pytest.raises(PermanentError) as info:
        await ImapFolder(settings, "INBOX", timeout=10).open()
    assert "login refused" in str(info.value)
    assert not leaks(everything_seen(everything_at_debug, info.value))


class _RefuseAll:
    """aiosmtpd authenticator that says no to everyone (and remembers it was asked)."""

    def __init__(self) -> None:
        self.asked: list[bytes] = []

    def __call__(self, server: object, session: object, envelope: object, mechanism: str,
                 auth_data: object) -> AuthResult:
        self.asked.append(getattr(auth_data, "password", b""))
        return AuthResult(success=False, handled=False)


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_failed_smtp_auth_leaks_no_password(everything_at_debug: pytest.LogCaptureFixture) -> None:
    auth = _RefuseAll()
    port = free_port()
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port, authenticator=auth,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        transport = SmtpTransport(TransportSettings(host="127.0.0.1", port=port, security="plain",
                                                    username="smtp-user", password=Secret(PASSWORD)))
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "privacy@example.com", "anna@example.org", "x"
        msg.set_content("x")
        with pytest.raises(TransientError) as info:
            await transport.send(msg)
    finally:
        controller.stop()
    assert auth.asked and set(auth.asked) == {PASSWORD.encode()}  # really tried, and refused
    assert "535" in str(info.value)
    # The server's own protocol log (aiosmtpd's "mail.log") is the other side's business.
    ours = [r for r in everything_at_debug.records if not r.name.startswith("mail.log")]
    everything_at_debug.records[:] = ours
    assert not leaks(everything_seen(everything_at_debug, info.value))


def test_cli_logging_redacts_and_quietens(capsys: pytest.CaptureFixture[str]) -> None:
    """With the CLI's logging at DEBUG, the protocol loggers stay above DEBUG and addresses in
    any record are redacted."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("DEBUG")
        logging.getLogger("imapclient").debug("> b'A001 LOGIN u %s'", PASSWORD)
        logging.getLogger("inboxbot.test").info("refused for anna.svensson@example.se")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err
    assert not leaks(err)
    assert "a***@example.se" in err and "anna.svensson@" not in err


# -- TLS ------------------------------------------------------------------------------------------

async def test_imap_tls_certificate_is_verified_by_default(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    """The rig's certificate is self-signed: without its CA the connection must fail, clearly."""
    for security in ("tls", "starttls"):
        settings = dovecot.mailbox_settings(mailbox_user.name, security=security, ca_file=None)
        with pytest.raises(TransientError, match="TLS certificate not trusted"):
            await ImapFolder(settings, "INBOX", timeout=10).open()
        trusting = replace(settings, verify_tls=False)
        async with ImapFolder(trusting, "INBOX", timeout=10) as folder:
            assert folder.status.uidvalidity > 0
        async with ImapFolder(replace(settings, ca_file=dovecot.ca_file), "INBOX", timeout=10) as folder:
            assert folder.is_open


# -- plain-text login -----------------------------------------------------------------------------

async def test_imap_plain_login_off_loopback_is_refused_before_connecting(
    dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    settings = dovecot.mailbox_settings(mailbox_user.name, security="plain", host="192.0.2.10")
    with pytest.raises(ConfigError, match="allow_plain_login"):
        await ImapFolder(settings, "INBOX", timeout=1).open()
    # Allowed explicitly, it does try (and, 192.0.2.0/24 being unroutable, fails to connect).
    allowed = replace(settings, allow_plain_login=True)
    with pytest.raises(InboxbotError) as info:
        await ImapFolder(allowed, "INBOX", timeout=0.5).open()
    assert not isinstance(info.value, ConfigError)
    # On loopback plain is fine (the rig's own plain port).
    async with ImapFolder(dovecot.mailbox_settings(mailbox_user.name, security="plain"), "INBOX") as f:
        assert f.is_open


def test_smtp_plain_login_off_loopback_is_refused() -> None:
    plain = TransportSettings(host="smtp.example.com", port=25, security="plain",
                              username="u", password=Secret(PASSWORD))
    with pytest.raises(ConfigError, match="allow_plain_login") as info:
        SmtpTransport(plain)
    assert not leaks(str(info.value))
    SmtpTransport(replace(plain, allow_plain_login=True))
    SmtpTransport(replace(plain, host="127.0.0.1"))
    SmtpTransport(replace(plain, password=None))  # no login, nothing to protect
    SmtpTransport(replace(plain, security="starttls"))
    env = {"PW": PASSWORD}
    table = {"host": "smtp.example.com", "security": "plain", "username": "u", "password_env": "PW"}
    with pytest.raises(ConfigError, match="transport.security"):
        settings_from_dict({"transport": table}, environ=env)
    ok = settings_from_dict({"transport": {**table, "allow_plain_login": True}}, environ=env)
    assert isinstance(ok, Settings) and ok.transport.allow_plain_login
