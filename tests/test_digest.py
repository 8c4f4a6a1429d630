"""The weekly DPO digest: figures from a seeded store on a frozen clock, the rendered text and
HTML, the email as an SMTP server receives it, a Chromium screenshot, and the schedule.

The seeded week (Europe/Stockholm, digest on Mondays 08:00): the period is Mon 9 Nov 2026 08:00
to Mon 16 Nov 2026 08:00; the four weeks before start on 12 Oct. Summer time ends on 25 Oct, so
one of them is 169 hours long. Every number asserted below is worked out by hand from SEED_*.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from inboxbot.cli import main
from inboxbot.config import (
    DigestSettings,
    MailboxSettings,
    Organisation,
    Settings,
    TransportSettings,
    settings_from_dict,
)
from inboxbot.digest import DigestRenderer, collect, is_due, last_slot, queue_digest, render, week_key
from inboxbot.digest.collect import withheld_family
from inboxbot.errors import ConfigError
from inboxbot.outbox import deliver_due
from inboxbot.store import close_store, open_store
from inboxbot.store.models import (
    DeadLetter,
    DigestRun,
    MailboxCursor,
    OutboxItem,
    ProcessedMessage,
    Suppression,
    Ticket,
)
from inboxbot.pipeline import Processor
from inboxbot.transport import make_transport
from inboxbot.worker import Worker
from rig import RecordingSMTP

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 16, 8, 30, tzinfo=TZ)  # Monday, half an hour after the slot
XSS = "<script>alert(1)</script> Frage zu meinen Daten"


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


# (received, label, language, automated, needs_review, ack_withheld, subject)
SEED_MESSAGES = [
    (at(10, 12, 7), "access", "sv", False, False, "", "before the five weeks"),
    (at(10, 13), "access", "sv", False, False, "", "w42"),
    (at(10, 15), "general", "en", False, False, "", "w42"),
    (at(10, 20), "erasure", "sv", False, False, "", "w43"),
    (at(10, 22), "unsubscribe", "sv", False, True, "", "w43, unsure, but not this week"),
    (at(10, 26, 7, 59), "auto_reply", "und", True, False, "automated mail: auto-submitted", "w43"),
    (at(10, 28), "access", "en", False, False, "", "w44"),
    (at(11, 3), "complaint", "sv", False, False, "", "w45"),
    (at(11, 5), "access", "sv", False, False, "", "w45"),
    # The digest's own period: 7 messages.
    (at(11, 9, 8, 0), "access", "sv", False, False, "", "first minute of the period"),
    (at(11, 10), "access", "sv", False, False, "", "w46"),
    (at(11, 11), "erasure", "en", False, False, "follow-up in an acknowledged thread", "w46"),
    (at(11, 12, 14), "complaint", "sv", False, False, "", "w46"),
    (at(11, 13, 11), "general", "de", False, True, "", XSS),
    (at(11, 14, 3), "auto_reply", "und", True, False, "automated mail: Auto-Submitted: auto-replied", "ooo"),
    (at(11, 15, 12), "unsubscribe", "en", False, False, "daily cap of 3 replies to this sender reached", "w46"),
    (at(11, 16, 8, 0), "access", "sv", False, False, "", "first minute of the next period"),
]

# (n, intent, status, received, due, breach, needs_review, summary)
SEED_TICKETS = [
    (1, "access", "open", at(10, 13), date(2026, 11, 10), False, False, "Vill ha en kopia av sina uppgifter"),
    (2, "erasure", "open", at(10, 20), date(2026, 11, 18), False, False, "Radera mitt konto"),
    (3, "complaint", "open", at(11, 3), date(2026, 11, 23), False, False, "Missnöjd med nyhetsbrev"),
    (4, "access", "extended", at(10, 28), date(2027, 1, 11), False, False, "Stort utdrag, många system"),
    (5, "portability", "awaiting_identity", at(11, 10), date(2026, 12, 10), False, False, "Flytta data"),
    (6, "general", "open", at(11, 14, 9, 15), date(2026, 11, 24), True, False, "Fick någon annans faktura"),
    (7, "complaint", "closed", at(11, 12, 14), date(2026, 11, 26), False, False, "Klagomål, redan löst"),
    (8, "erasure", "closed", at(10, 1), date(2026, 11, 2), False, False, "Gammalt ärende"),
    (9, "general", "open", at(11, 13, 11), date(2026, 11, 27), False, True, "Fråga om <b>cookies</b> & spårning"),
]


def make_settings(tmp: Path, **digest: object) -> Settings:
    return Settings(
        organisation=Organisation(name="Exempel AB", domain="example.com", reply_from="privacy@example.com",
                                  dpo_email="dpo@example.com", reference_prefix="PRIV"),
        mailboxes=tuple(MailboxSettings(name=n, username=f"{n}@example.com") for n in ("archive", "dpo", "privacy")),
        transport=TransportSettings(kind="folder", path=tmp / "sent"),
        digest=DigestSettings(**digest),  # type: ignore[arg-type]
        state_dir=tmp / "state",
    )


async def seed() -> None:
    tickets = {}
    for n, intent, status, received, due, breach, review, summary in SEED_TICKETS:
        tickets[n] = await Ticket.create(
            reference=f"PRIV-2026-{n:06d}", sender=f"person{n}@example.se", intents=[intent], status=status,
            received_at=received, due_date=due, summary=summary, breach=breach, needs_review=review,
            subject="Ärende", language="sv")
    for i, (received, label, lang, automated, review, withheld, subject) in enumerate(SEED_MESSAGES):
        await ProcessedMessage.create(
            message_id=f"<m{i}@example.se>", account="privacy", folder="INBOX", received_at=received,
            sender=f"s{i}@example.se", subject=subject, body="Full private body text " * 20,
            language=lang, label=label, intents=[{"intent": label, "confidence": 0.4}], confidence=0.41,
            automated=automated, needs_review=review, outcome="ticket", ack_withheld=withheld,
            ticket=tickets[9] if subject == XSS else None)
    for created, scope in ((at(11, 5), "all"), (at(11, 10), "all"), (at(11, 11), "newsletter"),
                           (at(11, 15), "all"), (at(11, 16, 9), "all")):
        await Suppression.create(address_hash=f"h{created.isoformat()}", address=None, scope=scope,
                                 source="test", created_at=created)
    await MailboxCursor.create(account="privacy", folder="INBOX", last_success_at=NOW - timedelta(minutes=10))
    await MailboxCursor.create(account="dpo", folder="INBOX", last_success_at=at(11, 14, 3, 10),
                               last_error="LOGIN failed:\r\n <b>auth</b>")
    for status in ("new", "new", "replayed"):
        await DeadLetter.create(account="privacy", folder="INBOX", raw_bytes=b"x", stage="parse",
                                error="ValueError: bad header", status=status, created_at=at(11, 14, 3))
    outbox = [  # (purpose, status, sent_at, attempts)
        ("ack", "sent", at(11, 9, 9), 1), ("ack", "sent", at(11, 12), 1), ("ack", "sent", at(11, 15, 23), 1),
        ("ack", "sent", at(11, 6), 1), ("ack", "pending", None, 0), ("ack", "pending", None, 1),
        ("escalation", "sent", at(11, 12), 1), ("ack", "failed", None, 12),
    ]
    for i, (purpose, status, sent_at, attempts) in enumerate(outbox):
        await OutboxItem.create(dedupe_key=f"seed:{i}", purpose=purpose, recipient="x@example.se",
                                message_id=f"<o{i}@example.com>", payload="", status=status, attempts=attempts,
                                next_attempt_at=NOW + timedelta(days=1), created_at=at(11, 1), sent_at=sent_at)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Settings]:
    settings = make_settings(tmp_path)
    await open_store(settings.db_url)
    await seed()
    try:
        yield settings
    finally:
        await close_store()


# -- figures -------------------------------------------------------------------------------------


async def test_collect_counts_the_period_and_the_state(store: Settings) -> None:
    d = await collect(store, NOW)
    assert (d.period.start, d.period.end) == (at(11, 9, 8), at(11, 16, 8))
    assert d.period.iso_week == 46
    assert [(w.start, w.iso_week, w.people, w.automated) for w in d.volume] == [
        (date(2026, 10, 12), 42, 2, 0), (date(2026, 10, 19), 43, 2, 1), (date(2026, 10, 26), 44, 1, 0),
        (date(2026, 11, 2), 45, 2, 0), (date(2026, 11, 9), 46, 6, 1)]
    assert d.this_week.total == 7 and d.average_before == 2.0
    assert [(t.name, t.this_week, t.previous, t.direction) for t in d.intents] == [
        ("access", 2, (1, 0, 1, 1), "up"), ("auto_reply", 1, (0, 1, 0, 0), "up"),
        ("complaint", 1, (0, 0, 0, 1), "up"), ("erasure", 1, (0, 1, 0, 0), "up"),
        ("general", 1, (1, 0, 0, 0), "up"), ("unsubscribe", 1, (0, 1, 0, 0), "up")]
    assert [(t.name, t.this_week, t.average_before) for t in d.languages] == [
        ("sv", 3, 1.25), ("en", 2, 0.5), ("und", 1, 0.25), ("de", 1, 0.0)]

    assert [(t.reference[-1], t.days_left, t.urgency) for t in d.open_tickets] == [
        ("1", -6, "overdue"), ("2", 2, "soon"), ("3", 7, "soon"), ("6", 8, "later"), ("9", 11, "later"),
        ("5", 24, "later"), ("4", 56, "later")]
    assert [t.reference for t in d.overdue] == ["PRIV-2026-000001"]
    assert [t.reference for t in d.due_soon] == ["PRIV-2026-000002", "PRIV-2026-000003"]
    assert [t.reference for t in d.extended] == ["PRIV-2026-000004"]
    assert [t.reference for t in d.awaiting_identity] == ["PRIV-2026-000005"]
    assert [(t.reference, t.status) for t in d.complaints] == [
        ("PRIV-2026-000003", "open"), ("PRIV-2026-000007", "closed")]
    assert [(t.reference, t.breach_deadline) for t in d.breaches] == [("PRIV-2026-000006", at(11, 17, 9, 15))]

    assert [(c.name, c.count) for c in d.suppressions_added] == [("all", 2), ("newsletter", 1)]
    assert d.suppressions_total == 3
    assert [(r.reference, r.label, r.subject) for r in d.needs_review] == [("PRIV-2026-000009", "general", XSS)]
    assert d.needs_review_total == 1
    assert [(m.account, m.stale, m.ok, m.last_success is None) for m in d.mailboxes] == [
        ("archive", True, False, True), ("dpo", True, False, False), ("privacy", False, True, False)]
    assert d.mailboxes[1].error == "LOGIN failed: <b>auth</b>"  # one line
    assert d.mailbox_problems == 2
    assert d.dead_letters == 2 and len(d.dead_letter_lines) == 2
    assert (d.outbox_failed, d.outbox_retrying, d.acks_sent) == (1, 1, 3)
    assert [(c.name, c.count) for c in d.acks_withheld] == [("automated", 1), ("rate_cap", 1), ("thread", 1)]


def test_withheld_reasons_fold_into_families() -> None:
    assert withheld_family("automated mail: Precedence: bulk") == "automated"
    assert withheld_family("machine sender address (noreply@...)") == "automated"
    assert withheld_family("hourly cap of 20 replies to this domain reached") == "rate_cap"
    assert withheld_family("something new") == "other"


# -- rendering -----------------------------------------------------------------------------------


def _section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n\n", start)
    return text[start:end if end > 0 else None]


async def test_english_text_carries_the_numbers(store: Settings) -> None:
    out = render(await collect(store, NOW), DigestRenderer(store.prompts_dir), "en")
    assert out.language == "en"
    assert out.subject == "Privacy inbox, week 46: 7 new, 1 OVERDUE, 2 due within 7 days, mailbox problem"
    text = out.text
    glance = _section(text, "AT A GLANCE")
    assert "New messages                7   (average of the 4 weeks before: 2; automated: 1)" in glance
    assert "Open tickets                7" in glance and "Overdue                     1   <-- act now" in glance
    assert "Due within 7 days           2" in glance and "Dead letters                2" in glance
    action = _section(text, "NEEDS ACTION")
    assert "!! PRIV-2026-000001  6 days overdue (due 10 Nov), open, access" in action
    assert " > PRIV-2026-000002  2 days left (due 18 Nov)" in action
    assert " > PRIV-2026-000003  7 days left (due 23 Nov)" in action
    assert "000006" not in action  # 8 days left: not within seven
    assert re.search(r"\n  access +2 +0\.8 ↑\n", _section(text, "BY INTENT") + "\n")  # 3/4 weeks
    assert re.search(r"\n  automated mail +1 +0\.3 ↑\n", _section(text, "BY INTENT") + "\n")  # half up
    assert re.search(r"\n  Swedish +3 +1\.3 ↑\n", _section(text, "BY LANGUAGE") + "\n")
    chart = _section(text, "MESSAGES PER WEEK")
    assert "week 46     7  " in chart and "<- this week" in chart
    assert chart.count("\n  week ") == 5
    open_list = _section(text, "OPEN TICKETS BY DUE DATE")
    refs = [line.split()[0] for line in open_list.splitlines()[1:] if line.startswith("  PRIV")]
    assert refs == [f"PRIV-2026-00000{n}" for n in (1, 2, 3, 6, 9, 5, 4)]
    assert "72-hour deadline for the authority: 17 Nov 09:15" in text
    assert "SUPPRESSION LIST: 3 address(es) added" in text
    assert "NEEDS REVIEW (the classifier was unsure): 1" in text
    assert "dpo/INBOX: last fetched 14 Nov 03:10  <-- NOT REACHED FOR OVER AN HOUR" in text
    assert "archive/INBOX: never reached" in text
    assert "Sent: 3" in text and "Withheld: 3 (automated mail: 1, rate cap reached: 1, thread already answered: 1)" in text
    assert "Full private body text" not in text  # summaries only, never bodies


async def test_swedish_is_the_default_and_says_the_same(store: Settings) -> None:
    out = render(await collect(store, NOW), DigestRenderer(store.prompts_dir), "sv")
    assert out.language == "sv"
    assert out.subject.startswith("Integritetsinkorgen vecka 46: 7 nya, 1 FÖRSENAT")
    assert "PRIV-2026-000001  6 dagar försenat (senast 10 nov)" in out.text
    assert re.search(r"\n  registerutdrag +2 +0,8 ↑\n", out.text)
    assert re.search(r"\n  svenska +3 +1,3 ↑\n", out.text)
    assert 'lang="sv"' in out.html and "Vecka 46" in out.html


class _Markup(HTMLParser):
    """The tags and attributes of a page, without its words."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, [(k, v) for k, v in attrs if k != "lang"]))


async def test_html_is_the_same_page_in_both_languages(store: Settings) -> None:
    data = await collect(store, NOW)
    pages = []
    for lang in ("sv", "en"):
        parser = _Markup()
        parser.feed(render(data, DigestRenderer(store.prompts_dir), lang).html)
        pages.append(parser.tags)
    assert pages[0] == pages[1]  # a translation changes words, never the layout or highlights


async def test_html_escapes_everything_from_mail(store: Settings) -> None:
    for lang in ("sv", "en"):
        html = render(await collect(store, NOW), DigestRenderer(store.prompts_dir), lang).html
        # Overdue in red: the action row, the open-ticket row, and the breach report.
        assert html.count("border-left:4px solid #d92d20") == 3
        assert "<script" not in html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Frage zu meinen Daten" in html
        assert "Fråga om &lt;b&gt;cookies&lt;/b&gt; &amp; spårning" in html
        assert "LOGIN failed: &lt;b&gt;auth&lt;/b&gt;" in html
        assert "<img" not in html and "http://" not in html and "https://" not in html
        assert "<style" not in html  # inline styles only: mail clients drop style blocks
        assert "Full private body text" not in html


async def test_empty_store_renders_in_both_languages(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    await open_store(settings.db_url)
    try:
        data = await collect(settings, NOW)
    finally:
        await close_store()
    assert data.this_week.total == 0 and data.average_before == 0 and not data.open_tickets
    for lang in ("sv", "en"):
        out = render(data, DigestRenderer(settings.prompts_dir), lang)
        assert out.subject and "PRIV-" not in out.text and "</html>" in out.html


# -- schedule ------------------------------------------------------------------------------------


def test_slots_and_week_keys(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    assert last_slot(s, NOW) == at(11, 16, 8)
    assert last_slot(s, at(11, 16, 7, 59)) == at(11, 9, 8)  # Monday, before the time
    assert last_slot(s, at(11, 18)) == at(11, 16, 8)  # Wednesday
    assert week_key(at(11, 16, 8)) == "2026-W47"
    assert week_key(datetime(2027, 1, 4, 8, tzinfo=TZ)) == "2027-W01" > "2026-W53"
    friday = make_settings(tmp_path, weekday="friday", time="16:30", timezone="UTC")
    assert last_slot(friday, NOW) == datetime(2026, 11, 13, 16, 30, tzinfo=timezone.utc)
    # Across the end of summer time the slot stays at 08:00 local.
    assert last_slot(s, at(10, 26, 9)).utcoffset() == timedelta(hours=1)
    assert last_slot(s, at(10, 25, 9)) == datetime(2026, 10, 19, 8, tzinfo=TZ)
    assert last_slot(s, at(10, 25, 9)).utcoffset() == timedelta(hours=2)
    assert is_due(s, NOW, None) and is_due(s, NOW, "2026-W46") and not is_due(s, NOW, "2026-W47")
    assert not is_due(make_settings(tmp_path, enabled=False), NOW, "2026-W40")


def test_digest_config_is_parsed_and_checked() -> None:
    s = settings_from_dict({"digest": {"weekday": "tuesday", "time": "07:15", "recipients": ["a@example.com"],
                                       "language": "en", "timezone": "UTC"}})
    assert s.digest == DigestSettings(True, "tuesday", "07:15", "UTC", ("a@example.com",), "en")
    assert s.digest.weekday_index == 1 and s.digest.hour_minute == (7, 15)
    assert settings_from_dict({}).digest == DigestSettings()
    for table, key in (({"weekday": "mon"}, "digest.weekday"), ({"time": "8:00"}, "digest.time"),
                       ({"time": "24:00"}, "digest.time"), ({"recipients": ["dpo"]}, "digest.recipients"),
                       ({"timezone": "Mars/Olympus"}, "digest.timezone"), ({"colour": "red"}, "digest.colour"),
                       ({"enabled": "yes"}, "digest.enabled"), ({"language": "se"}, "digest.language")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            settings_from_dict({"digest": table})


async def _runs_and_items() -> tuple[list[tuple[str, str]], list[str]]:
    runs = [(r.key, r.kind) for r in await DigestRun.all().order_by("id")]
    items = [o.dedupe_key for o in await OutboxItem.filter(purpose="digest").order_by("id")]
    return runs, items


async def test_exactly_one_digest_per_week_across_restarts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, recipients=("dpo@example.com", "Legal@example.com"))

    async def check(now: datetime) -> bool:  # each check is a fresh process: open, act, close
        await open_store(settings.db_url)
        try:
            return await queue_digest(settings, now)
        finally:
            await close_store()

    assert await check(at(11, 11)) is False  # fresh store: a baseline, no mail
    assert await check(at(11, 12)) is False
    assert await check(at(11, 16, 7, 59)) is False  # the slot has not come yet
    assert await check(at(11, 16, 8, 0)) is True
    assert await check(at(11, 16, 8, 5)) is False
    assert await check(at(11, 20)) is False
    assert await check(at(11, 23, 9)) is True  # the next week
    await open_store(settings.db_url)
    try:
        runs, items = await _runs_and_items()
        assert await queue_digest(settings, at(11, 23, 10), force=True) is True  # a manual send
        assert await queue_digest(settings, at(11, 23, 11)) is False  # leaves the schedule alone
        manual = await DigestRun.get(kind="manual")
    finally:
        await close_store()
    assert runs == [("2026-W46", "baseline"), ("2026-W47", "scheduled"), ("2026-W48", "scheduled")]
    assert items == ["digest:2026-W47:dpo@example.com", "digest:2026-W47:legal@example.com",
                     "digest:2026-W48:dpo@example.com", "digest:2026-W48:legal@example.com"]
    assert manual.key == "2026-W48:manual:20261123T090000Z" and manual.window_end == at(11, 23, 10)


async def test_a_worker_down_on_monday_sends_on_wednesday(store: Settings) -> None:
    await DigestRun.create(key="2026-W46", week="2026-W46", kind="scheduled", window_start=at(11, 2, 8),
                           window_end=at(11, 9, 8), recipients=["dpo@example.com"], created_at=at(11, 9, 8))
    wednesday = at(11, 18, 10)
    assert await queue_digest(store, wednesday) is True
    assert await queue_digest(store, wednesday + timedelta(hours=1)) is False
    run = await DigestRun.get(key="2026-W47")
    assert (run.window_start, run.window_end) == (at(11, 9, 8), at(11, 16, 8))  # Monday's week, not Wednesday's
    item = await OutboxItem.get(purpose="digest")
    msg = email.message_from_string(item.payload, policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "9 nov 08:00 – 16 nov 08:00" in text  # Swedish: the organisation's first language
    assert "PRIV-2026-000001  8 dagar försenat" in text  # state as of Wednesday


class _NoClassifier:
    def classify(self, messages: object) -> list[object]:
        raise AssertionError("no mailbox is configured: nothing to classify")


async def test_worker_run_once_sends_the_owed_digest_once(store: Settings, tmp_path: Path) -> None:
    settings = replace(store, mailboxes=())
    await DigestRun.create(key="2026-W46", week="2026-W46", kind="scheduled", window_start=at(11, 2, 8),
                           window_end=at(11, 9, 8), created_at=at(11, 9, 8))

    def digests() -> list[str]:
        found = []
        for path in sorted((tmp_path / "sent").glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["X-Inboxbot-Digest"]:
                found.append(str(msg["X-Inboxbot-Digest"]))
        return found

    for _ in range(2):  # the second worker is the first one restarted, later on Wednesday
        worker = Worker(settings, Processor(settings, _NoClassifier()),  # type: ignore[arg-type]
                        make_transport(settings.transport), clock=lambda: at(11, 18, 10))
        await worker.run(once=True)
    assert digests() == ["2026-W47"]


async def test_a_broken_template_neither_stops_the_worker_nor_uses_up_the_week(
        store: Settings, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(store.prompts_dir, prompts)
    (prompts / "digest" / "sv" / "digest.html.j2").write_text("{{ d.no_such_figure }}", encoding="utf-8")
    broken = replace(store, mailboxes=(), prompts_dir=prompts)
    await DigestRun.create(key="2026-W46", week="2026-W46", kind="scheduled", window_start=at(11, 2, 8),
                           window_end=at(11, 9, 8), created_at=at(11, 9, 8))
    worker = Worker(broken, Processor(broken, _NoClassifier()),  # type: ignore[arg-type]
                    make_transport(broken.transport), clock=lambda: NOW)
    await worker.run(once=True)  # logs the error, delivers the rest
    assert not await DigestRun.filter(week="2026-W47").exists()
    assert await queue_digest(replace(broken, prompts_dir=store.prompts_dir), NOW)  # fixed: it goes


# -- the email on the wire -----------------------------------------------------------------------


async def test_received_by_smtp_as_valid_multipart(store: Settings, smtp_server: RecordingSMTP) -> None:
    settings = replace(store, transport=TransportSettings(kind="smtp", host=smtp_server.host,
                                                          port=smtp_server.port, security="plain", timeout=10),
                       digest=DigestSettings(recipients=("dpo@example.com", "cto@example.com")))
    await DigestRun.create(key="2026-W46", week="2026-W46", kind="scheduled", window_start=at(11, 2, 8),
                           window_end=at(11, 9, 8), created_at=at(11, 9, 8))
    assert await queue_digest(settings, NOW)
    sent, failed = await deliver_due(make_transport(settings.transport), lambda: NOW)
    assert (sent, failed) == (2, 0)
    received = await smtp_server.wait_for(2, timeout=10)
    assert sorted(r for got in received for r in got.rcpt_tos) == ["cto@example.com", "dpo@example.com"]
    for got in received:
        msg = email.message_from_bytes(got.raw, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/alternative" and not msg.defects
        parts = [p.get_content_type() for p in msg.iter_parts()]  # type: ignore[attr-defined]
        assert parts == ["text/plain", "text/html"]
        assert str(msg["Subject"]).startswith("Integritetsinkorgen vecka 46: 7 nya")
        assert msg["Auto-Submitted"] == "auto-generated" and msg["X-Inboxbot-Digest"] == "2026-W47"
        assert msg["Content-Language"] == "sv"
        plain = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert "PRIV-2026-000001" in plain and "PRIV-2026-000001" in html
        assert "&lt;script&gt;" in html and "<script" not in html


# -- the command line ----------------------------------------------------------------------------


def test_cli_preview_writes_html_and_text_without_sending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "inboxbot.toml"
    config.write_text('[organisation]\nname = "Exempel AB"\nlanguages = ["en", "sv"]\n'
                      '[store]\nstate_dir = "state"\n[transport]\nkind = "folder"\npath = "sent"\n'
                      '[digest]\nrecipients = ["dpo@example.com"]\n')
    settings = make_settings(tmp_path)

    async def prepare() -> None:
        await open_store(settings.db_url)
        try:
            await seed()
        finally:
            await close_store()

    asyncio.run(prepare())
    monkeypatch.setenv("INBOXBOT_NOW", "2026-11-16T08:00:00+01:00")
    target = tmp_path / "out" / "digest.html"
    assert main(["-c", str(config), "digest", "--preview", str(target)]) == 0
    assert capsys.readouterr().out.split() == [str(target), str(target.with_suffix(".txt"))]
    text = target.with_suffix(".txt").read_text(encoding="utf-8")
    assert text.startswith("Subject: Privacy inbox, week 46: 7 new, 1 OVERDUE")
    assert "!! PRIV-2026-000001  6 days overdue" in text
    assert "&lt;script&gt;" in target.read_text(encoding="utf-8")
    assert not (tmp_path / "sent").exists()  # nothing queued, nothing sent

    assert main(["-c", str(config), "digest", "--send"]) == 0
    assert "1 message(s) sent" in capsys.readouterr().out
    sent = list((tmp_path / "sent").glob("*.eml"))
    assert len(sent) == 1
    msg = email.message_from_bytes(sent[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "dpo@example.com" and msg.get_content_type() == "multipart/alternative"


# -- Chromium ------------------------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes) into rows of raw pixel bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), f"unsupported PNG: depth {depth}, colour type {colour}"
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i:i + 3]) for r in rows for i in range(0, stride, bpp)]  # type: ignore[misc]


async def test_html_renders_in_headless_chromium(store: Settings, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("INBOXBOT_REQUIRE_RIG") == "1":
            pytest.fail("chromium is not installed (scripts/install-servers.sh installs it)")
        pytest.skip("chromium is not installed")
    page = tmp_path / "digest.html"
    page.write_text(render(await collect(store, NOW), DigestRenderer(store.prompts_dir), "en").html,
                    encoding="utf-8")
    shot = tmp_path / "digest.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1000,1400",
         page.as_uri()],
        check=True, capture_output=True, timeout=60,
    )
    if os.environ.get("INBOXBOT_DIGEST_PNG"):  # keep a copy to look at
        shutil.copy(shot, os.environ["INBOXBOT_DIGEST_PNG"])
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 1400)
    non_white = sum(1 for p in pixels if p != b"\xff\xff\xff")
    header_blue = sum(1 for p in pixels if p == bytes((0x1d, 0x35, 0x57)))
    overdue_red = sum(1 for p in pixels if p == bytes((0xd9, 0x2d, 0x20)))
    assert non_white > 0.3 * len(pixels), "the page is (almost) blank"
    assert header_blue > 640 * 60, "the header band is missing"
    assert overdue_red > 4 * 20, "the overdue highlight is missing"
