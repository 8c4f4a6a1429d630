"""Gather the digest's figures from the store (see data.py for what each one means)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from inboxbot.config import Settings
from inboxbot.digest.data import (
    Count,
    DeadLetterLine,
    DigestData,
    MailboxHealth,
    Period,
    ReviewLine,
    TicketLine,
    Trend,
    WeekVolume,
)
from inboxbot.digest.schedule import digest_tz, last_slot, weeks_before
from inboxbot.lifecycle import OPEN_STATES
from inboxbot.store.models import (
    DeadLetter,
    MailboxCursor,
    OutboxItem,
    ProcessedMessage,
    Suppression,
    Ticket,
)

TREND_WEEKS = 4  # the period is compared with this many weeks before it
STALE_AFTER = timedelta(hours=1)  # a mailbox not reached for longer is flagged
BREACH_HOURS = 72  # Art. 33(1): notify the authority within 72 hours of becoming aware
MAX_LINES = 25  # needs-review lines shown; the digest is read at a glance, the CLI has the rest

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


def utc(moment: datetime) -> datetime:
    """Query parameters go in as UTC: tortoise on SQLite compares stored UTC text with the
    parameter's text, so a +01:00 parameter would shift every boundary by an hour."""
    return moment.astimezone(timezone.utc)


def one_line(text: str, limit: int = 100) -> str:
    """Text from mail or from an error, fit for one line: no control characters, bounded."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# Reasons recorded by guards.may_autoreply and decide.decide, folded into families a DPO can
# read. The first matching prefix wins.
_WITHHELD_FAMILIES = (
    ("automated mail", "automated"),
    ("machine sender address", "automated"),
    ("daily cap", "rate_cap"),
    ("hourly cap", "rate_cap"),
    ("thread already acknowledged", "thread"),
    ("follow-up in an acknowledged thread", "thread"),
    ("our own mail", "own_mail"),
    ("sender is one of our own addresses", "own_mail"),
    ("no usable sender address", "no_sender"),
    ("replies disabled", "disabled"),
)


def withheld_family(reason: str) -> str:
    for prefix, family in _WITHHELD_FAMILIES:
        if reason.startswith(prefix):
            return family
    return "other"


def _counts(counter: Counter[str]) -> tuple[Count, ...]:
    return tuple(Count(k, n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _ticket_line(t: Ticket, today: date, tz: ZoneInfo) -> TicketLine:
    received = t.received_at.astimezone(tz)
    return TicketLine(
        reference=t.reference or f"#{t.id}", status=t.status, intents=tuple(t.intents),
        summary=one_line(t.summary or t.subject, 140), received=received.date(), due=t.due_date,
        days_left=(t.due_date - today).days, breach=t.breach, needs_review=t.needs_review,
        breach_deadline=received + timedelta(hours=BREACH_HOURS) if t.breach else None,
    )


def _trends(weeks: list[Counter[str]]) -> tuple[Trend, ...]:
    names = set().union(*weeks)
    trends = (Trend(n, weeks[-1][n], tuple(w[n] for w in weeks[:-1])) for n in names)
    return tuple(sorted(trends, key=lambda t: (-t.this_week, -t.average_before, t.name)))


async def _volume(period: Period) -> tuple[tuple[WeekVolume, ...], tuple[Trend, ...], tuple[Trend, ...]]:
    """Messages received per week, the period and the TREND_WEEKS before it, by main intent
    and by language. Every message counts once, under its main intent (the label)."""
    periods = [Period(weeks_before(period.start, k), weeks_before(period.end, k))
               for k in range(TREND_WEEKS, -1, -1)]  # oldest first
    rows = await ProcessedMessage.filter(
        received_at__gte=utc(periods[0].start), received_at__lt=utc(period.end)
    ).values_list("received_at", "label", "language", "automated")
    people = [0] * len(periods)
    automated = [0] * len(periods)
    labels: list[Counter[str]] = [Counter() for _ in periods]
    languages: list[Counter[str]] = [Counter() for _ in periods]
    for received_at, label, language, is_automated in rows:
        week = max(i for i, p in enumerate(periods) if received_at >= p.start)  # aware: compares instants
        (automated if is_automated else people)[week] += 1
        labels[week][label] += 1
        languages[week][language or "und"] += 1
    volume = tuple(
        WeekVolume(p.start.date(), p.iso_week, people[i], automated[i], i == len(periods) - 1)
        for i, p in enumerate(periods)
    )
    return volume, _trends(labels), _trends(languages)


async def _mailboxes(settings: Settings, now: datetime, tz: ZoneInfo) -> tuple[MailboxHealth, ...]:
    cursors = {(c.account, c.folder): c for c in await MailboxCursor.all().order_by("account", "folder")}
    # A configured IMAP folder that was never reached has no cursor: that is news too.
    for mb in settings.mailboxes:
        if mb.kind == "imap":
            for folder in mb.folders:
                cursors.setdefault((mb.name, folder), MailboxCursor(account=mb.name, folder=folder))
    health = []
    for (account, folder), c in sorted(cursors.items()):
        last = c.last_success_at
        health.append(MailboxHealth(
            account=account, folder=folder, last_success=last.astimezone(tz) if last else None,
            error=one_line(c.last_error or "", 160),
            stale=last is None or now - last > STALE_AFTER,
        ))
    return tuple(health)


async def collect(settings: Settings, now: datetime, *, period_end: datetime | None = None) -> DigestData:
    """Gather the digest from the store. The period ends at `period_end`, by default the latest
    scheduled slot at or before `now`; state figures are taken at `now`."""
    tz = digest_tz(settings)
    end = (period_end or last_slot(settings, now)).astimezone(tz)
    period = Period(weeks_before(end, 1), end)
    today = now.astimezone(tz).date()
    volume, intents, languages = await _volume(period)

    open_rows = await Ticket.filter(status__in=tuple(OPEN_STATES)).order_by("due_date", "id")
    open_tickets = tuple(_ticket_line(t, today, tz) for t in open_rows)
    start, end_utc = utc(period.start), utc(period.end)
    recent = await Ticket.filter(received_at__gte=start, received_at__lt=end_utc,
                                 status__not_in=tuple(OPEN_STATES)).order_by("received_at", "id")
    noteworthy = sorted([*open_tickets, *(_ticket_line(t, today, tz) for t in recent)],
                        key=lambda t: (t.received, t.reference))

    scopes: Counter[str] = Counter(str(s) for s in await Suppression.filter(
        created_at__gte=start, created_at__lt=end_utc).values_list("scope", flat=True))

    in_period = ProcessedMessage.filter(received_at__gte=start, received_at__lt=end_utc)
    review_rows = await in_period.filter(needs_review=True).order_by("received_at", "id") \
        .prefetch_related("ticket")
    review = tuple(
        ReviewLine(m.received_at.astimezone(tz), (m.ticket.reference or "") if m.ticket else "",
                   m.label, m.confidence, one_line(m.subject, 90))
        for m in review_rows[:MAX_LINES]
    )
    withheld = Counter(withheld_family(str(r)) for r in await in_period.exclude(ack_withheld="")
                       .values_list("ack_withheld", flat=True))

    dead = DeadLetter.filter(status="new")
    dead_rows = await dead.order_by("-created_at", "-id").limit(5)
    return DigestData(
        organisation=settings.organisation.name,
        generated_at=now.astimezone(tz),
        period=period,
        volume=volume,
        intents=intents,
        languages=languages,
        open_tickets=open_tickets,
        complaints=tuple(t for t in noteworthy if "complaint" in t.intents),
        breaches=tuple(t for t in noteworthy if t.breach),
        suppressions_added=_counts(scopes),
        needs_review=review,
        needs_review_total=len(review_rows),
        mailboxes=await _mailboxes(settings, now, tz),
        dead_letters=await dead.count(),
        dead_letter_lines=tuple(
            DeadLetterLine(d.created_at.astimezone(tz), d.account, d.stage, one_line(d.error, 120))
            for d in dead_rows
        ),
        outbox_failed=await OutboxItem.filter(status="failed").count(),
        outbox_retrying=await OutboxItem.filter(status__in=("pending", "sending"), attempts__gt=0).count(),
        acks_sent=await OutboxItem.filter(purpose="ack", status="sent", sent_at__gte=start,
                                          sent_at__lt=end_utc).count(),
        acks_withheld=_counts(withheld),
    )
