"""The rig itself: each server is real, reachable, and behaves as the other tests assume."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import aiosmtplib
import asyncpg
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from rig import Dovecot, MailUser, Postgres, RecordingSMTP, make_message

pytestmark = pytest.mark.integration


def _ctx(dovecot: Dovecot) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(dovecot.ca_file))


def test_login_plain(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=5) as client:
        client.login(mailbox_user.name, mailbox_user.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_login_starttls_verifies_certificate(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=5) as client:
        assert client.has_capability("STARTTLS")
        client.starttls(_ctx(dovecot))
        client.login(mailbox_user.name, mailbox_user.password)
        assert client.socket().version() in ("TLSv1.2", "TLSv1.3")


def test_login_tls_verifies_certificate(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    with IMAPClient(dovecot.host, dovecot.ssl_port, ssl=True, ssl_context=_ctx(dovecot)) as client:
        client.login(mailbox_user.name, mailbox_user.password)
        assert client.has_capability("IDLE")


def test_tls_refused_without_the_rig_ca(dovecot: Dovecot) -> None:
    # The certificate is self-signed: the system trust store must not accept it.
    system_trust = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(dovecot.host, dovecot.ssl_port, ssl=True, ssl_context=system_trust)


def test_wrong_password_and_unknown_user_refused(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    for user, password in ((mailbox_user.name, "wrong"), ("nobody-here@example.com", "x")):
        with IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=5) as client:
            with pytest.raises(LoginError):
                client.login(user, password)


def test_default_users_exist(dovecot: Dovecot) -> None:
    for name in ("privacy@example.com", "dpo@example.com"):
        with dovecot.connect(name) as client:
            assert client.folder_exists("Processed")


def test_append_then_fetch(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    raw = make_message("Begäran om registerutdrag", "Hej, jag vill se mina uppgifter.\n")
    when = datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    uid = dovecot.append(mailbox_user.name, raw, flags=["$Custom"], msg_time=when)
    second = dovecot.append(mailbox_user.name, make_message("two"))
    assert second > uid
    assert dovecot.list_uids(mailbox_user.name) == [uid, second]
    with dovecot.connect(mailbox_user.name) as client:
        client.normalise_times = False
        client.select_folder("INBOX", readonly=True)
        data = client.fetch([uid], ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])[uid]
    assert data[b"BODY[]"] == raw
    assert data[b"INTERNALDATE"] == when
    assert b"$Custom" in data[b"FLAGS"]


def test_append_to_new_folder(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    uid = dovecot.append(mailbox_user.name, make_message(), folder="Archive/2025")
    assert dovecot.list_uids(mailbox_user.name, "Archive/2025") == [uid]
    assert dovecot.list_uids(mailbox_user.name) == []


def test_users_do_not_share_mail(dovecot: Dovecot) -> None:
    a = dovecot.add_user("alpha-share@example.com", "a-pw")
    b = dovecot.add_user("beta-share@example.com", "b-pw")
    dovecot.append(a.name, make_message())
    assert dovecot.list_uids(b.name) == []


def test_idle_sees_appended_message(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    with dovecot.connect(mailbox_user.name) as client:
        client.select_folder("INBOX")
        client.idle()
        timer = threading.Timer(0.2, dovecot.append, (mailbox_user.name, make_message()))
        timer.start()
        started = time.monotonic()
        responses: list[object] = []
        while not responses and time.monotonic() - started < 5:
            responses = [r for r in client.idle_check(timeout=1) if r[1] == b"EXISTS"]
        client.idle_done()
        timer.join()
    assert responses == [(1, b"EXISTS")]


def test_restart_keeps_uidvalidity_and_mail(dovecot_factory: Callable[..., Dovecot]) -> None:
    server = dovecot_factory()
    uid = server.append("privacy@example.com", make_message())
    before = server.folder_status("privacy@example.com")
    ports = (server.port, server.ssl_port)
    server.restart()
    assert (server.port, server.ssl_port) == ports
    assert server.folder_status("privacy@example.com") == before
    assert server.list_uids("privacy@example.com") == [uid]


def test_set_uidvalidity(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    dovecot.append(mailbox_user.name, make_message())
    old = dovecot.folder_status(mailbox_user.name)[b"UIDVALIDITY"]
    dovecot.set_uidvalidity(mailbox_user.name, old + 1000)
    assert dovecot.folder_status(mailbox_user.name)[b"UIDVALIDITY"] == old + 1000


def test_server_without_idle(dovecot_factory: Callable[..., Dovecot]) -> None:
    server = dovecot_factory(idle=False)
    with server.connect("dpo@example.com") as client:
        caps = client.capabilities()
    assert b"IDLE" not in caps and b"UIDPLUS" in caps


async def test_smtp_records_message(smtp_server: RecordingSMTP) -> None:
    raw = make_message("Avregistrering", "Ta bort mig.\n", sender="a@example.org")
    await aiosmtplib.send(raw, sender="a@example.org", recipients=["privacy@example.com"],
                          hostname=smtp_server.host, port=smtp_server.port)  # fmt: skip
    [got] = await smtp_server.wait_for(1)
    assert got.mail_from == "a@example.org"
    assert got.rcpt_tos == ["privacy@example.com"]
    assert got.message["Subject"] == "Avregistrering"
    assert got.raw.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


async def test_smtp_refuses_then_accepts(smtp_server: RecordingSMTP) -> None:
    smtp_server.refuse(1, stage="rcpt")
    send = dict(sender="a@example.org", recipients=["b@example.com"],
                hostname=smtp_server.host, port=smtp_server.port)  # fmt: skip
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        await aiosmtplib.send(make_message(), **send)  # type: ignore[arg-type]
    assert info.value.recipients[0].code == 451
    await aiosmtplib.send(make_message(), **send)  # type: ignore[arg-type]
    assert len(await smtp_server.wait_for(1)) == 1
    assert smtp_server.refused == 1


async def test_smtp_down_then_up_on_same_port(smtp_server: RecordingSMTP) -> None:
    port = smtp_server.port
    smtp_server.stop()
    send = dict(sender="a@example.org", recipients=["b@example.com"],
                hostname=smtp_server.host, port=port, timeout=5)  # fmt: skip
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.send(make_message(), **send)  # type: ignore[arg-type]
    smtp_server.start()
    await aiosmtplib.send(make_message(), **send)  # type: ignore[arg-type]
    assert smtp_server.port == port and len(await smtp_server.wait_for(1)) == 1


async def test_smtp_wait_for_times_out(smtp_server: RecordingSMTP) -> None:
    with pytest.raises(TimeoutError):
        await smtp_server.wait_for(1, timeout=0.1)


async def test_postgres_accepts_connections(postgres: Postgres) -> None:
    conn = await asyncpg.connect(postgres.url)
    try:
        assert await conn.fetchval("select current_database()") == "inboxbot"
        await conn.execute("create temporary table t (x text)")
        await conn.execute("insert into t values ($1)", "åäö")
        assert await conn.fetchval("select x from t") == "åäö"
    finally:
        await conn.close()
