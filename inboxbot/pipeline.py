"""source -> parse -> classify -> decide -> act -> store, for a batch of raw messages.

Two steps, so that the worker can overlap them: `prepare` (parse and classify, in threads, no
database: inboxbot/prepare.py) and `store` (decide, act and record). `store` handles the whole
batch in one database transaction that records every message, its ticket, suppression, outbox
items, dead letters and (for IMAP) the folder cursor, moved once to the batch's last UID. So a
crash at any point leaves the batch wholly done or wholly undone, and a restart redoes only the
undone: the same guarantee as one transaction per message, at one commit per batch instead of
one per message.

A message that makes a stage raise is kept whole as a dead letter and the batch flows on: when a
message fails inside the batch transaction, the batch is rolled back and redone one message per
transaction (the old path), so the poison message alone becomes a dead letter. The same redo
settles an IntegrityError (another worker recorded the same Message-ID first): one by one, that
message comes out a duplicate. Errors that are ours for a moment (database locked, server gone,
the encoder's process down) are raised to the worker, which retries from the cursor: nothing is
skipped.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from inboxbot import clock
from inboxbot.actions import ActContext
from inboxbot.actions.reply import acknowledge, escalate
from inboxbot.actions.suppress import suppress
from inboxbot.actions.ticket import follow_up, open_ticket
from inboxbot.classify import Classifier
from inboxbot.config import Settings
from inboxbot.decide import decide, without_mail
from inboxbot.domain import ActionKind, Decision, Inbound, Intent, RawMessage, Verdict
from inboxbot.errors import TransientError
from inboxbot.guards import ReplyPolicy
from inboxbot.logs import redact_address
from inboxbot.parse import parse
from inboxbot.prepare import ParsedBatch, Ready, classify_parsed, parse_and_read
from inboxbot.render import ReplyRenderer
from inboxbot.store.batch import Batch
from inboxbot.store.history import load_history
from inboxbot.store.models import DeadLetter, MailboxCursor, ProcessedMessage, TicketEvent
from inboxbot.undelivered import is_bounce, record_bounce

log = logging.getLogger(__name__)

# Database errors that mean "not now" rather than "never": the batch is retried, not skipped.
# (sqlite3's own error too: tortoise lets it through untranslated from COMMIT on a busy file.)
TRANSIENT_DB_ERRORS = (OperationalError, DBConnectionError, ConnectionError, TransientError,
                       sqlite3.OperationalError)


def utc_now() -> datetime:
    return clock.now()


@dataclass(frozen=True)
class Outcome:
    """What happened to one message: the line `demo` prints and tests assert on."""

    account: str
    uid: int
    message_id: str
    outcome: str  # ticket, follow_up, suppressed, automated, duplicate, own_mail, dead_letter
    label: str
    intents: tuple[str, ...]
    language: str
    ticket: str | None
    acknowledged: bool
    suppressed: bool
    withheld: str | None


@dataclass(frozen=True)
class Handled:
    """A message's outcome and its log line, emitted once its transaction has committed."""

    outcome: Outcome
    line: tuple[int, str, tuple[object, ...]]

    def emit(self) -> None:
        level, fmt, args = self.line
        log.log(level, fmt, *args)


def reply_policy(settings: Settings) -> ReplyPolicy:
    org = settings.organisation
    own = {org.reply_from.lower(), org.dpo_email.lower(), *(a.lower() for a in org.escalation_emails)}
    own |= {m.username.lower() for m in settings.mailboxes if "@" in m.username}
    r = settings.replies
    return ReplyPolicy(
        enabled=r.enabled,
        own_addresses=frozenset(own),
        max_per_sender_per_day=r.max_per_sender_per_day,
        max_per_domain_per_hour=r.max_per_domain_per_hour,
        max_per_hour=r.max_per_hour,
        trusted_authserv_ids=settings.security.trusted_authserv_ids,
        ack_unauthenticated=settings.security.ack_unauthenticated,
    )


class Processor:
    """Runs batches of raw messages through the whole pipeline."""

    def __init__(
        self,
        settings: Settings,
        classifier: Classifier,
        renderer: ReplyRenderer | None = None,
        clock: Callable[[], datetime] = utc_now,
        *,
        quiet: bool = False,
    ) -> None:
        """`quiet`: a history import. Tickets, suppressions and records as usual, but no
        acknowledgement and no escalation is queued (see decide.without_mail)."""
        self.settings = settings
        self.quiet = quiet
        self.classifier = classifier
        self.renderer = renderer or ReplyRenderer(settings.prompts_dir, settings.organisation)
        self.policy = reply_policy(settings)
        self.clock = clock
        self.offered = frozenset(Intent(r) for r in settings.organisation.rights)
        self.handles = {m.name: frozenset(Intent(i) for i in m.intents) for m in settings.mailboxes}

    async def process(self, raws: Sequence[RawMessage], *, track_cursor: bool) -> list[Outcome]:
        """Handle `raws` in order: prepare, then store. With `track_cursor`, the transaction
        that records them also moves the (account, folder) cursor to the last UID."""
        return await self.store(await self.prepare(raws), track_cursor=track_cursor)

    async def prepare(self, raws: Sequence[RawMessage]) -> list[Ready]:
        """Parse and classify `raws` in a worker thread (CPU work; the model releases the GIL).
        Touches no database, so the worker runs it for one batch while storing the previous."""
        return await asyncio.to_thread(self._prepare_sync, list(raws))

    async def parse(self, raws: Sequence[RawMessage]) -> ParsedBatch:
        """The first half of `prepare`, in a thread of its own: the worker parses the next
        batch, and the classifier's rules read it, while this one is classified, so that the
        model's thread runs only the model."""
        return await asyncio.to_thread(parse_and_read, list(raws), self.classifier)

    async def classify(self, raws: Sequence[RawMessage], parsed: ParsedBatch) -> list[Ready]:
        """The second half of `prepare`, for what `parse` returned for the same `raws`."""
        return await asyncio.to_thread(self._classify_parsed, list(raws), parsed)

    def _prepare_sync(self, raws: list[RawMessage]) -> list[Ready]:
        return self._classify_parsed(raws, parse_and_read(raws, self.classifier))

    def _classify_parsed(self, raws: list[RawMessage], parsed: ParsedBatch) -> list[Ready]:
        return classify_parsed(self.classifier, self.settings.suppression.list_unsubscribe_addresses,
                               raws, parsed)

    async def store(self, batch: Sequence[Ready], *, track_cursor: bool) -> list[Outcome]:
        """Decide, act and record a prepared batch: in one transaction, or, if a message fails
        inside it, one message per transaction so that only that message is set aside."""
        if len(batch) > 1:
            try:
                return await self._store_together(batch, track_cursor)
            except IntegrityError:
                # Another worker recorded one of these Message-IDs first (IntegrityError is an
                # OperationalError to tortoise, so before the transient check).
                log.info("batch of %d met a concurrent insert; redoing one by one", len(batch))
            except TRANSIENT_DB_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - the one-by-one redo finds the poison
                log.info("batch of %d rolled back (%s); redoing one by one", len(batch),
                         type(exc).__name__)
        return [await self._store_alone(r, track_cursor) for r in batch]

    async def _store_together(self, batch: Sequence[Ready], track_cursor: bool) -> list[Outcome]:
        done: list[Handled] = []
        async with in_transaction() as conn:
            known = await self._batch(conn, [r.msg for r in batch if r.error is None and r.msg])
            for r in batch:
                if r.error is not None:
                    done.append(await self._dead_letter_in(conn, r.raw, r.failed, r.error))
                else:
                    assert r.msg is not None and r.verdict is not None
                    done.append(await self._handle_in(known, r.raw, r.msg, r.verdict))
            await known.flush()
            if track_cursor:
                for raw in _last_per_folder(r.raw for r in batch):
                    await self._advance(raw, conn)
        for h in done:  # only now: a batch rolled back and redone must not log twice
            h.emit()
        return [h.outcome for h in done]

    async def _store_alone(self, r: Ready, track_cursor: bool) -> Outcome:
        """One message in its own transaction (the fallback, and the path of a single message)."""
        if r.error is not None:
            return await self._store_one(r, track_cursor)
        try:
            try:
                return await self._store_one(r, track_cursor)
            except IntegrityError:
                # Another worker committed the same Message-ID (privacy@ and dpo@ at once)
                # between our check and our insert: run again, and it is a duplicate.
                return await self._store_one(r, track_cursor)
        except TRANSIENT_DB_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - a poison message must not stop the rest
            log.exception("message uid=%s in %s could not be handled; kept as dead letter",
                          r.raw.uid, r.raw.account)
            return await self._store_one(Ready(r.raw, r.msg, failed="act", error=exc), track_cursor)

    async def _store_one(self, r: Ready, track_cursor: bool) -> Outcome:
        """`r` alone, in its own transaction: the batch path with a batch of one."""
        [outcome] = await self._store_together([r], track_cursor)
        return outcome

    async def replay(self, raw: RawMessage) -> Outcome:
        """Run one stored message through every stage again (`deadletters retry`). Unlike
        process(), a failure raises instead of making a new dead letter; a message already
        recorded comes back as a `duplicate` with no effects, so replaying twice is harmless."""
        msg = parse(raw.raw, received_at=raw.internaldate)
        [verdict] = await asyncio.to_thread(self.classifier.classify, [msg])
        ready = Ready(raw, msg, verdict)
        try:
            return await self._store_one(ready, track_cursor=False)
        except IntegrityError:
            return await self._store_one(ready, track_cursor=False)

    async def _advance(self, raw: RawMessage, conn: Any) -> None:
        cursor, _ = await MailboxCursor.get_or_create(
            account=raw.account, folder=raw.folder, using_db=conn,
            defaults={"uidvalidity": raw.uidvalidity, "last_uid": 0},
        )
        if raw.uid > cursor.last_uid or cursor.uidvalidity != raw.uidvalidity:
            cursor.uidvalidity = raw.uidvalidity
            cursor.last_uid = raw.uid
            await cursor.save(using_db=conn, update_fields=["uidvalidity", "last_uid", "updated_at"])

    async def _batch(self, conn: Any, messages: Sequence[Inbound]) -> Batch:
        """What the store knows about `messages`, loaded at one instant: the batch's `now`."""
        batch = Batch(conn, self.clock(), window_days=self.settings.retention.duplicate_window_days)
        await batch.load(messages)
        return batch

    async def _handle_in(self, batch: Batch, raw: RawMessage, msg: Inbound, verdict: Verdict) -> Handled:
        """Everything one message does to the store, inside the batch's open transaction."""
        org = self.settings.organisation
        requested = frozenset(s.intent.value for s in verdict.intents if not verdict.automated)
        history = await load_history(msg, batch, prefix=org.reference_prefix, intents=requested)
        decision = decide(msg, verdict, history, self.policy, offered=self.offered,
                          handles=self.handles.get(raw.account, frozenset()))
        if self.quiet:
            decision = without_mail(decision, "imported from the mailbox's history")
        # Mail left for a shared mailbox's own team is none of our business: keep no text.
        keep_text = decision.outcome != "not_ours"
        ctx = ActContext(self.settings, self.renderer, batch, raw, msg, verdict)
        if decision.outcome != "duplicate":
            await self._act(ctx, decision, history.thread_ticket or history.earlier_request)
            if decision.outcome == "automated" and is_bounce(msg, verdict):
                # Never answered (decided above); recorded on the ticket it reports on.
                await batch.flush()  # it looks for our outbox item in the store
                bounced = await record_bounce(self.settings, self.renderer, raw.raw, batch.conn, batch.now,
                                              msg.message_id)
                ctx.ticket = ctx.ticket or bounced
            await self._flag(ctx, decision)
            batch.recorded(msg.message_id)
            await ctx.write(ProcessedMessage(
                message_id=msg.message_id,
                account=raw.account, folder=raw.folder,
                uidvalidity=raw.uidvalidity, uid=raw.uid,
                received_at=msg.received_at,
                sender=msg.sender.addr.lower() if msg.sender and keep_text else "",
                subject=msg.subject[:500] if keep_text else "",
                body=msg.body if keep_text else "",
                language=verdict.language,
                label=str(verdict.label),
                intents=[{"intent": str(s.intent), "confidence": round(s.confidence, 3)}
                         for s in verdict.intents],
                confidence=verdict.confidence,
                automated=verdict.automated,
                needs_review=verdict.needs_review or bool(decision.flags),
                outcome=decision.outcome,
                reasons=list(verdict.reasons) + [f"{a.kind}: {a.reason}" for a in decision.actions]
                + [f"review: {f.kind}: {f.detail}" for f in decision.flags],
                ack_withheld=(decision.withheld_ack_reason or "")[:200],
                ticket=ctx.ticket,
                defects=list(msg.defects),
            ))
        outcome = Outcome(
            raw.account, raw.uid, msg.message_id, decision.outcome, str(verdict.label),
            tuple(str(s.intent) for s in verdict.intents), verdict.language,
            ctx.ticket.reference if ctx.ticket else None, ctx.ack_sent, ctx.suppressed,
            decision.withheld_ack_reason,
        )
        line = (logging.INFO, "%s uid=%s from %s: %s (%s, %.2f)%s", (
            raw.account, raw.uid, redact_address(msg.sender.addr) if msg.sender else "-",
            decision.outcome, verdict.label, verdict.confidence,
            f" ticket {ctx.ticket.reference}" if ctx.ticket else ""))
        return Handled(outcome, line)

    async def _act(self, ctx: ActContext, decision: Decision, thread: object) -> None:
        # Order matters: the ticket first (the acknowledgement quotes its reference), then
        # suppression (the acknowledgement says it was done), escalation, acknowledgement.
        for action in decision.actions:
            if action.kind == ActionKind.OPEN_TICKET:
                await open_ticket(ctx, action)
            elif action.kind == ActionKind.FOLLOW_UP:
                await follow_up(ctx, action, thread)  # type: ignore[arg-type]
        for action in decision.actions:
            if action.kind == ActionKind.SUPPRESS:
                await suppress(ctx, action)
        for action in decision.actions:
            if action.kind == ActionKind.ESCALATE:
                await escalate(ctx, action)
        for action in decision.actions:
            if action.kind == ActionKind.ACKNOWLEDGE:
                await acknowledge(ctx, action)

    async def _flag(self, ctx: ActContext, decision: Decision) -> None:
        """Put each review flag on the ticket's record, and the ticket on the review list."""
        ticket = ctx.ticket
        if ticket is None or not decision.flags:
            return
        for flag in decision.flags:
            await ctx.write(TicketEvent(at=ctx.now, ticket=ticket, kind=flag.kind,
                                        detail=flag.detail[:1000]))
        if not ticket.needs_review:
            ticket.needs_review = True
            await ticket.save(using_db=ctx.conn, update_fields=["needs_review", "updated_at"])

    async def _dead_letter_in(self, conn: Any, raw: RawMessage, stage: str,
                              exc: BaseException) -> Handled:
        # The error text is ours (type and message), never the message content.
        error = f"{type(exc).__name__}: {str(exc)[:500]}"
        await DeadLetter.create(
            using_db=conn, account=raw.account, folder=raw.folder, uidvalidity=raw.uidvalidity,
            uid=raw.uid, raw_bytes=raw.raw, internaldate=raw.internaldate, stage=stage, error=error,
        )
        outcome = Outcome(raw.account, raw.uid, "", "dead_letter", "", (), "und", None, False, False,
                          f"{stage} failed")
        return Handled(outcome, (logging.WARNING, "dead letter: %s uid=%s stage=%s: %s",
                                 (raw.account, raw.uid, stage, type(exc).__name__)))


def _last_per_folder(raws: Iterable[RawMessage]) -> list[RawMessage]:
    """The message with the highest UID of each (account, folder): where its cursor goes."""
    last: dict[tuple[str, str], RawMessage] = {}
    for raw in raws:
        key = (raw.account, raw.folder)
        if key not in last or raw.uid > last[key].uid:
            last[key] = raw
    return list(last.values())
