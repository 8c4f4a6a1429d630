"""SMTP transport: one kept connection serves a burst of sends, and a connection that died while
idle (server restarted, proxy cut) is replaced without failing the send. Real aiosmtpd server,
reached through a TCP proxy that counts the connections the transport opens."""

from __future__ import annotations

import email
import email.policy
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


async def test_a_burst_of_sends_uses_one_connection(smtp_server: RecordingSMTP) -> None:
    proxy = FaultProxy(smtp_server.host, smtp_server.port).start()
    transport = through(proxy)
    try:
        for n in range(5):
            await transport.send(message(n))
        got = await smtp_server.wait_for(5)
        assert [r.rcpt_tos for r in got] == [[f"anna.{n}@example.org"] for n in range(5)]
        assert proxy.accepted == 1
        await transport.close()
        assert proxy.client_bytes.count(b"QUIT") == 1  # closed politely, once
    finally:
        proxy.stop()


async def test_a_connection_cut_while_idle_is_replaced_without_a_failure(
    smtp_server: RecordingSMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtp_module, "REUSE_IDLE", 0.0)  # always check a kept connection first
    proxy = FaultProxy(smtp_server.host, smtp_server.port).start()
    transport = through(proxy)
    try:
        await transport.send(message(1))
        proxy.drop_all()  # the server side went away between two sends
        await transport.send(message(2))
        got = await smtp_server.wait_for(2)
        assert [r.rcpt_tos for r in got] == [["anna.1@example.org"], ["anna.2@example.org"]]
        assert proxy.accepted == 2
    finally:
        await transport.close()
        proxy.stop()


async def test_a_cut_during_a_send_fails_that_send_and_the_next_reconnects(
    smtp_server: RecordingSMTP,
) -> None:
    proxy = FaultProxy(smtp_server.host, smtp_server.port).start()
    transport = through(proxy)
    try:
        await transport.send(message(1))
        proxy.drop_on(b"DATA")
        with pytest.raises(TransientError):  # unknown whether it arrived: the outbox decides
            await transport.send(message(2))
        await transport.send(message(3))
        got = await smtp_server.wait_for(2)
        assert [r.rcpt_tos for r in got] == [["anna.1@example.org"], ["anna.3@example.org"]]
        assert proxy.accepted == 2
    finally:
        await transport.close()
        proxy.stop()


async def test_a_connection_is_used_for_at_most_max_per_connection_messages(
    smtp_server: RecordingSMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtp_module, "MAX_PER_CONNECTION", 2)
    proxy = FaultProxy(smtp_server.host, smtp_server.port).start()
    transport = through(proxy)
    try:
        for n in range(5):
            await transport.send(message(n))
        await smtp_server.wait_for(5)
        assert proxy.accepted == 3
    finally:
        await transport.close()
        proxy.stop()
