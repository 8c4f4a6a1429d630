"""message_text() must write exactly what build_message(...).as_string() writes: the outbox
stores that text and a resend must be byte-identical to what was meant, so the fast path may
differ in nothing, whatever the headers hold."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from inboxbot.domain import Outgoing
from inboxbot.outgoing import build_message, message_text

NAMES = ["", "Acme AB", "Acme, Inc.", "Dataskydd Åkesson & Söner", 'The "Privacy" Team', "A. B. C",
         "x" * 120, "Müller GmbH (Datenschutz)"]
SENDERS = ["privacy@acme.example", "dpo@example.se", "Privacy@Acme.Example"]
TO = ["anna@example.se", "Anna.Svensson+dsr@mail.example.com", "UPPER@EXAMPLE.SE",
      "o'brien@example.ie", '"quoted local"@example.com', "a..b@example.com", "åsa@exempel.se",
      "Anna <anna@example.se>", "anna@example.se, bob@example.se", "x" * 70 + "@example.com",
      "no-at-sign", "", "bob@[127.0.0.1]", "a@b"]
SUBJECTS = ["Re: Radera mina uppgifter", "We have received your request [PRIV-2026-000123]",
            "Re: Radera mina uppgifter – vi har tagit emot din begäran [PRIV-2026-000123]",
            "Wir haben Ihre Anfrage erhalten", "=?utf-8?q?already_encoded?=", "a  double  space",
            " leading and trailing ", "", "(comment) and \"quotes\" and \\ backslash",
            "x" * 90, "word " * 30, "Ärende: ÅÄÖ åäö " * 6, "tab\there", "emoji 🙂 subject",
            "Re: Re: Fwd: ett riktigt långt ämne som inte får plats på en rad alls i huvudet här"]
IDS = ["<0123456789abcdef0123456789abcdef@acme.example>", "<a.b-c_d+e@mail.example.com>",
       "<odd id@example.com>", "no-brackets@example.com", "<x@y>", "", "<" + "z" * 90 + "@example.com>",
       "<åäö@example.se>"]
REFS = [(), ("<x@y>",), ("<a@example.com>", "<b@example.com>"), tuple(f"<m{i}@example.com>" for i in range(14)),
        ("", "<c@example.com>"), ("weird ref", "<d@example.com>")]
EXTRA = [(), (("Content-Language", "sv"),), (("Content-Language", "sv"), ("X-Inboxbot-Ref", "PRIV-2026-000123")),
         (("X-Inboxbot-Ref", "PRIV-2026-000123"),), (("X-Inboxbot-Ref", "ÅÄÖ-1"),),
         (("Subject", "twice"),), (("X Bad Name", "v"),), (("Cc", "carl@example.se"),),
         (("X-Inboxbot-Ref", "a"), ("X-Inboxbot-Ref", "b")), (("Content-Language", "de-CH"),)]
TEXTS = ["Hej Anna,\n\nVi har tagit emot din begäran.\n\nVänliga hälsningar\n", "", "plain ascii",
         "trailing spaces   \nand tabs\t\n", "From here on\n.\n..\n", "x" * 200, "ä" * 100,
         "crlf\r\nlines\r\n", "=3D equals = sign\n", "line\n" * 50]


def _case(rng: random.Random) -> tuple[Outgoing, str, str, datetime]:
    out = Outgoing(
        to=rng.choice(TO), subject=rng.choice(SUBJECTS), text=rng.choice(TEXTS),
        in_reply_to=rng.choice([None, *IDS]), references=rng.choice(REFS),
        message_id=rng.choice(IDS), auto_submitted=rng.choice(["auto-replied", "auto-generated", ""]),
        html=rng.choice([None] * 9 + ["<p>hej</p>"]), extra_headers=rng.choice(EXTRA),
    )
    now = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(10**6))
    return out, rng.choice(SENDERS), rng.choice(NAMES), now


def _unbound(text: str) -> str:
    """The MIME boundary of an HTML alternative is random on every call: not part of the test."""
    return re.sub(r"={15}\d+==", "BOUNDARY", text)


def _slow(out: Outgoing, sender: str, name: str, now: datetime) -> str | Exception:
    try:
        return _unbound(build_message(out, sender=sender, sender_name=name, now=now).as_string())
    except Exception as exc:  # noqa: BLE001 - the fast path must refuse the same input
        return exc


@pytest.mark.parametrize("seed", range(4))
def test_message_text_is_what_build_message_writes(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(600):
        out, sender, name, now = _case(rng)
        expected = _slow(out, sender, name, now)
        if isinstance(expected, Exception):
            with pytest.raises(type(expected)):
                message_text(out, sender=sender, sender_name=name, now=now)
            continue
        assert _unbound(message_text(out, sender=sender, sender_name=name, now=now)) == expected, out


def test_a_typical_acknowledgement_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above would pass if message_text always fell back; the usual
    acknowledgement must not."""
    import inboxbot.outgoing as outgoing

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("fell back to build_message")

    out = Outgoing(to="anna@example.se", subject="Vi har tagit emot din begäran [PRIV-2026-000123]",
                   text="Hej Anna,\n\nVi har tagit emot din begäran.\n", in_reply_to="<a@example.se>",
                   references=("<a@example.se>",), message_id="<0123abcd@acme.example>",
                   extra_headers=(("Content-Language", "sv"), ("X-Inboxbot-Ref", "PRIV-2026-000123")))
    now = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)
    expected = build_message(out, sender="privacy@acme.example", sender_name="Acme AB", now=now).as_string()
    monkeypatch.setattr(outgoing, "build_message", refuse)
    assert message_text(out, sender="privacy@acme.example", sender_name="Acme AB", now=now) == expected
