"""`inboxbot backfill` on a Dovecot mailbox with history: tickets without acknowledgements.

The mailbox holds mail from before --since (left alone), old requests (ticketed with their real
due dates, one overdue), an old unsubscribe (honoured), an auto-reply; afterwards `run` must
answer only what arrives later.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from inboxbot.backfill import backfill, format_summary
from inboxbot.classify import make_classifier
from inboxbot.config import Organisation, Settings, TransportSettings
from inboxbot.pipeline import Processor
from inboxbot.store import close_store, open_store
from inboxbot.store.lease import Lease
from inboxbot.store.models import (
    MailboxCursor,
    OutboxItem,
    ProcessedMessage,
    Suppression,
    Ticket,
    TicketEvent,
)
from inboxbot.suppression import address_hash
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import Dovecot, MailUser, RecordingSMTP, make_message
from tests.ops_config import REPO, write_config

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
SINCE = (NOW - timedelta(days=100)).date()
HISTORY = [  # (days ago, subject, body, sender, extra headers)
    (400, "Radera mina uppgifter", "Hej,\nJag vill att ni raderar alla mina personuppgifter.\nAnna\n",
     "Anna Exempel <anna@example.org>", ()),
    (60, "Access request", "Hello,\nUnder Article 15 GDPR I request a copy of my personal data.\nBo\n",
     "Bo Exempel <bo@example.org>", ()),
    (50, "Unsubscribe", "Please unsubscribe me from your newsletter.\n", "cai@example.net", ()),
    (3, "Question about cookies", "Hello,\nWhich cookies does your website set, and why?\nEva\n",
     "Eva Exempel <eva@example.org>", ()),
    (2, "Out of office", "I am away until Monday.\n", "dan@example.net",
     (("Auto-Submitted", "auto-replied"),)),
]


def fill(dovecot: Dovecot, user: MailUser) -> None:
    for days, subject, body, sender, headers in HISTORY:
        dovecot.append(user.name, make_message(subject, body, sender=sender, headers=headers),
                       msg_time=NOW - timedelta(days=days))


def settings_for(dovecot: Dovecot, user: MailUser, smtp: RecordingSMTP, tmp: Path) -> Settings:
    return Settings(
        organisation=Organisation(domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com"),
        mailboxes=(dovecot.mailbox_settings(user.name, security="tls", idle_timeout=5.0),),
        transport=TransportSettings(kind="smtp", host="127.0.0.1", port=smtp.port, security="plain"),
        state_dir=tmp, outbox_interval=0.2,
    )


def test_dry_run_reports_and_writes_nothing(dovecot: Dovecot, mailbox_user: MailUser, tmp_path: Path) -> None:
    fill(dovecot, mailbox_user)
    config = tmp_path / "inboxbot.toml"
    env = write_config(config, dovecot, [mailbox_user], smtp_port=None)
    proc = subprocess.run([sys.executable, "-m", "inboxbot.cli", "-c", str(config), "backfill",
                           "--since", SINCE.isoformat(), "--dry-run"],
                          cwd=REPO, env={**os.environ, **env}, check=False, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dry run: nothing written" in out
    assert "box0/INBOX: 4 message(s) would import, 1 older left alone" in out, out
    names = ("access", "unsubscribe", "general", "auto_reply", "total")
    rows = {line.split()[0]: [int(x) for x in line.split()[1:]] for line in out.splitlines()
            if line.split() and line.split()[0] in names}
    # columns: messages, tickets, follow-ups, suppressed, automated, overdue
    assert rows["access"] == [1, 1, 0, 0, 0, 1], out  # 60 days old: past its one-month due date
    assert rows["unsubscribe"] == [1, 0, 0, 1, 0, 0], out
    assert rows["general"] == [1, 1, 0, 0, 0, 0], out
    assert rows["auto_reply"] == [1, 0, 0, 0, 1, 0], out
    assert "1 ticket(s) would already be past their legal due date" in out, out
    assert not (tmp_path / "state").exists()  # no database was even created
    with dovecot.connect(mailbox_user.name) as client:  # and no flag was set on the server
        client.select_folder("INBOX", readonly=True)
        assert not client.search(["KEYWORD", "$InboxbotDone"])


async def test_backfill_then_run_answers_only_new_mail(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, tmp_path: Path
) -> None:
    fill(dovecot, mailbox_user)
    settings = settings_for(dovecot, mailbox_user, smtp_server, tmp_path)
    await open_store(settings.db_url)
    try:
        summary = await backfill(settings, SINCE, progress=False)
        text = format_summary(summary)
        assert not summary.failed, text
        assert summary.folders[0].since == 4 and summary.folders[0].older == 1
        assert summary.folders[0].cursor == 5
        assert summary.total("tickets") == 2 and summary.suppressions == 1
        assert "1 ticket(s) are already past their legal due date" in text, text

        tickets = {t.subject: t for t in await Ticket.all()}
        assert set(tickets) == {"Access request", "Question about cookies"}
        access = tickets["Access request"]
        # The legal clock runs from INTERNALDATE: one month after a mail 60 days old has passed.
        assert access.received_at.date() == (NOW - timedelta(days=60)).date()
        assert access.due_date < date.today()
        assert await TicketEvent.filter(ticket=access, kind="imported").exists()
        assert await Suppression.filter(address_hash=address_hash("cai@example.net")).exists()
        assert await OutboxItem.all().count() == 0  # no acknowledgement, no escalation
        records = await ProcessedMessage.all()
        assert len(records) == 4
        assert {r.ack_withheld for r in records if r.outcome != "automated"} == \
            {"imported from the mailbox's history"}
        cursor = await MailboxCursor.get(account="privacy", folder="INBOX")
        assert cursor.last_uid == 5

        # New mail after the import is `run`'s, and only it is answered.
        dovecot.append(mailbox_user.name, make_message(
            "Radera mig", "Hej,\nRadera alla mina personuppgifter, tack.\nFia\n", sender="fia@example.org"))
        worker = Worker(settings, Processor(settings, make_classifier(settings)),
                        make_transport(settings.transport))
        report = await worker.run(once=True)
        assert not report.errors, report.errors
        assert [o.uid for o in report.outcomes] == [6]
        # The one acknowledgement goes to the new sender; nobody from the history hears from
        # us. The DPO is reminded of the overdue imported ticket, as of any overdue ticket.
        sent = {(o.purpose, o.recipient) for o in await OutboxItem.filter(status="sent")}
        assert sent == {("ack", "fia@example.org"), ("reminder", "dpo@example.com")}, sent
        received = await smtp_server.wait_for(2)
        assert sorted(r.rcpt_tos[0] for r in received) == ["dpo@example.com", "fia@example.org"]
        assert await ProcessedMessage.all().count() == 5

        # A second backfill over the same days adds nothing and does not move `run`'s cursor back.
        again = await backfill(settings, SINCE, progress=False)
        assert again.duplicates == 5 and again.total("messages") == 0  # 4 imported + 1 by `run`
        assert (await MailboxCursor.get(account="privacy", folder="INBOX")).last_uid == 6
    finally:
        await close_store()


async def test_backfill_refuses_a_folder_a_worker_holds(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, tmp_path: Path
) -> None:
    settings = settings_for(dovecot, mailbox_user, smtp_server, tmp_path)
    await open_store(settings.db_url)
    try:
        assert await Lease("privacy", "INBOX", "other-host:1", ttl=60).acquire()
        summary = await backfill(settings, SINCE, progress=False)
        assert summary.failed and "a worker is watching this folder" in summary.folders[0].error
        assert "FAILED" in format_summary(summary)
    finally:
        await close_store()
