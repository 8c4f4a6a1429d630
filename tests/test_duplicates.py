"""The same person asking the same thing again within the window joins the first ticket:
one clock, one acknowledgement. After the window, or about something else, it is new."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from inboxbot.store.models import ProcessedMessage, Ticket, TicketEvent
from tests.helpers_pipeline import pipeline


def erasure(n: int, sender: str = "kim@example.se", text: str = "Please delete all my personal data.") -> bytes:
    return (f"From: Kim <{sender}>\r\nTo: privacy@example.com\r\nSubject: Delete my data\r\n"
            f"Message-ID: <dup-{n}@example.se>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n").encode()


async def test_repeat_within_the_window_joins_the_first_ticket(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as run:
        [first] = await run.process([erasure(1)])
        run.clock[0] += timedelta(days=3)
        [again] = await run.process([erasure(2, text="I asked you to erase my data. Please delete it.")])
        assert first.outcome == "ticket" and again.outcome == "duplicate_request"
        assert again.ticket == first.ticket and not again.acknowledged
        assert await Ticket.all().count() == 1
        ticket = await Ticket.get(reference=first.ticket)
        kinds = [e.kind for e in await TicketEvent.filter(ticket_id=ticket.id)]
        assert "duplicate_request" in kinds
        assert (await ProcessedMessage.get(message_id="<dup-2@example.se>")).ticket_id == ticket.id  # type: ignore[attr-defined]

        # Someone else, or the same person after the window: a new request with its own clock.
        [other] = await run.process([erasure(3, sender="lo@example.se")])
        run.clock[0] += timedelta(days=run.settings.retention.duplicate_window_days + 1)
        [late] = await run.process([erasure(4)])
        assert other.outcome == "ticket" and late.outcome == "ticket"
        assert await Ticket.all().count() == 3


async def test_mail_to_our_list_unsubscribe_address_is_an_unsubscribe(tmp_path: Path) -> None:
    from dataclasses import replace

    from inboxbot.config import SuppressionSettings
    from inboxbot.store.models import Suppression
    from inboxbot.suppression import address_hash
    from tests.helpers_pipeline import base_settings

    settings = replace(base_settings(tmp_path), suppression=SuppressionSettings(
        list_unsubscribe_addresses=("unsubscribe@example.com",)))
    button = (b"From: Noor <noor@example.se>\r\nTo: unsubscribe@example.com\r\nSubject: \r\n"
              b"Message-ID: <lu-1@example.se>\r\nContent-Type: text/plain\r\n\r\n\r\n")
    async with pipeline(tmp_path, settings) as run:
        [out] = await run.process([button])
        assert out.label == "unsubscribe" and out.outcome == "suppressed" and out.suppressed
        assert await Suppression.filter(address_hash=address_hash("noor@example.se")).exists()
