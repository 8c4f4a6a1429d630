"""The ticket lifecycle through the CLI, with a frozen clock, against a real SQLite store."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from inboxbot.cli import main
from inboxbot.config import load_settings
from inboxbot.reminders import queue_reminders, reminder_kind
from inboxbot.render import ReplyRenderer
from inboxbot.store import close_store, open_store
from inboxbot.store.models import OutboxItem, ProcessedMessage, Ticket, TicketEvent

CONFIG = """
[organisation]
name = "Qlocx AB"
domain = "qlocx.example"
reply_from = "privacy@qlocx.example"
dpo_email = "dpo@qlocx.example"

[store]
state_dir = "state"
"""

RECEIVED = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # Monday


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "inboxbot.toml"
    path.write_text(CONFIG)
    return path


def run_async(coro_fn, config: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(config)

    async def go():  # type: ignore[no-untyped-def]
        await open_store(settings.db_url)
        try:
            return await coro_fn(settings)
        finally:
            await close_store()

    return asyncio.run(go())


def seed(config: Path) -> None:
    async def create(settings):  # type: ignore[no-untyped-def]
        specs = [
            ("QLX-A", "access", "awaiting_identity", date(2026, 12, 2)),
            ("QLX-B", "erasure", "open", date(2026, 11, 20)),
            ("QLX-C", "complaint", "open", date(2026, 11, 16)),
        ]
        for n, (ref, intent, status, due) in enumerate(specs, 1):
            t = await Ticket.create(reference=f"PRIV-2026-{n:06d}",
                                    sender=f"{intent}@example.se", intents=[intent], status=status,
                                    received_at=RECEIVED, due_date=due, due_rule="test",
                                    language="sv", summary=f"{intent} request")
            await ProcessedMessage.create(message_id=f"<{ref}@example.se>", account="privacy",
                                          folder="INBOX", received_at=RECEIVED, sender=t.sender,
                                          subject="Hej", body="Personal text", label=intent,
                                          outcome="ticket", ticket=t)

    run_async(create, config)


def refs(config: Path) -> dict[str, str]:
    async def q(settings):  # type: ignore[no-untyped-def]
        return {t.intents[0]: t.reference for t in await Ticket.all()}

    return run_async(q, config)


def ticket(config: Path, reference: str) -> Ticket:
    async def q(settings):  # type: ignore[no-untyped-def]
        return await Ticket.get(reference=reference)

    return run_async(q, config)


def cli(config: Path, *args: str) -> int:
    return main(["-c", str(config), *args])


def test_list_sorts_by_due_date_with_days_left(config: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    seed(config)
    monkeypatch.setenv("INBOXBOT_NOW", "2026-11-18T10:00:00+01:00")
    assert cli(config, "tickets", "list", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["intents"][0] for r in rows] == ["complaint", "erasure", "access"]
    assert [r["days_left"] for r in rows] == [-2, 2, 14]
    assert cli(config, "tickets", "list") == 0
    out = capsys.readouterr().out
    assert out.index("complaint") < out.index("erasure") < out.index("access")


def test_verify_then_answer_close_reopen(config: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seed(config)
    monkeypatch.setenv("INBOXBOT_NOW", "2026-11-10T10:00:00+01:00")
    ref = refs(config)["access"]
    assert cli(config, "tickets", "verify", ref, "--actor", "dpo-anna", "--reason", "BankID") == 0
    t = ticket(config, ref)
    assert t.status == "open" and t.identity_verified
    assert t.due_date == date(2026, 12, 2)  # the clock does not pause by default
    assert cli(config, "tickets", "verify", ref) == 1  # once only
    assert "already verified" in capsys.readouterr().err
    assert cli(config, "tickets", "answer", ref) == 0
    assert cli(config, "tickets", "close", ref, "--reason", "data sent") == 0
    assert ticket(config, ref).status == "closed"
    assert cli(config, "tickets", "answer", ref) == 1  # closed tickets are not answered
    assert "possible only from" in capsys.readouterr().err
    assert cli(config, "tickets", "reopen", ref) == 0
    assert ticket(config, ref).status == "open"
    assert cli(config, "tickets", "note", ref, "called", "the", "customer") == 0

    async def events(settings):  # type: ignore[no-untyped-def]
        t = await Ticket.get(reference=ref)
        return [(e.actor, e.kind, e.detail) for e in await TicketEvent.filter(ticket_id=t.id).order_by("id")]

    trail = run_async(events, config)
    assert [k for _, k, _ in trail] == ["verify", "answer", "close", "reopen", "note"]
    assert trail[0][0] == "dpo-anna" and "BankID" in trail[0][2]
    assert trail[4][2] == "called the customer"


def test_extend_needs_reason_notifies_once_and_only_in_time(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(config)
    ref = refs(config)["erasure"]
    monkeypatch.setenv("INBOXBOT_NOW", "2026-11-19T10:00:00+01:00")
    assert cli(config, "tickets", "extend", ref) == 1
    assert "needs a reason" in capsys.readouterr().err
    assert cli(config, "tickets", "extend", ref, "--reason", "many systems to search") == 0
    t = ticket(config, ref)
    # Received Mon 2 Nov 2026: three months -> Tue 2 Feb 2027, a working day.
    assert t.status == "extended" and t.due_date == date(2027, 2, 2)

    async def notices(settings):  # type: ignore[no-untyped-def]
        return [(o.purpose, o.recipient, o.payload) for o in await OutboxItem.all()]

    sent = run_async(notices, config)
    assert len(sent) == 1 and sent[0][:2] == ("extension", "erasure@example.se")
    assert "2 februari 2027" in sent[0][2] or "2 februari 2027" in _decoded(sent[0][2])
    assert cli(config, "tickets", "extend", ref, "--reason", "again") == 1  # once only

    # Too late: the first deadline of the complaint ticket (16 Nov) has passed.
    late = refs(config)["complaint"]
    assert cli(config, "tickets", "extend", late, "--reason", "x") == 1
    assert "has passed" in capsys.readouterr().err


def _decoded(payload: str) -> str:
    import email
    import email.policy

    msg = email.message_from_string(payload, policy=email.policy.default)
    return msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


def test_unknown_ticket_is_a_clear_error(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(config)
    assert cli(config, "tickets", "close", "PRIV-1999-000000") == 1
    assert "no ticket" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(30, None), (8, None), (7, "due-in-7"), (3, "due-in-7"), (2, "due-in-2"), (0, "due-in-2"),
     (-1, "overdue")],
)
def test_reminder_kind(days_left: int, expected: str | None) -> None:
    assert reminder_kind(days_left, (7, 2)) == expected


def test_reminders_go_out_once_each_across_restarts(config: Path) -> None:
    seed(config)

    def remind(at: datetime) -> int:
        async def go(settings):  # type: ignore[no-untyped-def]
            return await queue_reminders(settings, ReplyRenderer(settings.prompts_dir, settings.organisation), at)

        return run_async(go, config)  # each call opens and closes the store: a restart

    day = datetime(2026, 11, 13, 8, 0, tzinfo=timezone.utc)  # B due 20 Nov (7 left), C due 16 Nov (3)
    assert remind(day) == 2
    assert remind(day) == 0
    assert remind(datetime(2026, 11, 14, 8, 0, tzinfo=timezone.utc)) == 1  # C: 2 left
    assert remind(datetime(2026, 11, 17, 8, 0, tzinfo=timezone.utc)) == 1  # C overdue
    assert remind(datetime(2026, 11, 17, 9, 0, tzinfo=timezone.utc)) == 0

    async def keys(settings):  # type: ignore[no-untyped-def]
        return sorted(o.dedupe_key.split(":", 1)[1] for o in await OutboxItem.filter(purpose="reminder"))

    assert run_async(keys, config) == [
        "PRIV-2026-000002:due-in-7:2026-11-20",
        "PRIV-2026-000003:due-in-2:2026-11-16",
        "PRIV-2026-000003:due-in-7:2026-11-16",
        "PRIV-2026-000003:overdue:2026-11-16",
    ]


def test_purge_anonymises_closed_tickets_after_retention(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(config)
    ref = refs(config)["erasure"]
    monkeypatch.setenv("INBOXBOT_NOW", "2026-11-19T10:00:00+01:00")
    assert cli(config, "tickets", "close", ref) == 0
    monkeypatch.setenv("INBOXBOT_NOW", "2029-11-20T10:00:00+01:00")  # 3 years + 1 day later
    capsys.readouterr()
    assert cli(config, "purge", "--dry-run") == 0
    assert f"would anonymise {ref}" in capsys.readouterr().out
    assert ticket(config, ref).sender == "erasure@example.se"  # dry run changed nothing
    assert cli(config, "purge") == 0
    t = ticket(config, ref)
    assert t.sender == "" and t.summary == "" and t.anonymised_at is not None
    assert t.intents == ["erasure"] and t.status == "closed"  # statistics stay

    async def bodies(settings):  # type: ignore[no-untyped-def]
        return [m.body for m in await ProcessedMessage.filter(ticket_id=t.id)]

    assert run_async(bodies, config) == [""]
    assert cli(config, "purge") == 0
    assert "0 ticket(s)" in capsys.readouterr().out
