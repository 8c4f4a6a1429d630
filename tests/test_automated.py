"""automated_reason over the .eml fixtures and hand-built messages, both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxbot.classify.automated import automated_reason, automated_reasons, own_mail_reason
from tests.helpers_inbound import inbound_from_eml, make_inbound

FIXTURES = Path(__file__).parent / "fixtures" / "automated"

# fixture -> the reason family (prefix of the first reason) it must be detected with
EXPECTED: dict[str, str] = {
    "dsn_postfix.eml": "dsn: multipart/report delivery-status",
    "dsn_exchange_ndr.eml": "dsn: multipart/report delivery-status",
    "dsn_gmail.eml": "dsn: multipart/report delivery-status",
    "dsn_exim.eml": "auto-submitted",
    "dsn_sendmail_subject_only.eml": "postmaster sender",
    "dsn_olevererbart_subject_only.eml": "delivery-failure subject",
    "dsn_unzustellbar_subject_only.eml": "delivery-failure subject",
    "ooo_sv_exchange.eml": "auto-submitted: auto-generated",
    "ooo_sv_subject_only.eml": "out-of-office subject (frånvaro)",
    "ooo_en_gmail.eml": "auto-submitted: auto-replied",
    "ooo_en_exchange.eml": "x-auto-response-suppress: OOF",
    "ooo_en_subject_only.eml": "out-of-office subject (out of office)",
    "ooo_de_exchange.eml": "auto-submitted: auto-replied",
    "ooo_de_subject_only.eml": "out-of-office subject (automatische antwort)",
    "ooo_fr_exchange.eml": "x-auto-response-suppress: OOF",
    "ooo_fr_absence_subject_only.eml": "out-of-office subject (absence du bureau)",
    "ooo_es_gmail.eml": "auto-submitted: auto-replied",
    "ooo_it_exchange.eml": "auto-submitted: auto-generated",
    "ooo_nl_subject_only.eml": "out-of-office subject (automatisch antwoord)",
    "ooo_nl_afwezig_exchange.eml": "x-autoreply",
    "ooo_da_exchange.eml": "x-auto-response-suppress: All",
    "ooo_no_subject_only.eml": "out-of-office subject (fraværsmelding)",
    "ooo_fi_exchange.eml": "auto-submitted: auto-replied",
    "ooo_fi_poissaolo_subject_only.eml": "out-of-office subject (poissaolo)",
    "ooo_pl_exchange.eml": "x-auto-response-suppress: All",
    "ooo_pt_gmail.eml": "auto-submitted: auto-replied",
    "ooo_pt_ausencia_subject_only.eml": "out-of-office subject (ausência)",
    "list_newsletter.eml": "precedence: bulk",
    "list_mailinglist_post.eml": "list-id",
    "mdn_read_receipt.eml": "mdn: multipart/report disposition-notification",
    "own_loop.eml": "own mail: x-inboxbot-ref",
}


def test_every_fixture_is_listed() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.eml")}
    automated = {n for n in on_disk if not n.startswith("human_")}
    assert automated == set(EXPECTED)
    assert len(on_disk - automated) >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_automated_fixture_detected(name: str) -> None:
    reason = automated_reason(inbound_from_eml(FIXTURES / name))
    assert reason is not None and reason.startswith(EXPECTED[name]), reason


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("human_*.eml")), ids=lambda p: p.name)
def test_human_fixture_not_flagged(path: Path) -> None:
    assert automated_reasons(inbound_from_eml(path)) == []


def test_ooo_fixtures_cover_twelve_languages() -> None:
    langs = {n.split("_")[1] for n in EXPECTED if n.startswith("ooo_")}
    assert langs >= {"sv", "en", "de", "fr", "es", "it", "nl", "da", "no", "fi", "pl", "pt"}


@pytest.mark.parametrize(
    ("headers", "family"),
    [
        ((("auto-submitted", "auto-notified"),), "auto-submitted: auto-notified"),
        ((("auto-submitted", "auto-replied; owner-email=\"a@example.org\""),), "auto-submitted: auto-replied"),
        ((("precedence", "junk"),), "precedence: junk"),
        ((("precedence", "list"),), "precedence: list"),
        ((("precedence", "auto_reply"),), "precedence: auto_reply"),
        ((("list-unsubscribe", "<mailto:u@example.org>"),), "list-unsubscribe"),
        ((("list-post", "<mailto:l@example.org>"),), "list-post"),
        ((("return-path", "<>"),), "empty return-path"),
        ((("x-autorespond", "yes"),), "x-autorespond"),
        ((("x-auto-response-suppress", "RN, NRN"),), "x-auto-response-suppress: RN"),
        ((("x-failed-recipients", "x@example.org"),), "x-failed-recipients"),
        ((("content-type", "multipart/report; report-type=delivery-status"),), "dsn:"),
    ],
)
def test_header_signals(headers: tuple[tuple[str, str], ...], family: str) -> None:
    reason = automated_reason(make_inbound("Hej", "Hej", headers=headers))
    assert reason is not None and reason.startswith(family), reason


def test_bare_multipart_report_without_header_is_a_dsn() -> None:
    msg = make_inbound("Delivery failed", "x", content_type="multipart/report")
    assert automated_reason(msg) == "dsn: multipart/report"


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.org", "postmaster@example.org", "noreply-dsn@example.org"]
)
def test_bounce_senders(sender: str) -> None:
    assert automated_reason(make_inbound("Your message failed", "Failure", sender=sender)) is not None


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        # a person writing about an automated message, or using the words in a sentence
        ("Re: Automatic reply: my erasure request", "Stop sending me auto replies and delete my data."),
        ("SV: Autosvar: Din begäran", "Jag vill fortfarande att ni raderar mina uppgifter."),
        ("AW: Abwesenheitsnotiz", "Bitte löschen Sie meine Daten."),
        ("Out of office staff keep ignoring my request", "Please delete my account."),
        ("Question about the absence policy", "Do you keep sick leave records about me?"),
        ("Automatic reply", "All I got was an automatic reply. Delete my personal data now."),
        ("Avregistrera", "Avregistrera mig, tack."),
        ("Mail delivery to your DPO", "Why does mail delivery fail? I want a copy of my data."),
        ("Hej", "Jag är ledig till måndag men vill redan nu begära ett registerutdrag."),
        ("", "unsubscribe"),
        ("Returned goods and my data", "I returned my order; please delete my address."),
    ],
)
def test_human_messages_not_flagged(subject: str, body: str) -> None:
    msg = make_inbound(body, subject, headers=(("auto-submitted", "no"), ("return-path", "<a@example.se>")))
    assert automated_reasons(msg) == []


def test_noreply_contact_form_is_not_automated() -> None:
    # Web forms relay people's requests from noreply@ addresses: never silence them for it.
    msg = make_inbound("Please delete my data.", "Contact form", sender="noreply@example.com")
    assert automated_reason(msg) is None


def test_subject_only_ooo_with_absence_wording_is_flagged_even_if_body_mentions_data() -> None:
    body = "I am out of the office until 20 March. For GDPR questions contact dpo@example.com."
    assert automated_reason(make_inbound(body, "Out of office")) is not None


def test_own_mail_by_domain_needs_auto_submitted() -> None:
    mine = make_inbound("x", "x", message_id="<a1@example.com>", headers=(("auto-submitted", "auto-replied"),))
    assert own_mail_reason(mine, "example.com") == "own mail: message-id on our domain"
    forwarded = make_inbound("x", "x", message_id="<a1@example.com>")
    assert own_mail_reason(forwarded, "example.com") is None
    assert own_mail_reason(mine, "example.org") is None
