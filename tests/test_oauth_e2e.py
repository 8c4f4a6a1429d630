"""OAuth 2.0 logins end to end: Dovecot checks every XOAUTH2/OAUTHBEARER token with a POST to the
rig's introspection endpoint (rig.OAuthServer), which also issues the tokens, short-lived where a
test needs them to expire; the SMTP server checks tokens against the same endpoint."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import logging
import os
import stat
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import (
    MailboxSettings,
    OAuthSettings,
    Organisation,
    Secret,
    Settings,
    TransportSettings,
)
from inboxbot.errors import PermanentError
from inboxbot.oauth import OAuthTokens, sasl_response
from inboxbot.pipeline import Processor
from inboxbot.source.imap import ImapFolder
from inboxbot.store import close_store, open_store
from inboxbot.store.models import MailboxCursor
from inboxbot.transport.smtp import SmtpTransport
from inboxbot.worker import Worker
from rig import Dovecot, OAuthServer, RecordingSMTP, RigUnavailable, make_message

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]

SAMPLE = Path(__file__).resolve().parent.parent / "inboxbot" / "sample_mailbox" / "new"
ACKED = ("1700000004.M4P1.sample:2,", "1700000005.M5P1.sample:2,")  # both get an acknowledgement


@pytest.fixture(scope="module")
def auth() -> Iterator[OAuthServer]:
    server = OAuthServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_auth(auth: OAuthServer) -> None:
    auth.recover()
    auth.requests.clear()
    auth.lifetime, auth.rotate = 3600.0, False


@pytest.fixture(scope="module")
def oauth_dovecot(auth: OAuthServer) -> Iterator[Dovecot]:
    try:
        server = Dovecot(oauth2_introspection_url=auth.introspection_url)
    except RigUnavailable as exc:
        if os.environ.get("INBOXBOT_REQUIRE_RIG") == "1":
            raise
        pytest.skip(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Path]:
    await open_store(f"sqlite://{tmp_path / 'inboxbot.sqlite3'}")
    yield tmp_path
    await close_store()


def new_login(dovecot: Dovecot, auth: OAuthServer) -> tuple[str, str, str]:
    """A fresh mailbox user and an OAuth client allowed to it: (user, client_id, secret)."""
    tag = uuid.uuid4().hex[:8]
    user = dovecot.add_user(f"oauth-{tag}@example.com", f"unused-pw-{tag}").name
    auth.add_client(f"client-{tag}", f"client-secret-{tag}", user)
    return user, f"client-{tag}", f"client-secret-{tag}"


def client_credentials(auth: OAuthServer, client_id: str, secret: str, **kw: Any) -> OAuthSettings:
    return OAuthSettings(flow="client_credentials", token_url=auth.token_url, client_id=client_id,
                         client_secret=Secret(secret), scope="mail", refresh_margin=1.0, timeout=5.0, **kw)


def oauth_mailbox(dovecot: Dovecot, user: str, mechanism: str, oauth: OAuthSettings) -> MailboxSettings:
    return dovecot.mailbox_settings(user, "tls", password=None, auth=mechanism, oauth=oauth,
                                    idle_timeout=5.0)


def logins(dovecot: Dovecot, user: str, mechanism: str) -> int:
    return dovecot.log_file.read_text().count(f"Login: user=<{user}>, method={mechanism.upper()}")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def sasl_forms(mechanism: str, user: str, tokens: list[str], host: str = "", port: int = 0) -> list[str]:
    """The base64 SASL responses carrying these tokens, as a protocol log would show them."""
    return [base64.b64encode(sasl_response(mechanism, user, t, host, port)).decode() for t in tokens]


def assert_no_secrets(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    assert all(secrets), "an empty secret matches everything"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in secrets:
            assert secret not in text, f"{record.name} logged a secret: {text[:200]}"


# -- IMAP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
async def test_imap_login_with_token(oauth_dovecot: Dovecot, auth: OAuthServer, mechanism: str) -> None:
    user, client_id, secret = new_login(oauth_dovecot, auth)
    uid = oauth_dovecot.append(user, make_message("Radera mina uppgifter"))
    settings = oauth_mailbox(oauth_dovecot, user, mechanism, client_credentials(auth, client_id, secret))
    async with ImapFolder(settings, "INBOX") as folder:
        batch = await folder.fetch_after(0)
    assert [m.uid for m in batch] == [uid]
    assert logins(oauth_dovecot, user, mechanism) == 1
    assert auth.requests == [("client_credentials", client_id)]


async def test_token_for_someone_else_is_refused_without_a_retry(
    oauth_dovecot: Dovecot, auth: OAuthServer
) -> None:
    _, client_id, secret = new_login(oauth_dovecot, auth)
    other, _, _ = new_login(oauth_dovecot, auth)
    settings = oauth_mailbox(oauth_dovecot, other, "xoauth2", client_credentials(auth, client_id, secret))
    with pytest.raises(PermanentError, match="login refused"):
        await ImapFolder(settings, "INBOX").open()
    assert len(auth.requests) == 1  # a token fresh from the endpoint: asking again would not help


async def test_revoked_cached_token_is_replaced_once(oauth_dovecot: Dovecot, auth: OAuthServer) -> None:
    user, client_id, secret = new_login(oauth_dovecot, auth)
    settings = oauth_mailbox(oauth_dovecot, user, "oauthbearer", client_credentials(auth, client_id, secret))
    tokens = OAuthTokens(settings.oauth, "mailbox test")  # type: ignore[arg-type]
    async with ImapFolder(settings, "INBOX", tokens=tokens):
        pass
    async with ImapFolder(settings, "INBOX", tokens=tokens):
        pass
    assert len(auth.requests) == 1  # the second login reused the cached token
    auth.revoke_access_tokens()
    async with ImapFolder(settings, "INBOX", tokens=tokens) as folder:
        assert folder.is_open
    assert len(auth.requests) == 2
    assert logins(oauth_dovecot, user, "oauthbearer") == 3


# -- SMTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
async def test_smtp_login_with_token(auth: OAuthServer, mechanism: str) -> None:
    auth.add_client("smtp-client", "smtp-secret", "privacy@example.com")
    with RecordingSMTP(token_check=auth.check) as smtp:
        settings = TransportSettings(host=smtp.host, port=smtp.port, security="plain",
                                     username="privacy@example.com", auth=mechanism,  # type: ignore[arg-type]
                                     oauth=client_credentials(auth, "smtp-client", "smtp-secret"))
        transport = SmtpTransport(settings)
        raw = make_message("Hej", sender="privacy@example.com", to="anna@example.org")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        await transport.send(msg)
        await transport.send(msg)
        assert len(auth.requests) == 1  # cached between sends
        auth.revoke_access_tokens()
        await transport.send(msg)
        await smtp.wait_for(3)
    assert smtp.logins == [(mechanism.upper(), "privacy@example.com")] * 3
    assert smtp.refused_logins == 1 and len(auth.requests) == 2


# -- the worker ------------------------------------------------------------------------------


def worker_settings(mailbox: MailboxSettings, transport: TransportSettings, state: Path) -> Settings:
    return Settings(
        organisation=Organisation(name="Example AB", domain="example.com",
                                  reply_from="privacy@example.com", dpo_email="dpo@example.com"),
        mailboxes=(mailbox,), transport=transport, state_dir=state, outbox_interval=0.2,
    )


def start_worker(settings: Settings) -> tuple[Worker, asyncio.Task[Any]]:
    transport = SmtpTransport(settings.transport)
    worker = Worker(settings, Processor(settings, make_classifier(settings)), transport)
    return worker, asyncio.create_task(worker.run())


async def test_worker_renews_tokens_before_they_expire(
    dovecot_factory: Callable[..., Dovecot], auth: OAuthServer, store: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    auth.lifetime, auth.rotate = 3.0, True
    dovecot = dovecot_factory(oauth2_introspection_url=auth.introspection_url)
    user, client_id, secret = new_login(dovecot, auth)
    auth.add_client("sender", "sender-secret", "privacy@example.com")
    refresh = auth.add_refresh_token("sender", "privacy@example.com")
    token_file = store / "oauth" / "transport.json"
    with RecordingSMTP(token_check=auth.check) as smtp:
        mailbox = oauth_mailbox(dovecot, user, "xoauth2", client_credentials(auth, client_id, secret))
        transport = TransportSettings(
            host=smtp.host, port=smtp.port, security="plain", username="privacy@example.com",
            auth="oauthbearer", oauth=OAuthSettings(
                flow="refresh_token", token_url=auth.token_url, client_id="sender",
                client_secret=Secret("sender-secret"), refresh_token=Secret(refresh),
                refresh_margin=1.0, store=token_file))
        worker, task = start_worker(worker_settings(mailbox, transport, store))
        try:
            await asyncio.to_thread(dovecot.append, user, (SAMPLE / ACKED[0]).read_bytes())
            await smtp.wait_for(1, timeout=10)
            first_tokens = len(auth.requests)
            await asyncio.sleep(auth.lifetime + 0.5)  # every token issued so far has expired
            # Dovecot lets a session outlive its token; end the sessions so the worker logs in again.
            await asyncio.to_thread(dovecot.restart)
            await asyncio.to_thread(dovecot.append, user, (SAMPLE / ACKED[1]).read_bytes())
            await smtp.wait_for(2, timeout=15)
        finally:
            worker.stop.set()
            await asyncio.wait_for(task, 10)
    grants = [grant for grant, _ in auth.requests]
    assert grants.count("client_credentials") >= 2 and grants.count("refresh_token") >= 2
    assert len(auth.requests) > first_tokens
    assert logins(dovecot, user, "xoauth2") >= 2
    # Renewed before expiry: no server ever saw an expired token.
    assert "oauth2 failed" not in dovecot.log_file.read_text()
    assert smtp.refused_logins == 0 and len(smtp.logins) == 2
    # The refresh token rotated at every use; the latest is kept, readable by us alone.
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    kept = json.loads(token_file.read_text())["refresh_token"]
    assert kept != refresh and auth._refresh.get(kept) is not None
    issued = auth.access_tokens()
    assert_no_secrets(caplog, [secret, "sender-secret", refresh, kept, *issued,
                               *sasl_forms("xoauth2", user, issued),
                               *sasl_forms("oauthbearer", "privacy@example.com", issued, smtp.host, smtp.port)])


async def test_failing_token_endpoint_alerts_and_the_worker_recovers(
    oauth_dovecot: Dovecot, auth: OAuthServer, store: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    user, client_id, secret = new_login(oauth_dovecot, auth)
    oauth_dovecot.append(user, (SAMPLE / ACKED[0]).read_bytes())
    auth.fail(400, "invalid_grant")
    with RecordingSMTP() as smtp:
        mailbox = oauth_mailbox(oauth_dovecot, user, "xoauth2", client_credentials(auth, client_id, secret))
        transport = TransportSettings(host=smtp.host, port=smtp.port, security="plain")
        worker, task = start_worker(worker_settings(replace(mailbox, name="privacy"), transport, store))
        try:
            async def alerted() -> bool:
                cursor = await MailboxCursor.get_or_none(account="privacy", folder="INBOX")
                return cursor is not None and "invalid_grant" in cursor.last_error and len(auth.requests) >= 2

            await eventually(alerted, 10, "the error on the cursor and a second attempt")
            errors = [r.getMessage() for r in caplog.records
                      if r.levelno >= logging.ERROR and r.name == "inboxbot.oauth"]
            assert errors and all("mailbox privacy" in e and "invalid_grant" in e for e in errors)
            assert not smtp.messages and not task.done()  # still running, nothing processed yet

            auth.recover()
            await smtp.wait_for(1, timeout=15)

            async def cleared() -> bool:
                cursor = await MailboxCursor.get(account="privacy", folder="INBOX")
                return cursor.last_error == "" and cursor.last_success_at is not None

            await eventually(cleared, 10, "the error to clear")
        finally:
            worker.stop.set()
            await asyncio.wait_for(task, 10)
    assert any("works again" in r.getMessage() for r in caplog.records if r.name == "inboxbot.oauth")
    issued = auth.access_tokens()
    assert_no_secrets(caplog, [secret, *issued, *sasl_forms("xoauth2", user, issued)])
