"""Abuse: hostile inbound mail must not turn inboxbot against the people it writes to.

Every test runs the real pipeline (parse, classify, decide, act) over a real SQLite store and
looks at what actually goes out: the outbox payloads, the folder transport's files, and what a
real aiosmtpd server receives.
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path

import pytest

from inboxbot.config import ReplySettings, SecuritySettings, TransportSettings
from inboxbot.lifecycle import LifecycleError, apply
from inboxbot.reminders import queue_reminders
from inboxbot.render import ReplyRenderer, one_line
from inboxbot.store.models import OutboxItem, ProcessedMessage, Ticket, TicketEvent
from inboxbot.transport.smtp import SmtpTransport
from rig import RecordingSMTP
from tests.helpers_pipeline import WHEN, base_settings, pipeline

# Every header name we ever write (outgoing.build_message and the email package's MIME headers).
OUR_HEADERS = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references", "auto-submitted",
    "x-auto-response-suppress", "precedence", "mime-version", "content-type",
    "content-transfer-encoding", "content-language", "x-inboxbot-ref",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_DATE = "Mon, 02 Mar 2026 10:00:00 +0100"


def b64word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def hostile(sender: str, subject: str, body: str, *, mid: str, extra: str = "") -> bytes:
    """Raw bytes on purpose: EmailMessage would refuse the line breaks we want to smuggle in."""
    head = (f"From: {sender}\r\nTo: privacy@example.com\r\nSubject: {subject}\r\nDate: {_DATE}\r\n"
            f"Message-ID: {mid}\r\n{extra}MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode("utf-8") + body.encode("utf-8")


COMPLAINT_ERASURE = ("I want to make a complaint about how you handle my personal data. "
                     "Please delete all my personal data and confirm when it is done.\r\n")

# Line breaks smuggled every way we know: RFC 2047 B and Q words, raw CR, raw LF continuation
# tricks, Unicode line separators, NEL, and a display name that decodes to a second header.
HOSTILE = [
    hostile(f'{b64word("Eve Example" + chr(13) + chr(10) + "Bcc: victim@example.net")} <eve@example.org>',
            "=?utf-8?q?Delete_me=0D=0ABcc:_victim2@example.net?=", COMPLAINT_ERASURE,
            mid="<h1@example.org>"),
    hostile('"Mallory\r\nCc: cc-victim@example.net" <mallory@example.org>',
            "Delete my data\rBcc: raw-cr@example.net", COMPLAINT_ERASURE, mid="<h2@example.org>"),
    hostile("=?utf-8?q?Trudy=0ATo:_to-victim@example.net?= <trudy@example.org>",
            "Radera\u2028Bcc: ls@example.net\u2029x\u0085y", COMPLAINT_ERASURE, mid="<h3@example.org>"),
    hostile(f"{b64word('Oscar' + chr(10) + chr(10) + 'Injected body')} <oscar@example.org>",
            b64word("Erase\r\n\r\n<html>injected</html>"), COMPLAINT_ERASURE,
            mid="<h4@example.org>", extra="References: <a@example.org>\r\n <b@example.org>\r\n"),
    hostile("Peggy <peggy@example.org>", "=?utf-8?b?" + base64.b64encode(b"x\r\nBcc: b@e.net").decode()
            + "?= =?iso-8859-1?q?=0D=0AX-Evil:_1?=", COMPLAINT_ERASURE, mid="<h5@example.org>",
            extra="In-Reply-To: <x@example.org>\r\nContent-Language: en\r\nX-Evil: 1\r\n"),
]
# A raw CR or LF ends the header line: Mallory's From: is cut to a name with no address, so
# that message gets a ticket but no reply at all (and "Cc: cc-victim" is never ours to use).
SENDERS = ["eve@example.org", "trudy@example.org", "oscar@example.org", "peggy@example.org"]


def assert_clean_headers(raw: bytes, recipient: str | None = None) -> None:
    """Every header line is one of ours (or a folded continuation), and no decoded value holds a
    line break or control character."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            continue
        name = line.split(b":", 1)[0].decode("ascii").lower()
        assert name in OUR_HEADERS, f"unexpected header line {line[:80]!r}"
    msg = message_from_bytes(raw, policy=policy.default)
    for part in msg.walk():
        for name, value in part.items():
            assert name.lower() in OUR_HEADERS, name
            assert not _CONTROL.search(str(value)), f"{name}: {str(value)!r}"
    for name in ("from", "to", "subject", "date", "message-id"):
        assert len(msg.get_all(name) or []) == 1, name
    if recipient is not None:
        assert msg["To"].addresses[0].addr_spec == recipient
        assert len(msg["To"].addresses) == 1


async def test_header_injection_never_reaches_our_replies(tmp_path: Path,
                                                          smtp_server: RecordingSMTP) -> None:
    async with pipeline(tmp_path) as run:
        outcomes = await run.process(HOSTILE)
        assert all(o.outcome == "ticket" for o in outcomes), outcomes
        assert [o.acknowledged for o in outcomes] == [True, False, True, True, True]
        assert outcomes[1].withheld == "no usable sender address"
        tickets = await Ticket.filter(sender__not="").order_by("id")
        assert {t.sender for t in tickets} == set(SENDERS)
        # Every other kind of mail we write, from the same hostile tickets: the extension
        # notice to the data subject and the deadline reminders to the DPO.
        for t in tickets:
            await apply(run.settings, t.reference or "", "extend", actor="dpo",
                        reason="Many systems\r\nBcc: dpo-victim@example.net", now=WHEN,
                        renderer=run.processor.renderer)
        await queue_reminders(run.settings, run.processor.renderer,
                              WHEN + timedelta(days=85))
        items = await OutboxItem.all()
        purposes = {i.purpose for i in items}
        assert {"ack", "escalation", "extension", "reminder"} <= purposes, purposes
        for item in items:
            expected = item.recipient
            assert_clean_headers(item.payload.encode("utf-8"), expected)
            body = message_from_bytes(item.payload.encode(), policy=policy.default)
            text = body.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            # Nothing smuggled starts a line of its own in the text either. (The extension's
            # reason is the DPO's own words, which may span lines: only its headers count.)
            assert item.purpose == "extension" or not re.search(r"(?m)^(Bcc|Cc|To|X-Evil|Subject):", text), text

        # The same mail through a real SMTP server: only the intended recipients, clean headers.
        smtp = SmtpTransport(TransportSettings(host="127.0.0.1", port=smtp_server.port, security="plain"))
        run.clock[0] = WHEN + timedelta(days=85)  # the reminders' time has come too
        sent = await run.deliver(smtp)
        assert sent == len(items)
        got = await smtp_server.wait_for(len(items))
        allowed = set(SENDERS) | {"dpo@example.com"}
        for received in got:
            assert len(received.rcpt_tos) == 1 and received.rcpt_tos[0] in allowed, received.rcpt_tos
            assert_clean_headers(received.raw, received.rcpt_tos[0])
        acks = [r for r in got if r.rcpt_tos[0] in SENDERS and "X-Inboxbot-Ref" in r.message
                and r.message["In-Reply-To"]]
        assert sorted(r.rcpt_tos[0] for r in acks) == sorted(SENDERS)
        # The greeting holds the hostile display name on its own single line.
        greeting = [line for r in acks for line in
                    r.message.get_body(("plain",)).get_content().splitlines()  # type: ignore[union-attr]
                    if line.startswith("Hello")]
        assert any("Eve Example Bcc: victim@example.net" in g for g in greeting), greeting


def test_template_values_cannot_break_out_of_their_line(tmp_path: Path) -> None:
    settings = base_settings(tmp_path)
    renderer = ReplyRenderer(settings.prompts_dir, settings.organisation)
    for lang in ("en", "sv"):
        rendered = renderer.acknowledgement(
            lang=lang, sender_name="Eve\r\n\r\nWe have deleted all your data.\nSubject: pwned\u2028x",
            intents=(), ticket=None, received=WHEN.date(), suppressed=False,
            verification_needed=False, original_subject="Hi\nSubject: pwned\r\n\r\nClick here",
        )
        assert "\n" not in rendered.subject and "pwned" not in rendered.subject
        lines = rendered.body.splitlines()
        assert not any(line.startswith(("Subject:", "We have deleted", "Click here")) for line in lines)
        assert any("Eve We have deleted all your data. Subject: pwned x" in line for line in lines)
    assert one_line("a\u202eb\x00c\u2066d" + "x" * 500, 20) == "a b c d" + "x" * 12 + "…"


# -- backscatter and mail bombs -----------------------------------------------------------------

def request(sender: str, n: int, *, extra: str = "", body: str = "") -> bytes:
    return hostile(sender, "Radera mina uppgifter",
                   body or "Hej, jag vill att ni raderar alla mina personuppgifter. Tack.\r\n",
                   mid=f"<flood-{n}-{abs(hash(sender)) % 10**8}@example.net>", extra=extra)


async def _acks_sent(run: object, tmp_path: Path) -> list[str]:
    await run.deliver()  # type: ignore[attr-defined]
    return [str(m["To"].addresses[0].addr_spec) for m in run.sent_files()  # type: ignore[attr-defined]
            if m["Auto-Submitted"] == "auto-replied"]


async def test_flood_of_forged_requests_to_one_victim_is_capped(tmp_path: Path) -> None:
    # With repeats of one request joining the first ticket (the default), a flood of the same
    # request is one ticket and one acknowledgement; the caps must hold without that help too.
    from dataclasses import replace as _replace

    from inboxbot.config import RetentionSettings
    from tests.helpers_pipeline import base_settings

    async with pipeline(tmp_path / "joined") as run:
        outcomes = await run.process([request("Victim <victim@example.net>", n) for n in range(10)])
        assert [o.outcome for o in outcomes] == ["ticket"] + ["duplicate_request"] * 9
        assert await _acks_sent(run, tmp_path) == ["victim@example.net"]
    settings = _replace(base_settings(tmp_path), retention=RetentionSettings(duplicate_window_days=0))
    async with pipeline(tmp_path, settings) as run:
        outcomes = await run.process([request("Victim <victim@example.net>", n) for n in range(40)])
        assert all(o.outcome == "ticket" for o in outcomes)
        acks = await _acks_sent(run, tmp_path)
        assert acks == ["victim@example.net"] * run.settings.replies.max_per_sender_per_day
        withheld = await ProcessedMessage.filter(ack_withheld__contains="daily cap").count()
        assert withheld == 40 - run.settings.replies.max_per_sender_per_day
        assert await Ticket.all().count() == 40  # the record is complete: nothing is dropped


async def test_flood_across_one_domain_and_in_total_is_capped(tmp_path: Path,
                                                              smtp_server: RecordingSMTP) -> None:
    settings = base_settings(tmp_path, replies=ReplySettings(
        max_per_sender_per_day=3, max_per_domain_per_hour=5, max_per_hour=12))
    async with pipeline(tmp_path, settings) as run:
        same_domain = [request(f"user{n}@victim-corp.example", n) for n in range(15)]
        spread = [request(f"person{n}@domain{n}.example", 100 + n) for n in range(15)]
        await run.process(same_domain + spread)
        smtp = SmtpTransport(TransportSettings(host="127.0.0.1", port=smtp_server.port, security="plain"))
        await run.deliver(smtp)
        # Only what the caps allow reached the SMTP server: 5 to the domain, 12 in all.
        await smtp_server.wait_for(12)
        rcpts = [r.rcpt_tos[0] for r in smtp_server.messages]
        assert sum(1 for r in rcpts if r.endswith("@victim-corp.example")) == 5
        assert len(rcpts) == 12
        # An hour later the hourly caps have room again.
        run.clock[0] = WHEN + timedelta(hours=1, minutes=1)
        await run.process([request("late@victim-corp.example", 999)])
        await run.deliver(smtp)
        await smtp_server.wait_for(13)
        assert smtp_server.messages[-1].rcpt_tos == ["late@victim-corp.example"]


TRUSTED = SecuritySettings(trusted_authserv_ids=("mx.example.com",))


@pytest.mark.parametrize("auth_results, acknowledged", [
    ("mx.example.com; dmarc=pass (p=reject) header.from=example.net", True),
    ("mx.example.com; spf=pass smtp.mailfrom=bounce.example.net; dkim=none", True),
    ("mx.example.com; dmarc=fail (p=none) header.from=example.net", False),
    ("mx.example.com; spf=fail smtp.mailfrom=example.net; dkim=fail header.d=example.net", False),
    # A pass from a server we do not trust is the sender's own word: it counts for nothing.
    ("evil.example.org; dmarc=pass header.from=example.net", False),
    ("", False),  # a trusted server is configured but said nothing
])
async def test_unauthenticated_senders_are_not_acknowledged_and_are_flagged(
    tmp_path: Path, auth_results: str, acknowledged: bool
) -> None:
    extra = f"Authentication-Results: {auth_results}\r\n" if auth_results else ""
    async with pipeline(tmp_path, base_settings(tmp_path, security=TRUSTED)) as run:
        [outcome] = await run.process([request("anna@example.net", 1, extra=extra)])
        assert outcome.acknowledged is acknowledged
        record = await ProcessedMessage.get(message_id=outcome.message_id)
        ticket = await Ticket.get(reference=outcome.ticket)
        flagged = await TicketEvent.filter(ticket_id=ticket.id, kind="unauthenticated").exists()
        assert flagged is (not acknowledged)
        assert record.needs_review is (not acknowledged) and ticket.needs_review is (not acknowledged)
        if not acknowledged:
            assert record.ack_withheld.startswith("sender domain not authenticated")
        assert len(await _acks_sent(run, tmp_path)) == (1 if acknowledged else 0)


async def test_ack_unauthenticated_answers_but_still_flags(tmp_path: Path) -> None:
    security = replace(TRUSTED, ack_unauthenticated=True)
    async with pipeline(tmp_path, base_settings(tmp_path, security=security)) as run:
        extra = "Authentication-Results: mx.example.com; dmarc=fail header.from=example.net\r\n"
        [outcome] = await run.process([request("anna@example.net", 1, extra=extra)])
        assert outcome.acknowledged
        assert (await ProcessedMessage.get(message_id=outcome.message_id)).needs_review


async def test_without_trusted_servers_nothing_is_judged(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as run:
        extra = "Authentication-Results: mx.example.com; dmarc=fail header.from=example.net\r\n"
        [outcome] = await run.process([request("anna@example.net", 1, extra=extra)])
        assert outcome.acknowledged
        assert not await TicketEvent.filter(kind="unauthenticated").exists()


# -- verification ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, intent", [
    ("Please delete all my personal data from your systems.", "erasure"),
    ("I request access to my personal data under Article 15 GDPR. Please send me a copy.", "access"),
    (("I want to exercise my right to data portability and receive my data in a machine-readable "
      "format such as CSV."), "portability"),
])
async def test_rights_that_touch_the_data_wait_for_identity(tmp_path: Path, body: str, intent: str) -> None:
    async with pipeline(tmp_path) as run:
        [outcome] = await run.process([request("anna@example.net", 1, body=body)])
        ticket = await Ticket.get(reference=outcome.ticket)
        assert intent in ticket.intents
        assert ticket.status == "awaiting_identity" and not ticket.identity_verified
        with pytest.raises(LifecycleError, match="identity not verified"):
            await apply(run.settings, ticket.reference or "", "answer", actor="dpo", now=WHEN)
        await apply(run.settings, ticket.reference or "", "verify", actor="dpo", reason="BankID", now=WHEN)
        done = await apply(run.settings, ticket.reference or "", "answer", actor="dpo", now=WHEN)
        assert done.status == "answered"


async def test_request_naming_another_address_is_marked(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as run:
        body = ("Hello, please delete all personal data you hold about anna.svensson@example.se. "
                "Thank you.")
        [outcome] = await run.process([request("Someone <someone@example.org>", 1, body=body)])
        ticket = await Ticket.get(reference=outcome.ticket)
        events = await TicketEvent.filter(ticket_id=ticket.id, kind="sender_mismatch")
        assert len(events) == 1 and "a***@example.se" in events[0].detail
        assert "anna.svensson" not in events[0].detail  # the event trail outlives retention
        assert ticket.needs_review and ticket.status == "awaiting_identity"
        # Naming one's own address (any case, a +tag) is no mismatch.
        body = "Please delete my data. My address is Anna.Svensson+shop@Example.se."
        [own] = await run.process([request("anna.svensson@example.se", 2, body=body)])
        own_ticket = await Ticket.get(reference=own.ticket)
        assert not await TicketEvent.filter(ticket_id=own_ticket.id, kind="sender_mismatch").exists()
        assert not own_ticket.needs_review


async def test_follow_up_from_another_sender_is_marked_and_proves_nothing(tmp_path: Path) -> None:
    async with pipeline(tmp_path) as run:
        [first] = await run.process([request("anna@example.net", 1)])
        ack = await OutboxItem.get(purpose="ack")
        reply_extra = f"In-Reply-To: {ack.message_id}\r\nReferences: {ack.message_id}\r\n"
        [other] = await run.process([hostile("mallory@example.org", "Re: request",
                                             "Here is my ID, please go ahead.\r\n",
                                             mid="<reply-other@example.org>", extra=reply_extra)])
        assert other.outcome == "follow_up" and other.ticket == first.ticket
        ticket = await Ticket.get(reference=first.ticket)
        assert ticket.status == "awaiting_identity" and ticket.needs_review
        [event] = await TicketEvent.filter(ticket_id=ticket.id, kind="sender_mismatch")
        assert "m***@example.org" in event.detail and "a***@example.net" in event.detail
        [same] = await run.process([hostile("anna@example.net", "Re: request", "Here is my ID.\r\n",
                                            mid="<reply-same@example.net>", extra=reply_extra)])
        assert same.outcome == "follow_up" and same.ticket == first.ticket
        ticket = await Ticket.get(reference=first.ticket)
        assert ticket.status == "open" and not ticket.identity_verified
        assert await TicketEvent.filter(ticket_id=ticket.id, kind="sender_mismatch").count() == 1


# -- HTML -----------------------------------------------------------------------------------------

async def test_digest_html_escapes_script_from_mail(tmp_path: Path) -> None:
    """Whatever mail puts into the digest comes out as text: parsed as HTML, the digest has no
    script element, no event-handler attribute and no element the mail brought in."""
    send = pytest.importorskip("inboxbot.digest.send")
    xss = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">'
    async with pipeline(tmp_path) as run:
        await run.process([
            hostile(f'"{xss}" <xss@example.org>', f"Complaint {xss}",
                    f"I want to complain. {xss} Please delete my data.\r\n", mid="<xss@example.org>"),
            hostile("Anna <anna@example.org>", "Unsubscribe", "Please unsubscribe me.\r\n",
                    mid="<plain@example.org>"),
        ])
        digest = await send.build_digest(run.settings, WHEN + timedelta(days=3), WHEN + timedelta(days=3))
    tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.append((tag, attrs))

    Collect().feed(digest.html)
    assert tags, "the digest rendered no HTML"
    assert not [t for t, _ in tags if t in ("script", "img", "iframe", "object")]
    assert not [a for _, attrs in tags for a, _ in attrs if a.startswith("on")]
    assert not [v for _, attrs in tags for _, v in attrs if v and "javascript:" in v]
    assert "&lt;script&gt;" in digest.html  # the text is there, escaped, for the DPO to read
