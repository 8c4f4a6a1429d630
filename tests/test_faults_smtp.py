"""SMTP faults against the recording aiosmtpd server: temporary refusals are retried with
backoff; a permanent refusal is recorded once, never retried, and told to the DPO once; a bounce
that comes back later is tied to its ticket and never answered."""

from __future__ import annotations

import email.message
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import Organisation, Settings, TransportSettings
from inboxbot.domain import RawMessage
from inboxbot.outbox import MAX_ATTEMPTS, deliver_due
from inboxbot.pipeline import Processor
from inboxbot.render import ReplyRenderer
from inboxbot.store import close_store, open_store
from inboxbot.store.models import OutboxItem, ProcessedMessage, Ticket, TicketEvent
from inboxbot.transport import make_transport
from inboxbot.undelivered import notify_undelivered, read_bounce
from rig import RecordingSMTP

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "automated"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def settings_for(smtp: RecordingSMTP, tmp: Path) -> Settings:
    return Settings(
        organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com"),
        transport=TransportSettings(kind="smtp", host=smtp.host, port=smtp.port, security="plain"),
        state_dir=tmp,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Path]:
    await open_store(f"sqlite://{tmp_path / 'inboxbot.sqlite3'}")
    yield tmp_path
    await close_store()


def request(uid: int, sender: str = "karin.lind@example.org") -> RawMessage:
    raw = (
        f"From: Karin Lind <{sender}>\r\nTo: privacy@example.com\r\nSubject: Radera mina uppgifter\r\n"
        f"Message-ID: <req-{uid}@example.org>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hej, jag vill att ni raderar alla mina personuppgifter enligt artikel 17 GDPR.\r\n"
    ).encode()
    return RawMessage("privacy", "INBOX", 1, uid, raw, T0)


class Rig:
    def __init__(self, smtp: RecordingSMTP, tmp: Path) -> None:
        self.settings = settings_for(smtp, tmp)
        self.clock = Clock()
        self.processor = Processor(self.settings, make_classifier(self.settings), clock=self.clock)
        self.transport = make_transport(self.settings.transport)
        self.renderer = ReplyRenderer(self.settings.prompts_dir, self.settings.organisation)

    async def on_failure(self, item: OutboxItem, reason: str, conn: object) -> None:
        await notify_undelivered(self.settings, self.renderer, item, reason, conn, self.clock())

    async def deliver(self) -> tuple[int, int]:
        return await deliver_due(self.transport, self.clock, on_failure=self.on_failure)


async def test_temporary_failures_are_retried_with_growing_backoff(
    smtp_server: RecordingSMTP, store: Path
) -> None:
    rig = Rig(smtp_server, store)
    await rig.processor.process([request(1)], track_cursor=False)
    smtp_server.refuse(count=2, reply="451 4.3.0 Try again later")
    waits = []
    for attempt in (1, 2):
        assert await rig.deliver() == (0, 1)
        item = await OutboxItem.get(purpose="ack")
        assert (item.status, item.attempts) == ("pending", attempt)
        waits.append((item.next_attempt_at - rig.clock.now).total_seconds())
        assert await rig.deliver() == (0, 0)  # not due yet: the server is not hammered
        rig.clock.now = item.next_attempt_at
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60, waits  # 30 s doubling, jittered
    assert await rig.deliver() == (1, 0)
    item = await OutboxItem.get(purpose="ack")
    assert (item.status, item.attempts) == ("sent", 3)
    assert len(smtp_server.messages) == 1 and smtp_server.refused == 2


async def test_permanent_refusal_is_failed_once_and_told_to_the_dpo_once(
    smtp_server: RecordingSMTP, store: Path
) -> None:
    rig = Rig(smtp_server, store)
    await rig.processor.process([request(1)], track_cursor=False)
    smtp_server.refuse(count=1, reply="550 5.1.1 No such user here", stage="rcpt")
    assert await rig.deliver() == (0, 1)
    ack = await OutboxItem.get(purpose="ack")
    assert ack.status == "failed" and "550" in ack.last_error and ack.attempts == 1
    # The notice to the DPO goes out on the next round; nothing is retried, ever.
    for _ in range(3):
        rig.clock.now += timedelta(days=2)
        await rig.deliver()
    ack = await OutboxItem.get(purpose="ack")
    assert ack.status == "failed" and ack.attempts == 1
    ticket = await Ticket.get()
    to_dpo = [m for m in smtp_server.messages if m.rcpt_tos == ["dpo@example.com"]]
    assert len(to_dpo) == 1 and len(smtp_server.messages) == 1
    notice = to_dpo[0].message
    assert ticket.reference and ticket.reference in str(notice["Subject"])
    assert notice["X-Inboxbot-Ref"] == ticket.reference
    body = notice.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "karin.lind@example.org" in body and "550" in body
    assert await TicketEvent.filter(ticket=ticket, kind="delivery_failed").count() == 1


async def test_endless_temporary_failure_gives_up_and_tells_the_dpo(
    smtp_server: RecordingSMTP, store: Path
) -> None:
    rig = Rig(smtp_server, store)
    await rig.processor.process([request(1)], track_cursor=False)
    smtp_server.refuse(count=MAX_ATTEMPTS, reply="452 4.2.2 Mailbox full", stage="rcpt")
    for _ in range(MAX_ATTEMPTS):
        await rig.deliver()
        rig.clock.now += timedelta(days=1)
    ack = await OutboxItem.get(purpose="ack")
    assert (ack.status, ack.attempts) == ("failed", MAX_ATTEMPTS)
    await rig.deliver()
    assert [m.rcpt_tos for m in smtp_server.messages] == [["dpo@example.com"]]


def _bounce(ack: email.message.EmailMessage, *, postfix_style: bool) -> bytes:
    """A DSN for our acknowledgement, the way Postfix (returned headers) or Exchange (only the
    subject and the failed recipient) write them."""
    returned = "" if not postfix_style else (
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {ack['From']}\r\nTo: {ack['To']}\r\nSubject: {ack['Subject']}\r\n"
        f"Message-ID: {ack['Message-ID']}\r\nX-Inboxbot-Ref: {ack['X-Inboxbot-Ref']}\r\n\r\n"
    )
    subject = "Undelivered Mail Returned to Sender" if postfix_style else f"Undeliverable: {ack['Subject']}"
    return (
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
        f"To: privacy@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <dsn-{'p' if postfix_style else 'x'}@mx.example.org>\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0100\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {ack['To']}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"{returned}--B--\r\n"
    ).encode()


@pytest.mark.parametrize("postfix_style", [True, False], ids=["returned-headers", "subject-only"])
async def test_bounce_is_tied_to_its_ticket_and_never_answered(
    smtp_server: RecordingSMTP, store: Path, postfix_style: bool
) -> None:
    rig = Rig(smtp_server, store)
    await rig.processor.process([request(1)], track_cursor=False)
    assert await rig.deliver() == (1, 0)
    [sent] = smtp_server.messages
    ticket = await Ticket.get()
    bounce = _bounce(sent.message, postfix_style=postfix_style)
    report = read_bounce(bounce, "PRIV")
    assert report.failed and report.status == "5.1.1"

    [outcome] = await rig.processor.process([RawMessage("privacy", "INBOX", 1, 2, bounce, T0)],
                                            track_cursor=False)
    assert outcome.outcome == "automated" and not outcome.acknowledged
    record = await ProcessedMessage.get(message_id=outcome.message_id)
    assert record.ticket_id == ticket.id  # type: ignore[attr-defined]
    assert await TicketEvent.filter(ticket=ticket, kind="bounce").count() == 1
    ack = await OutboxItem.get(purpose="ack")
    assert ack.status == "bounced"

    # A second bounce for the same message (another MTA, a retry) records, never re-notifies.
    again = bounce.replace(b"<dsn-", b"<dsn-again-")
    await rig.processor.process([RawMessage("privacy", "INBOX", 1, 3, again, T0)], track_cursor=False)
    rig.clock.now += timedelta(minutes=5)
    await rig.deliver()
    await rig.deliver()
    assert await TicketEvent.filter(ticket=ticket, kind="bounce").count() == 2
    assert [m.rcpt_tos for m in smtp_server.messages[1:]] == [["dpo@example.com"]]  # one notice, no reply


async def test_out_of_office_reply_to_our_ack_is_not_a_bounce(
    smtp_server: RecordingSMTP, store: Path
) -> None:
    rig = Rig(smtp_server, store)
    await rig.processor.process([request(1)], track_cursor=False)
    await rig.deliver()
    ack = smtp_server.messages[0].message
    ooo = (
        f"From: Karin Lind <karin.lind@example.org>\r\nTo: privacy@example.com\r\n"
        f"Subject: Automatic reply: {ack['Subject']}\r\nMessage-ID: <ooo-1@example.org>\r\n"
        f"In-Reply-To: {ack['Message-ID']}\r\nAuto-Submitted: auto-replied\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n\r\nI am away until Monday.\r\n"
    ).encode()
    [outcome] = await rig.processor.process([RawMessage("privacy", "INBOX", 1, 2, ooo, T0)],
                                            track_cursor=False)
    assert not outcome.acknowledged
    assert (await OutboxItem.get(purpose="ack")).status == "sent"
    assert not await TicketEvent.filter(kind="bounce").exists()


def test_read_bounce_of_the_fixture_dsns() -> None:
    postfix = read_bounce((FIXTURES / "dsn_postfix.eml").read_bytes(), "PRIV")
    assert postfix.failed and postfix.status == "5.1.1"
    assert postfix.recipients == ("karin.lind@example.org",)
    assert postfix.references == ("PRIV-2026-000042",)
    exchange = read_bounce((FIXTURES / "dsn_exchange_ndr.eml").read_bytes(), "PRIV")
    assert exchange.references == ("PRIV-2026-000051",) and exchange.status == "5.1.10"
    assert read_bounce(b"\xff\xfe not mail at all", "PRIV").message_ids == ()
