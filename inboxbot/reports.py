"""Read-only views of the store for the command line: tickets and the suppression list."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date

from inboxbot.clock import now
from inboxbot.config import Settings
from inboxbot.store import close_store, open_store
from inboxbot.store.models import Suppression, Ticket

OPEN_STATES = ("open", "awaiting_identity", "extended")


def days_left(due: date, today: date) -> int:
    return (due - today).days


async def list_tickets(settings: Settings, *, status: str = "open", as_json: bool = False,
                       today: date | None = None) -> int:
    await open_store(settings.db_url)
    try:
        query = Ticket.all()
        if status == "open":
            query = query.filter(status__in=OPEN_STATES)
        elif status != "all":
            query = query.filter(status=status)
        tickets = await query.order_by("due_date", "id")
    finally:
        await close_store()
    today = today or now().astimezone(settings.organisation.tz).date()
    if as_json:
        for t in tickets:
            print(json.dumps({
                "reference": t.reference, "status": t.status, "intents": t.intents,
                "received_at": t.received_at.isoformat(), "due_date": t.due_date.isoformat(),
                "days_left": days_left(t.due_date, today), "due_rule": t.due_rule,
                "needs_review": t.needs_review, "breach": t.breach, "summary": t.summary,
            }, ensure_ascii=False))
        return 0
    if not tickets:
        print("no tickets")
        return 0
    red = "\033[31m" if sys.stdout.isatty() else ""
    reset = "\033[0m" if red else ""
    print(f"{'reference':<18} {'status':<18} {'due':<10} {'left':>5}  intents")
    for t in tickets:
        left = days_left(t.due_date, today)
        flag = " needs review" if t.needs_review else ""
        line = f"{t.reference:<18} {t.status:<18} {t.due_date.isoformat():<10} {left:>5}  {', '.join(t.intents)}{flag}"
        print(f"{red}{line}{reset}" if left < 0 and t.status in OPEN_STATES else line)
    return 0


async def suppress_command(settings: Settings, action: str, address: str | None, fmt: str) -> int:
    await open_store(settings.db_url)
    try:
        if action == "check":
            if not address:
                print("inboxbot suppress check: give an ADDRESS", file=sys.stderr)
                return 2
            from inboxbot.marketing.manage import hash_candidates, normalised

            # By hash: an entry whose address was dropped after an erasure still answers.
            found = await Suppression.filter(
                address_hash__in=hash_candidates(settings, address)
            ).order_by("created_at", "id")
            norm = normalised(settings, address)[0]
            if not found:
                print(f"{norm}: not suppressed")
                return 1
            for row in found:
                kept = "" if row.address else "; address erased, hash kept"
                print(f"{norm}: suppressed since {row.created_at:%Y-%m-%d} (scope {row.scope}, "
                      f"{row.source}{kept})")
            return 0
        rows = await Suppression.all().order_by("created_at", "id")
    finally:
        await close_store()
    if action == "list":
        for r in rows:
            print(f"{r.created_at:%Y-%m-%d %H:%M}  {r.address or '(erased; hash only)':<40} {r.scope:<8} {r.source}")
        return 0
    records = [{"address": r.address or "", "sha256": r.address_hash, "scope": r.scope,
                "source": r.source, "created_at": r.created_at.isoformat()} for r in rows]
    if fmt == "json":
        print(json.dumps(records, ensure_ascii=False, indent=1))
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["address", "sha256", "scope", "source", "created_at"])
        writer.writeheader()
        writer.writerows(records)
        sys.stdout.write(buf.getvalue())
    return 0


async def show_ticket(settings: Settings, reference: str) -> int:
    from inboxbot.lifecycle import find_ticket
    from inboxbot.store.models import ProcessedMessage, TicketEvent

    await open_store(settings.db_url)
    try:
        t = await find_ticket(reference)
        events = await TicketEvent.filter(ticket_id=t.id).order_by("at", "id")
        messages = await ProcessedMessage.filter(ticket_id=t.id).order_by("received_at", "id")
    finally:
        await close_store()
    tz = settings.organisation.tz
    today = now().astimezone(tz).date()
    print(f"{t.reference}  {t.status}{'  (needs review)' if t.needs_review else ''}"
          f"{'  BREACH' if t.breach else ''}")
    print(f"  from:      {t.sender_name} <{t.sender}>" if t.sender else "  from:      (anonymised)")
    print(f"  intents:   {', '.join(t.intents)}")
    print(f"  received:  {t.received_at.astimezone(tz):%Y-%m-%d %H:%M %Z}")
    print(f"  due:       {t.due_date}  ({days_left(t.due_date, today)} days left)")
    print(f"  rule:      {t.due_rule}")
    print(f"  identity:  {'verified' if t.identity_verified else 'not verified'}")
    print(f"  subject:   {t.subject}")
    print(f"  summary:   {t.summary}")
    print("  events:")
    for e in events:
        print(f"    {e.at.astimezone(tz):%Y-%m-%d %H:%M}  {e.actor:<10} {e.kind:<14} {e.detail}")
    print(f"  messages: {len(messages)}")
    for m in messages:
        print(f"    {m.received_at.astimezone(tz):%Y-%m-%d %H:%M}  {m.label:<18} {m.subject[:60]}")
    return 0


async def change_ticket(settings: Settings, reference: str, operation: str, *, actor: str,
                        reason: str) -> int:
    from inboxbot.lifecycle import apply
    from inboxbot.render import ReplyRenderer

    await open_store(settings.db_url)
    try:
        renderer = ReplyRenderer(settings.prompts_dir, settings.organisation)
        ticket = await apply(settings, reference, operation, actor=actor, reason=reason, now=now(),
                             renderer=renderer)
    finally:
        await close_store()
    print(f"{ticket.reference}: {ticket.status}, due {ticket.due_date}")
    return 0


async def purge_command(settings: Settings, *, dry_run: bool) -> int:
    from inboxbot.retention import purge

    await open_store(settings.db_url)
    try:
        items = await purge(settings, now().astimezone(settings.organisation.tz), dry_run=dry_run)
    finally:
        await close_store()
    verb = "would anonymise" if dry_run else "anonymised"
    for item in items:
        print(f"{verb} {item.reference} ({item.status} since {item.closed_at:%Y-%m-%d})")
    print(f"{len(items)} ticket(s) {verb}")
    return 0
