"""SMTP transport: one kept connection serves a burst of sends, and a connection that died while
idle (server restarted, proxy cut) is replaced without failing the send. Real aiosmtpd server,
reached through a TCP proxy that counts the connections the transport opens."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage

import pytest

import inboxbot.transport.smtp as smtp_module
from inboxbot.config import TransportSettings
from inboxbot.errors import TransientError
from inboxbot.transport.smtp import SmtpTransport
from rig import RecordingSMTP
from rig.messages import make_message
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.integration


def message(n: int) -> EmailMessage:
    raw = make_message(f"Ack {n}", sender="privacy@example.com", to=f"anna.{n}@example.org")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def through(proxy: FaultProxy) -> SmtpTransport:
    return SmtpTransport(TransportSettings(host=proxy.host, port=proxy.port, security="plain"))


@asynccontextmanager
async def proxied(smtp_server: RecordingSMTP) -> AsyncIterator[tuple[FaultProxy, SmtpTransport]]:
    """A transport reaching the server through a counting proxy; closed and stopped after."""
    proxy = FaultProxy(smtp_server.host, smtp_server.port).start()
    transport = through(proxy)
    try:
        yield proxy, transport
    finally:
        await transport.close()  # a no-op where the test closed it already
        proxy.stop()


async def test_a_burst_of_sends_uses_one_connection(smtp_server: RecordingSMTP) -> None:
    async with proxied(smtp_server) as (proxy, transport):
        for n in range(5):
            await transport.send(message(n))
        got = await smtp_server.wait_for(5)
        assert [r.rcpt_tos for r in got] == [[f"anna.{n}@example.org"] for n in range(5)]
        assert proxy.accepted == 1
        await transport.close()
        assert proxy.client_bytes.count(b"QUIT") == 1  # closed politely, once


async def test_a_connection_cut_while_idle_is_replaced_without_a_failure(
    smtp_server: RecordingSMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtp_module, "REUSE_IDLE", 0.0)  # always check a kept connection first
    async with proxied(smtp_server) as (proxy, transport):
        await transport.send(message(1))
        proxy.drop_all()  # the server side went away between two sends
        await transport.send(message(2))
        got = await smtp_server.wait_for(2)
        assert [r.rcpt_tos for r in got] == [["anna.1@example.org"], ["anna.2@example.org"]]
        assert proxy.accepted == 2


async def test_a_cut_during_a_send_fails_that_send_and_the_next_reconnects(
    smtp_server: RecordingSMTP,
) -> None:
    async with proxied(smtp_server) as (proxy, transport):
        await transport.send(message(1))
        proxy.drop_on(b"DATA")
        with pytest.raises(TransientError):  # unknown whether it arrived: the outbox decides
            await transport.send(message(2))
        await transport.send(message(3))
        got = await smtp_server.wait_for(2)
        assert [r.rcpt_tos for r in got] == [["anna.1@example.org"], ["anna.3@example.org"]]
        assert proxy.accepted == 2


async def test_a_connection_is_used_for_at_most_max_per_connection_messages(
    smtp_server: RecordingSMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtp_module, "MAX_PER_CONNECTION", 2)
    async with proxied(smtp_server) as (proxy, transport):
        for n in range(5):
            await transport.send(message(n))
        await smtp_server.wait_for(5)
        assert proxy.accepted == 3



def stored_payload(to: str) -> str:
    """An acknowledgement as the outbox stores it: build_message(...).as_string()."""
    from inboxbot.domain import Outgoing
    from inboxbot.outgoing import build_message

    out = Outgoing(to=f"Åsa Öberg <{to}>", subject="Vi har tagit emot din begäran om radering",
                   text="Hej Åsa,\n\nvi har tagit emot din begäran. Ärendenummer PRIV-2026-000001.\n"
                        + "En mycket lång rad som måste brytas " * 6 + "\n.\nSista raden börjar med en punkt.\n",
                   in_reply_to="<req-1@example.org>", references=("<req-1@example.org>",),
                   message_id="<ack-1@example.com>", extra_headers=(("Content-Language", "sv"),))
    return build_message(out, sender="privacy@example.com", sender_name="Exempel AB Dataskydd").as_string()


async def test_a_stored_message_goes_out_byte_for_byte_as_send_would_send_it(
    smtp_server: RecordingSMTP,
) -> None:
    from inboxbot.transport.smtp import wire_form

    payload = stored_payload("Asa.Oberg@example.org")
    assert wire_form(payload) is not None  # non-ASCII text is stored encoded: the fast path applies
    assert wire_form("Subject: Ärende\n\ntext\n") is None  # raw non-ASCII: parsed and sent by send()
    transport = SmtpTransport(TransportSettings(host=smtp_server.host, port=smtp_server.port,
                                                security="plain"))
    try:
        parsed = email.message_from_string(payload, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        await transport.send(parsed)
        await transport.send_stored(payload)
    finally:
        await transport.close()
    slow, fast = await smtp_server.wait_for(2)
    assert fast.raw == slow.raw
    assert fast.rcpt_tos == slow.rcpt_tos == ["Asa.Oberg@example.org"]
    assert fast.mail_from == slow.mail_from == "privacy@example.com"
    assert fast.message["Subject"] == "Vi har tagit emot din begäran om radering"
