"""End to end on real servers: Dovecot (IMAP), aiosmtpd (SMTP), SQLite and PostgreSQL.

The bundled sample mailbox (34 messages of every kind, with its expected outcomes in
inboxbot/sample_mailbox/README.md) is APPENDed to a fresh Dovecot user; the worker runs as
`run --once` would; the assertions are on what the SMTP server received and what the store holds.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from inboxbot.classify import make_classifier
from inboxbot.config import Organisation, Settings, TransportSettings
from inboxbot.pipeline import Processor
from inboxbot.store import close_store, open_store
from inboxbot.store.models import MailboxCursor, OutboxItem, ProcessedMessage, Suppression, Ticket
from inboxbot.suppression import address_hash
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import Dovecot, MailUser, RecordingSMTP

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parent.parent / "inboxbot" / "sample_mailbox"
SUPPRESSING = {"unsubscribe", "objection", "consent_withdrawal"}
TICKETING = {"access", "erasure", "rectification", "objection", "restriction", "portability",
             "consent_withdrawal", "complaint", "general"}


def expected_table() -> dict[str, dict[str, str]]:
    """The README's table: file -> {lang, intents, automated, ...}."""
    rows: dict[str, dict[str, str]] = {}
    for line in (SAMPLE / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([^`]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| (yes|no) \| (yes|no) \|", line)
        if m:
            rows[m.group(1)] = {"lang": m.group(2).strip(), "intents": m.group(4).strip(),
                                "automated": m.group(5), "breach": m.group(6)}
    return rows


def sample_files() -> list[Path]:
    return sorted(p for p in (SAMPLE / "new").iterdir() if not p.name.startswith("."))


def header(raw: bytes, name: str) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)[name] or "")


def append_all(dovecot: Dovecot, user: MailUser, files: list[Path]) -> dict[str, Path]:
    by_id: dict[str, Path] = {}
    for f in files:
        raw = f.read_bytes()
        date = email.utils.parsedate_to_datetime(header(raw, "Date"))
        dovecot.append(user.name, raw, msg_time=date)
        by_id[header(raw, "Message-ID").strip()] = f
    return by_id


def make_settings(dovecot: Dovecot, user: MailUser, smtp: RecordingSMTP, tmp: Path) -> Settings:
    return Settings(
        organisation=Organisation(name="Example AB", domain="example.com",
                                  reply_from="privacy@example.com", dpo_email="dpo@example.com"),
        mailboxes=(dovecot.mailbox_settings(user.name, security="tls", idle_timeout=5.0),),
        transport=TransportSettings(kind="smtp", host="127.0.0.1", port=smtp.port, security="plain"),
        state_dir=tmp,
        outbox_interval=0.2,
    )


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Path]:
    """The same tests on both engines: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite://{tmp_path / 'inboxbot.sqlite3'}"
    await open_store(url)
    yield tmp_path
    await close_store()


async def run_once(settings: Settings) -> None:
    worker = Worker(settings, Processor(settings, make_classifier(settings)),
                    make_transport(settings.transport))
    report = await worker.run(once=True)
    assert not report.errors, report.errors


async def test_sample_mailbox_over_imap_and_smtp(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path
) -> None:
    table = expected_table()
    files = sample_files()
    assert len(files) >= 30 and set(table) == {f.name for f in files}
    by_id = append_all(dovecot, mailbox_user, files)
    settings = make_settings(dovecot, mailbox_user, smtp_server, store)

    await run_once(settings)

    # Every message has exactly one record, in UID order, and the cursor is at the end.
    records = await ProcessedMessage.all().order_by("uid")
    assert [r.uid for r in records] == list(range(1, len(files) + 1))
    cursor = await MailboxCursor.get(account="privacy", folder="INBOX")
    assert cursor.last_uid == len(files)

    # Acknowledgements: one per person who wrote first in a thread, none to automated mail.
    received = {str(r.message["In-Reply-To"]).strip(): r for r in smtp_server.messages}
    follow_up_file = "1700000034.M34P1.sample:2,"  # replies to 1700000001 (see the README)
    for mid, f in by_id.items():
        row = table[f.name]
        raw = f.read_bytes()
        if row["automated"] == "yes" or f.name == follow_up_file:
            assert mid not in received, f"{f.name} must not be acknowledged"
            continue
        assert mid in received, f"{f.name} was not acknowledged"
        ack = received[mid]
        msg = ack.message
        sender = email.utils.parseaddr(header(raw, "From"))[1]
        assert ack.rcpt_tos == [sender]
        assert msg["Auto-Submitted"] == "auto-replied"
        assert str(msg["Message-ID"]).endswith("@example.com>")
        assert str(msg["References"]).split()[-1] == mid
        assert email.utils.parseaddr(str(msg["From"]))[1] == "privacy@example.com"
        assert "\n" not in str(msg["Subject"])
    automated = [f for f in files if table[f.name]["automated"] == "yes"]
    expected_acks = len(files) - len(automated) - 1
    assert len(smtp_server.messages) - _escalations(smtp_server) == expected_acks

    # Tickets: every request except a bare unsubscribe; the follow-up joins its original.
    record_by_file = {by_id[r.message_id].name: r for r in records}
    for name, row in table.items():
        rec = record_by_file[name]
        intents = {i.strip() for i in row["intents"].split(",")}
        if row["automated"] == "yes":
            assert rec.outcome == "automated" and rec.ticket_id is None, name  # type: ignore[attr-defined]
            continue
        if name == follow_up_file:
            original = record_by_file["1700000001.M1P1.sample:2,"]
            assert rec.outcome == "follow_up"
            assert rec.ticket_id == original.ticket_id  # type: ignore[attr-defined]
            continue
        if intents & TICKETING:
            assert rec.ticket_id is not None, f"{name}: no ticket"  # type: ignore[attr-defined]
        if intents & SUPPRESSING:
            sender = email.utils.parseaddr(header((SAMPLE / "new" / name).read_bytes(), "From"))[1]
            assert await Suppression.filter(address_hash=address_hash(sender)).exists(), name

    # A ticket's acknowledgement carries its reference and due date (one month, Art. 12(3)).
    ticket = await Ticket.get(id=record_by_file["1700000005.M5P1.sample:2,"].ticket_id)  # type: ignore[attr-defined]
    ack = received[next(m for m, f in by_id.items() if f.name == "1700000005.M5P1.sample:2,")].message
    assert ticket.reference and ticket.reference in str(ack["Subject"])
    body = ack.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert ticket.reference in body
    assert str(ticket.due_date.year) in body

    # Run again: nothing new is sent or created.
    sent_before = len(smtp_server.messages)
    tickets_before = await Ticket.all().count()
    await run_once(settings)
    await asyncio.sleep(0.2)
    assert len(smtp_server.messages) == sent_before
    assert await Ticket.all().count() == tickets_before
    assert await ProcessedMessage.all().count() == len(files)

    # A reply to our acknowledgement joins the same ticket and gets no new acknowledgement.
    reply = (
        f"From: {ack['To']}\r\nTo: privacy@example.com\r\nSubject: Re: {ack['Subject']}\r\n"
        f"Message-ID: <reply-1@example.org>\r\nIn-Reply-To: {ack['Message-ID']}\r\n"
        f"References: {ack['References']} {ack['Message-ID']}\r\n"
        f"Date: {email.utils.format_datetime(datetime.now(timezone.utc))}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Thanks. Here is my customer number 12345 so you can find me.\r\n"
    ).encode()
    dovecot.append(mailbox_user.name, reply)
    await run_once(settings)
    rec = await ProcessedMessage.get(message_id="<reply-1@example.org>")
    assert rec.outcome == "follow_up" and rec.ticket_id == ticket.id  # type: ignore[attr-defined]
    assert len(smtp_server.messages) == sent_before


def _escalations(smtp: RecordingSMTP) -> int:
    return sum(1 for r in smtp.messages if r.rcpt_tos == ["dpo@example.com"])


async def test_idle_picks_up_a_new_message(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path
) -> None:
    settings = make_settings(dovecot, mailbox_user, smtp_server, store)
    worker = Worker(settings, Processor(settings, make_classifier(settings)),
                    make_transport(settings.transport))
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(1.0)  # connected and idling
        raw = (SAMPLE / "new" / "1700000005.M5P1.sample:2,").read_bytes()
        await asyncio.to_thread(dovecot.append, mailbox_user.name, raw)
        got = await smtp_server.wait_for(1, timeout=10)
        assert got[0].rcpt_tos == [email.utils.parseaddr(header(raw, "From"))[1]]
    finally:
        worker.stop.set()
        await asyncio.wait_for(task, 10)


async def test_smtp_down_keeps_acknowledgements_in_the_outbox(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path
) -> None:
    for name in ("1700000004.M4P1.sample:2,", "1700000005.M5P1.sample:2,", "1700000006.M6P1.sample:2,"):
        dovecot.append(mailbox_user.name, (SAMPLE / "new" / name).read_bytes())
    settings = make_settings(dovecot, mailbox_user, smtp_server, store)
    smtp_server.stop()
    worker = Worker(settings, Processor(settings, make_classifier(settings)),
                    make_transport(settings.transport))
    report = await worker.run(once=True)
    assert report.sent == 0
    assert await OutboxItem.filter(purpose="ack", status="pending").count() == 3

    smtp_server.start()
    # Backoff put the next attempt in the future; a later run after that time sends each once.
    later = datetime.now(timezone.utc).replace(year=datetime.now().year + 1)
    worker = Worker(settings, Processor(settings, make_classifier(settings)),
                    make_transport(settings.transport), clock=lambda: later)
    await worker.run(once=True)
    await worker.run(once=True)
    assert len([m for m in smtp_server.messages if m.rcpt_tos != ["dpo@example.com"]]) == 3
    assert await OutboxItem.filter(purpose="ack", status="sent").count() == 3
    assert len({str(m.message["Message-ID"]) for m in smtp_server.messages}) == len(smtp_server.messages)


async def test_uidvalidity_change_does_not_answer_again(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, store: Path
) -> None:
    for name in ("1700000004.M4P1.sample:2,", "1700000005.M5P1.sample:2,"):
        dovecot.append(mailbox_user.name, (SAMPLE / "new" / name).read_bytes())
    settings = make_settings(dovecot, mailbox_user, smtp_server, store)
    await run_once(settings)
    sent = len(smtp_server.messages)
    assert sent == 2
    old = (await MailboxCursor.get(account="privacy", folder="INBOX")).uidvalidity
    dovecot.set_uidvalidity(mailbox_user.name, old + 1000)
    dovecot.append(mailbox_user.name, (SAMPLE / "new" / "1700000006.M6P1.sample:2,").read_bytes())
    await run_once(settings)
    cursor = await MailboxCursor.get(account="privacy", folder="INBOX")
    assert cursor.uidvalidity == old + 1000
    assert len(smtp_server.messages) == sent + 1  # only the new message is answered
    assert await ProcessedMessage.all().count() == 3


async def test_same_message_to_privacy_and_dpo_is_handled_once(
    dovecot: Dovecot, smtp_server: RecordingSMTP, store: Path
) -> None:
    tag = uuid.uuid4().hex[:8]  # the Dovecot is shared by the session: fresh users per run
    privacy = dovecot.add_user(f"privacy-dup-{tag}@example.com", "pw1")
    dpo = dovecot.add_user(f"dpo-dup-{tag}@example.com", "pw2")
    raw = (SAMPLE / "new" / "1700000004.M4P1.sample:2,").read_bytes()
    dovecot.append(privacy.name, raw)
    dovecot.append(dpo.name, raw)
    base = make_settings(dovecot, privacy, smtp_server, store)
    settings = replace(base, mailboxes=(
        dovecot.mailbox_settings(privacy.name, name="privacy"),
        dovecot.mailbox_settings(dpo.name, name="dpo"),
    ))
    await run_once(settings)
    assert await ProcessedMessage.all().count() == 1
    assert await Ticket.all().count() == 1
    assert len(smtp_server.messages) == 1
    for account in ("privacy", "dpo"):
        assert (await MailboxCursor.get(account=account, folder="INBOX")).last_uid == 1
