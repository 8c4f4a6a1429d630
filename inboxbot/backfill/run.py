"""`inboxbot backfill --since DATE [--dry-run]`: import a mailbox's history, quietly.

On a first install the mailbox already holds months of requests. Answering them now would send
a stack of "we received your request" mails about requests people made long ago, and escalate
old complaints as if new. So the import:

- makes tickets as `run` would, with their real legal due dates counted from INTERNALDATE
  (some are overdue at once: the summary says how many);
- honours old requests to stop marketing (suppression list and marketing pushes), because an
  objection or an unsubscribe does not expire;
- queues no acknowledgement and no escalation (Processor(quiet=True));
- leaves mail from before --since alone, and moves each folder's cursor to the highest UID
  present when it searched, so `run` starts after the history and never answers it.

It holds each folder's lease while it works, so it will not race a running worker; a folder
that a worker holds is reported as failed (stop the service, then run backfill again).
Maildir mailboxes are not imported (a Maildir has no INTERNALDATE to search by).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime

from tqdm import tqdm  # type: ignore[import-untyped]

from inboxbot.backfill.summary import BackfillSummary, FolderResult
from inboxbot.classify import Classifier, make_classifier
from inboxbot.config import MailboxSettings, Settings
from inboxbot.deadlines import deadline_for
from inboxbot.decide import decide, without_mail
from inboxbot.domain import (
    TICKET_INTENTS,
    ActionKind,
    History,
    Inbound,
    Intent,
    RawMessage,
)
from inboxbot.errors import ConfigError, InboxbotError
from inboxbot.lifecycle import OPEN_STATES
from inboxbot.parse import parse
from inboxbot.pipeline import Processor, reply_policy, utc_now
from inboxbot.source.imap import ImapFolder
from inboxbot.store.lease import Lease, worker_id
from inboxbot.store.models import MailboxCursor, Ticket, TicketEvent

log = logging.getLogger(__name__)

BATCH = 50  # messages per fetch: small enough for a smooth progress bar and timely lease renewals
QUIET_REASON = "imported from the mailbox's history"


def _mailboxes(settings: Settings, names: Sequence[str]) -> list[MailboxSettings]:
    known = {mb.name: mb for mb in settings.mailboxes}
    for name in names:
        if name not in known:
            raise ConfigError(f"backfill: no mailbox named {name!r} (there are: {', '.join(known)})")
    chosen = [known[n] for n in names] if names else list(settings.mailboxes)
    for mb in chosen:
        if mb.kind != "imap":
            log.warning("backfill: %s is a maildir mailbox; only IMAP history is imported", mb.name)
    return [mb for mb in chosen if mb.kind == "imap"]


async def backfill(settings: Settings, since: date, *, dry_run: bool = False,
                   mailboxes: Sequence[str] = (), progress: bool | None = None,
                   classifier: Classifier | None = None, now: datetime | None = None) -> BackfillSummary:
    """Import (or, with `dry_run`, only classify) every message on or after `since`.

    The store must be open unless `dry_run`. `progress`: None shows a bar on a terminal only."""
    now = now or utc_now()
    today = now.astimezone(settings.organisation.tz).date()
    summary = BackfillSummary(since=since, today=today, dry_run=dry_run)
    classifier = classifier or make_classifier(settings)
    processor = None if dry_run else Processor(settings, classifier, quiet=True)
    seen: set[str] = set()  # dry run: Message-IDs met so far, as the store would know them
    for mb in _mailboxes(settings, mailboxes):
        for folder_name in mb.folders:
            result = FolderResult(mb.name, folder_name)
            summary.folders.append(result)
            try:
                await _folder(settings, mb, folder_name, since, summary, result, processor,
                              classifier, progress, seen)
            except InboxbotError as exc:
                result.error = str(exc)
                log.error("backfill %s/%s: %s", mb.name, folder_name, exc)
    return summary


async def _folder(settings: Settings, mb: MailboxSettings, folder_name: str, since: date,
                  summary: BackfillSummary, result: FolderResult, processor: Processor | None,
                  classifier: Classifier, progress: bool | None, seen: set[str]) -> None:
    lease = None
    if processor is not None:
        lease = Lease(mb.name, folder_name, f"backfill:{worker_id()}", ttl=settings.lease_ttl)
        if not await lease.acquire():
            raise InboxbotError("a worker is watching this folder: stop it (systemctl stop "
                                "inboxbot), run backfill, then start it again")
    folder = ImapFolder(mb, folder_name)
    try:
        status = await folder.open()
        uids, highest = await folder.search_since(since)
        limit = highest
        if processor is not None:
            cursor = await MailboxCursor.filter(account=mb.name, folder=folder_name).first()
            if cursor is not None and cursor.uidvalidity == status.uidvalidity and cursor.last_uid:
                # `run` was here before: what lies above its cursor is new mail, and `run`'s.
                limit = min(highest, int(cursor.last_uid))
        todo = [u for u in uids if u <= limit]
        result.since, result.older = len(todo), max(0, status.exists - len(uids))
        with tqdm(total=len(todo), unit="msg", desc=f"{mb.name}/{folder_name}",
                  disable=None if progress is None else not progress, leave=False) as bar:
            for start in range(0, len(todo), BATCH):
                raws = await folder.fetch_uids(todo[start:start + BATCH])
                if processor is not None:
                    assert lease is not None
                    if not await lease.renew():
                        raise InboxbotError("lost the folder's lease to a worker; stopped")
                    await _import(settings, processor, raws, summary)
                    await folder.mark_done([r.uid for r in raws])
                else:
                    await _classify_only(settings, mb, classifier, raws, summary, seen)
                bar.update(len(raws))
        if processor is not None:
            result.cursor = await _set_cursor(mb.name, folder_name, status.uidvalidity, limit)
    finally:
        await folder.close()
        if lease is not None:
            await lease.release()


async def _import(settings: Settings, processor: Processor, raws: list[RawMessage],
                  summary: BackfillSummary) -> None:
    outcomes = await processor.process(raws, track_cursor=True)
    refs = [o.ticket for o in outcomes if o.ticket and o.outcome == "ticket"]
    tickets = {t.reference: t for t in await Ticket.filter(reference__in=refs)} if refs else {}
    for o in outcomes:
        ticket = tickets.get(o.ticket) if o.ticket and o.outcome == "ticket" else None
        overdue = ticket is not None and ticket.status in OPEN_STATES and ticket.due_date < summary.today
        summary.add(o.label, o.outcome, suppressed=o.suppressed, overdue=overdue)
        if ticket is not None:
            summary.breaches += ticket.breach
            if overdue and ticket.reference:
                summary.overdue_references.append(ticket.reference)
            await TicketEvent.create(ticket=ticket, at=processor.clock(), kind="imported",
                                     detail="backfill: " + QUIET_REASON + "; no acknowledgement sent")


async def _classify_only(settings: Settings, mb: MailboxSettings, classifier: Classifier,
                         raws: list[RawMessage], summary: BackfillSummary, seen: set[str]) -> None:
    """--dry-run: parse, classify and decide as the import would, without touching the store."""
    policy = reply_policy(settings)
    org, dl = settings.organisation, settings.deadlines
    offered = frozenset(Intent(r) for r in org.rights)
    handles = frozenset(Intent(i) for i in mb.intents)
    parsed: list[Inbound] = []
    for raw in raws:
        try:
            parsed.append(parse(raw.raw, received_at=raw.internaldate))
        except Exception:  # noqa: BLE001 - the import would keep it as a dead letter
            summary.add("", "dead_letter", suppressed=False, overdue=False)
    verdicts = await asyncio.to_thread(classifier.classify, parsed) if parsed else []
    for msg, verdict in zip(parsed, verdicts):
        history = History(already_processed=msg.message_id in seen)
        seen.add(msg.message_id)
        decision = without_mail(decide(msg, verdict, history, policy, offered=offered, handles=handles),
                                QUIET_REASON)
        overdue = False
        if decision.outcome == "ticket":
            intents = [s.intent for s in verdict.intents if s.intent in TICKET_INTENTS] or [Intent.GENERAL]
            due = deadline_for(intents, msg.received_at, country=org.country, tz=org.timezone,
                               extra_non_working=dl.extra_non_working_days,
                               rights_months=dl.rights_months,
                               internal_business_days=dl.internal_target_business_days).due
            overdue = due < summary.today
            summary.breaches += verdict.breach_reported
        suppressed = decision.has(ActionKind.SUPPRESS) and msg.sender is not None
        summary.add(str(verdict.label), decision.outcome, suppressed=suppressed, overdue=overdue)


async def _set_cursor(account: str, folder: str, uidvalidity: int, uid: int) -> int:
    """Move the folder's cursor to at least `uid`, so `run` starts after the imported history."""
    cursor, _ = await MailboxCursor.get_or_create(
        account=account, folder=folder, defaults={"uidvalidity": uidvalidity, "last_uid": 0})
    if cursor.uidvalidity != uidvalidity or cursor.last_uid < uid:
        cursor.uidvalidity, cursor.last_uid = uidvalidity, uid
        await cursor.save(update_fields=["uidvalidity", "last_uid", "updated_at"])
    return int(cursor.last_uid)



async def backfill_command(settings: Settings, since: date, *, dry_run: bool,
                           mailboxes: Sequence[str] = ()) -> int:
    """The CLI's `backfill`: import, print the summary; exit 1 when a folder failed."""
    from inboxbot.backfill.summary import format_summary
    from inboxbot.store import close_store, open_store

    today = utc_now().astimezone(settings.organisation.tz).date()
    if since > today:
        raise ConfigError(f"backfill --since {since.isoformat()} is in the future")
    if not dry_run:
        await open_store(settings.db_url)
    try:
        summary = await backfill(settings, since, dry_run=dry_run, mailboxes=mailboxes)
    finally:
        if not dry_run:
            await close_store()
    print(format_summary(summary))
    return 1 if summary.failed else 0
