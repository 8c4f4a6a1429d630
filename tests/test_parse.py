"""parse(): raw bytes in, one Inbound out, for well-formed, odd and hostile messages.

Fixtures are invented messages under tests/fixtures/parse/; the huge and many-part messages
are generated here so the repository stays small.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from inboxbot.domain import Inbound
from inboxbot.errors import ParseError
from inboxbot.language import detect_language
from inboxbot.parse import MAX_BODY, parse

FIXTURES = Path(__file__).parent / "fixtures" / "parse"
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


def load(name: str, **kwargs: object) -> Inbound:
    return parse((FIXTURES / name).read_bytes(), now=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def all_strings(msg: Inbound) -> list[str]:
    out = [msg.message_id, msg.subject, msg.body, msg.full_text, *msg.recipients, *msg.attachments]
    out += [v for _, v in msg.headers] + [a for a in (msg.sender, msg.reply_to) if a for a in (a.addr, a.name)]
    return out


# --- every fixture ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.eml")))
def test_every_fixture_parses_cleanly(name: str) -> None:
    msg = load(name)
    assert msg.message_id.startswith("<") and msg.message_id.endswith(">")
    assert msg.received_at == NOW
    assert msg.size == (FIXTURES / name).stat().st_size
    for value in all_strings(msg):
        assert "\r" not in value and "\x00" not in value
    for name_, value in msg.headers:
        assert name_ == name_.lower() and "\n" not in value
    assert msg.body.strip(), "every fixture has something to say"


# --- addresses and headers -------------------------------------------------------------------


def test_plain_swedish_request() -> None:
    msg = load("plain_sv.eml")
    assert msg.sender is not None
    assert msg.sender.addr == "anna.svensson@example.se"  # domain lower-cased
    assert msg.sender.name == "Anna Svensson"
    assert msg.recipients == ("privacy@example.com",)
    assert msg.subject == "Radera mina uppgifter"
    assert msg.date == datetime(2026, 11, 3, 9, 14, tzinfo=timezone.utc)
    assert msg.date is not None and msg.date.utcoffset() == timedelta(hours=1)
    assert msg.language == "sv"
    assert msg.content_type == "text/plain"
    assert msg.body.endswith("när det är gjort.")  # the "Med vänliga hälsningar" block is gone
    assert "070-000 00 00" in msg.full_text and "070-000" not in msg.body
    assert msg.defects == ()


def test_local_part_keeps_its_case() -> None:
    raw = b"From: Anna <Anna.Svensson@EXAMPLE.SE>\nMessage-ID: <x@example.se>\n\nhej\n"
    sender = parse(raw).sender
    assert sender is not None and sender.addr == "Anna.Svensson@example.se"


def test_recipients_are_to_and_cc() -> None:
    msg = load("duplicate_headers.eml")
    assert msg.recipients == ("privacy@example.com", "legal@example.com", "dpo@example.com")


def test_duplicate_headers_use_the_first_and_say_so() -> None:
    msg = load("duplicate_headers.eml")
    assert msg.sender is not None and msg.sender.addr == "first@example.org"
    assert msg.subject == "First subject"
    assert any("duplicate" in d for d in msg.defects)
    assert msg.header_all("from") == ["First Sender <first@example.org>", "Second Sender <second@example.org>"]


def test_only_the_headers_later_stages_use_are_kept() -> None:
    msg = load("duplicate_headers.eml")
    assert msg.header("auto-submitted") == "auto-generated"
    assert msg.header("Precedence") == "bulk"
    assert msg.header("list-id") == "News <news.example.org>"
    assert msg.header("x-spam-score") is None and msg.header("received") is None


def test_missing_from() -> None:
    msg = load("missing_from.eml")
    assert msg.sender is None
    assert "no usable From address" in msg.defects
    assert msg.body == "Please remove me from your mailing list."


def test_missing_message_id_is_synthesised_stably() -> None:
    raw = (FIXTURES / "missing_message_id.eml").read_bytes()
    first, second = parse(raw), parse(raw)
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@inboxbot.invalid>")
    assert parse(raw + b"\nP.S. one more line\n").message_id != first.message_id
    assert any("Message-ID" in d for d in first.defects)


def test_missing_date() -> None:
    msg = load("missing_date.eml")
    assert msg.date is None
    assert msg.received_at == NOW


def test_received_at_prefers_internaldate_and_is_utc() -> None:
    internal = datetime(2026, 11, 3, 10, 15, tzinfo=timezone(timedelta(hours=1)))
    msg = load("plain_sv.eml", received_at=internal)
    assert msg.received_at == internal and msg.received_at.tzinfo == timezone.utc
    naive = load("plain_sv.eml", received_at=datetime(2026, 11, 3, 9, 15))
    assert naive.received_at == datetime(2026, 11, 3, 9, 15, tzinfo=timezone.utc)


def test_default_clock_is_aware_utc() -> None:
    before = datetime.now(timezone.utc)
    msg = parse((FIXTURES / "plain_sv.eml").read_bytes())
    assert before <= msg.received_at <= datetime.now(timezone.utc)


def test_threading_headers() -> None:
    msg = load("reply_sv_quote.eml")
    assert msg.in_reply_to == "<ack-42@example.com>"
    assert msg.references == ("<plain-sv-1@mail.example.se>", "<ack-42@example.com>")


def test_unreadable_date_is_none_with_a_defect() -> None:
    msg = parse(b"From: a@example.org\nDate: the day after tomorrow\nMessage-ID: <d@x>\n\nhi\n")
    assert msg.date is None and "unreadable Date header" in msg.defects


# --- encodings -------------------------------------------------------------------------------


def test_html_only_becomes_text() -> None:
    msg = load("html_only.eml")
    assert msg.content_type == "text/html"
    assert "Article 15 GDPR" in msg.body and "me & the purposes" in msg.body
    assert "alert" not in msg.full_text and "color" not in msg.full_text
    assert "ignored title" not in msg.full_text
    assert "- Name: Oliver Bennett\n- Customer no. 12345" in msg.full_text
    assert msg.language == "en"


def test_alternative_prefers_plain_text() -> None:
    msg = load("alternative.eml")
    assert msg.content_type == "multipart/alternative"
    assert "(plain part)" in msg.full_text and "(html part)" not in msg.full_text


def test_alternative_with_empty_plain_falls_back_to_html() -> None:
    raw = (FIXTURES / "alternative.eml").read_bytes().replace(
        b"Hej, sluta skicka nyhetsbrev till mig. (plain part)", b"  "
    )
    assert "(html part)" in parse(raw).body


def test_base64_utf8_body_and_encoded_sender_name() -> None:
    msg = load("base64_utf8.eml")
    assert msg.sender is not None and msg.sender.name == "Åsa Öberg"
    assert "Är det möjligt att få det som PDF?" in msg.body


def test_quoted_printable_latin1() -> None:
    msg = load("qp_latin1.eml")
    assert "bitte löschen Sie meine Daten" in msg.body
    assert msg.subject == "Datenlöschung"
    assert msg.sender is not None and msg.sender.name == "Jürgen Weiß"
    assert msg.language == "de"


def test_latin1_encoded_word_subject() -> None:
    assert load("subject_latin1_word.eml").subject == "Begäran om rättelse av mina uppgifter"


def test_broken_encoded_words_are_salvaged() -> None:
    msg = load("broken_word.eml")
    assert msg.subject.startswith("Radera mitt konto fungerar inte")
    assert msg.sender is not None and msg.sender.addr == "anna@example.se"
    assert any("bogus-charset" in d for d in msg.defects)


def test_unknown_charset_falls_back_to_utf8() -> None:
    msg = load("unknown_charset.eml")
    assert msg.body == "Hej, vilka personuppgifter sparar ni om mig och hur länge?"
    assert "unknown charset 'x-unknown'" in msg.defects


def test_cp1252_bytes_under_a_utf8_label_are_replaced_not_fatal() -> None:
    raw = "From: a@example.se\nContent-Type: text/plain; charset=utf-8\n\nH\xe4lsning fr\xe5n \x80\n"
    msg = parse(raw.encode("latin-1"))
    assert msg.body.startswith("Hälsning från")
    assert any("cp1252" in d for d in msg.defects)


def test_raw_8bit_headers() -> None:
    msg = load("raw_8bit_headers.eml")
    assert msg.sender is not None and msg.sender.name == "Åke Ström"
    assert msg.subject == "Begäran om registerutdrag"  # one Latin-1 byte among UTF-8 headers


def test_nul_bytes_are_removed() -> None:
    msg = load("nul_bytes.eml")
    assert msg.subject == "Hej igen"
    assert msg.body == "Ta bort mina uppgifter, tack."
    assert "NUL bytes removed" in msg.defects


def test_crlf_injection_never_survives() -> None:
    msg = load("crlf_injection.eml")
    one_line = [msg.subject, msg.message_id, *msg.recipients, *(v for _, v in msg.headers)]
    one_line += [a for a in (msg.sender, msg.reply_to) if a for a in (a.addr, a.name)]
    for value in one_line:
        assert "\r" not in value and "\n" not in value
    assert msg.sender is not None and msg.sender.addr == "mallory@example.net"
    assert msg.reply_to is not None and msg.reply_to.addr == "reply@example.net"
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert msg.recipients == ("privacy@example.com",)  # the smuggled Bcc is not a recipient
    assert msg.header("x-evil") is None
    assert "control characters removed from a header" in msg.defects


# --- structure -------------------------------------------------------------------------------


def test_swedish_reply_quote_is_removed_from_body() -> None:
    msg = load("reply_sv_quote.eml")
    assert msg.body == "Hej igen, jag har fortfarande inte fått något svar. Mitt kundnummer är 55123."
    assert "PRIV-2026-0042" in msg.full_text


def test_outlook_reply_is_cut_at_the_header_block() -> None:
    msg = load("outlook_reply_sv.eml")
    assert msg.body == "Hej, här kommer kopian på legitimationen som ni bad om.\n\nJohan"
    assert "verifiera din identitet" in msg.full_text


def test_signature_is_removed() -> None:
    msg = load("signature_en.eml")
    assert msg.body == "Hi,\n\nI object to the processing of my data for direct marketing."
    assert "confidential" in msg.full_text


def test_forwarded_message_is_in_full_text_not_body() -> None:
    msg = load("forwarded_rfc822.eml")
    assert msg.body == "Kundtjänst fick detta, kan ni ta hand om det?"
    assert "Kundnummer 99881" in msg.full_text
    assert "Subject: Begäran om radering" in msg.full_text
    assert msg.attachments == ("id-kopia.pdf",)


def test_bare_forward_keeps_the_forwarded_text_as_body() -> None:
    raw = (FIXTURES / "forwarded_rfc822.eml").read_bytes().replace(
        b"Kundtj\xc3\xa4nst fick detta, kan ni ta hand om det?", b""
    )
    assert "Kundnummer 99881" in parse(raw).body


def test_postfix_dsn() -> None:
    msg = load("dsn_postfix.eml")
    assert msg.content_type == "multipart/report"
    assert "could not\nbe delivered" in msg.body
    assert "Final-Recipient" not in msg.full_text  # the machine part is not text
    assert "X-Inboxbot-Ref: PRIV-2026-0077" in msg.full_text  # the returned headers are
    assert "X-Inboxbot-Ref" not in msg.body
    assert msg.header("auto-submitted") == "auto-replied"
    assert msg.header("return-path") == "<>"


# --- hostile and degenerate input ------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n", b"\x00\x00\x00"])
def test_nothing_to_salvage_raises(raw: bytes) -> None:
    with pytest.raises(ParseError):
        parse(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"just some words, no headers at all",
        b"\xff\xfe\xfd garbage \x80\x81",
        b"Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\nunterminated",
        b"Content-Type: multipart/mixed\n\nno boundary given",
        b"Content-Type: text/plain; charset=base64\n\nhej",
        b"From: <>\nTo: ;;;,,,<<>>\nReferences: " + b"<a@b> " * 5000 + b"\n\nx",
        b"Content-Transfer-Encoding: base64\n\n!!!not base64 at all===",
    ],
)
def test_garbage_still_yields_an_inbound(raw: bytes) -> None:
    msg = parse(raw)
    assert isinstance(msg, Inbound) and len(msg.references) <= 100


def test_deeply_nested_multiparts_are_bounded() -> None:
    depth = 200
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(depth))
    raw = b"From: a@example.org\n" + head + b"Content-Type: text/plain\n\ndeep text\n"
    msg = parse(raw)
    assert any("nesting" in d or "unreadable" in d for d in msg.defects)


def test_ten_thousand_parts_in_bounded_time() -> None:
    detect_language("warm the model up")  # a one-off half second that is not the parser's
    parts = b"".join(
        b"--BB\r\nContent-Type: text/plain\r\n\r\nDel %d av brevet.\r\n" % i for i in range(10_000)
    )
    raw = (
        b"From: many@example.org\r\nSubject: parts\r\nMessage-ID: <many@example.org>\r\n"
        b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n" + parts + b"--BB--\r\n"
    )
    start = time.perf_counter()
    msg = parse(raw)
    assert time.perf_counter() - start < 2.0
    assert "more than 1000 MIME parts, rest not read" in msg.defects
    assert "Del 0 av brevet." in msg.full_text and "Del 9999 av brevet." not in msg.full_text


def test_fifty_megabytes_in_bounded_time_and_memory() -> None:
    detect_language("warm the model up")
    line = b"Jag vill att ni raderar alla mina uppgifter, tack. " * 2 + b"\r\n"
    raw = (
        b"From: big@example.org\r\nSubject: big\r\nMessage-ID: <big@example.org>\r\n"
        b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + line * (50 * 1024 * 1024 // len(line))
        + b"--BB\r\nContent-Type: image/jpeg\r\n"
        b'Content-Disposition: attachment; filename="pass.jpg"\r\n\r\n/9j/4AAQ\r\n--BB--\r\n'
    )
    assert len(raw) > 50 * 1024 * 1024
    tracemalloc.start()
    start = time.perf_counter()
    try:
        msg = parse(raw)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 5.0  # about 0.3 s untraced; tracemalloc slows it down
    assert peak < 150 * 1024 * 1024  # the parser never sees more than its 8 MB share
    assert len(msg.full_text) <= 100_000 and len(msg.body) <= MAX_BODY
    assert msg.attachments == ("pass.jpg",)  # found by the scan past the parsed part
    assert any("only the start parsed" in d for d in msg.defects)
    assert msg.size == len(raw)
