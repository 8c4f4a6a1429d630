"""The reply templates under prompts/replies/ render cleanly for every language, intent and flag.

The environment here is the one the renderer uses (StrictUndefined, no trim_blocks), so a typo in a
variable name, a missing intent paragraph or a stray blank line fails here rather than in a reply.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined, meta

from inboxbot.config import DEFAULT_PROMPTS, Authority, Organisation
from inboxbot.domain import Intent

LANGS = ("sv", "en")
REPLY_INTENTS = [i for i in Intent if i is not Intent.AUTO_REPLY]
ACK_VARS = {
    "org", "sender_name", "intents", "ticket", "received_date_text", "suppressed",
    "verification_needed", "original_subject",
}
ESCALATION_VARS = {"org", "ticket", "reason", "breach", "breach_deadline_text"}
MAX_LINE = 100

# One phrase per language that only the paragraph in question uses.
SUPPRESSED_MARK = {"sv": "spärrlista", "en": "suppression list"}
VERIFY_MARK = {"sv": "bekräfta\ndin identitet", "en": "confirm your\nidentity"}
TRANSACTIONAL_MARK = {"sv": "orderbekräftelser", "en": "order confirmations"}
GREETING = {"sv": "Hej", "en": "Hello"}
DUE_PHRASE = {"sv": "Du får svar senast {}.", "en": "You will hear from us by {} at the latest."}
DATES = {"sv": ("23 december 2026", "2 november 2026"), "en": ("23 December 2026", "2 November 2026")}


@dataclass(frozen=True)
class TicketView:
    reference: str
    due_date: date
    due_date_text: str


@dataclass(frozen=True)
class EscalationTicket:
    reference: str
    due_date_text: str
    intents: list[str]
    summary: str


@pytest.fixture(scope="module")
def env() -> Environment:
    return Environment(
        loader=FileSystemLoader(DEFAULT_PROMPTS),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def make_org(**changes: Any) -> Organisation:
    base = Organisation(
        name="Exempelbolaget",
        legal_name="Exempelbolaget i Sverige AB",
        reply_from="privacy@example.com",
        dpo_email="dpo@example.com",
        authority=Authority(),
        sends_marketing=True,
        transactional_mail_continues=False,
    )
    return dataclasses.replace(base, **changes)


def make_ticket(lang: str) -> TicketView:
    return TicketView("PRIV-2026-000123", date(2026, 12, 23), DATES[lang][0])


def render_ack(env: Environment, lang: str, intents: list[Any], **overrides: Any) -> str:
    context: dict[str, Any] = {
        "org": make_org(),
        "sender_name": "Karin Lindqvist",
        "intents": intents,
        "ticket": make_ticket(lang),
        "received_date_text": DATES[lang][1],
        "suppressed": False,
        "verification_needed": False,
        "original_subject": "Begäran om registerutdrag",
    }
    context.update(overrides)
    return env.get_template(f"replies/{lang}/ack.txt.j2").render(**context)


def paragraph(env: Environment, lang: str, intent: str, org: Organisation) -> str:
    return env.get_template(f"replies/{lang}/intents/{intent}.txt.j2").render(org=org).strip()


def check_layout(text: str) -> tuple[str, str]:
    """Shared shape of every rendered message: Subject line, empty line, clean plain-text body."""
    lines = text.split("\n")
    assert lines[0].startswith("Subject: ") and len(lines[0]) > len("Subject: ")
    assert lines[1] == "", "the subject must be followed by an empty line"
    body = "\n".join(lines[2:])
    assert body.strip(), "empty body"
    for marker in ("{{", "}}", "{%", "%}", "{#", "#}"):
        assert marker not in text, f"template syntax left in output: {marker}"
    for line in lines[2:]:
        assert len(line) <= MAX_LINE, f"line too long ({len(line)}): {line!r}"
        assert line == line.rstrip(), f"trailing whitespace: {line!r}"
    assert "\n\n\n" not in body, "two empty lines in a row"
    assert text.endswith("\n") and not text.endswith("\n\n")
    return lines[0][len("Subject: "):], body


def test_every_intent_has_a_paragraph_in_both_languages() -> None:
    for lang in LANGS:
        found = {p.name.removesuffix(".txt.j2") for p in (DEFAULT_PROMPTS / "replies" / lang / "intents").iterdir()}
        assert found == {str(i) for i in REPLY_INTENTS}, lang
        for name in ("ack.txt.j2", "escalation.txt.j2"):
            assert (DEFAULT_PROMPTS / "replies" / lang / name).is_file()


@pytest.mark.parametrize("lang", LANGS)
def test_templates_use_only_the_documented_context(env: Environment, lang: str) -> None:
    root = Path(DEFAULT_PROMPTS)

    def undeclared(name: str) -> set[str]:
        source = (root / name).read_text(encoding="utf-8")
        return meta.find_undeclared_variables(env.parse(source))

    assert undeclared(f"replies/{lang}/ack.txt.j2") <= ACK_VARS
    for intent in REPLY_INTENTS:
        assert undeclared(f"replies/{lang}/intents/{intent}.txt.j2") <= ACK_VARS
    # Included inside the ack's loop over intents, so it also sees the loop's `intent`.
    assert undeclared(f"replies/{lang}/unlisted_right.txt.j2") <= ACK_VARS | {"intent"}
    # The escalation notice may only see the summary line, never the message body.
    assert undeclared(f"replies/{lang}/escalation.txt.j2") <= ESCALATION_VARS


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("intent", REPLY_INTENTS, ids=str)
def test_ack_with_ticket(env: Environment, lang: str, intent: Intent) -> None:
    ticket = make_ticket(lang)
    text = render_ack(env, lang, [intent])
    subject, body = check_layout(text)
    assert f"[{ticket.reference}]" in subject
    assert ticket.reference in body
    assert DUE_PHRASE[lang].format(ticket.due_date_text) in body
    assert DATES[lang][1] in body
    assert paragraph(env, lang, intent, make_org()) in body
    assert body.startswith(f"{GREETING[lang]} Karin Lindqvist,\n")
    assert body.rstrip().endswith("privacy@example.com")
    assert "Exempelbolaget i Sverige AB" in body


@pytest.mark.parametrize("lang", LANGS)
def test_plain_string_intents_render_like_enum_members(env: Environment, lang: str) -> None:
    assert render_ack(env, lang, ["erasure"]) == render_ack(env, lang, [Intent.ERASURE])


@pytest.mark.parametrize("lang", LANGS)
def test_complaint_names_the_supervisory_authority(env: Environment, lang: str) -> None:
    org = make_org(authority=Authority(name="Tillsynsverket Exempel", url="https://tillsyn.example.se"))
    _, body = check_layout(render_ack(env, lang, [Intent.COMPLAINT], org=org))
    assert "Tillsynsverket Exempel" in body and "https://tillsyn.example.se" in body
    _, other = check_layout(render_ack(env, lang, [Intent.ACCESS], org=org))
    assert "Tillsynsverket Exempel" not in other


@pytest.mark.parametrize("lang", LANGS)
def test_multi_intent_keeps_order_and_each_paragraph(env: Environment, lang: str) -> None:
    org = make_org()
    text = render_ack(env, lang, [Intent.ERASURE, Intent.UNSUBSCRIBE], suppressed=True, verification_needed=True)
    _, body = check_layout(text)
    first, second = paragraph(env, lang, "erasure", org), paragraph(env, lang, "unsubscribe", org)
    assert first in body and second in body
    assert body.index(first) < body.index(second)
    assert SUPPRESSED_MARK[lang] in body


@pytest.mark.parametrize("lang", LANGS)
def test_unsubscribe_without_ticket(env: Environment, lang: str) -> None:
    text = render_ack(env, lang, [Intent.UNSUBSCRIBE], ticket=None, suppressed=True)
    subject, body = check_layout(text)
    assert "PRIV-" not in text and "[" not in subject
    assert DATES[lang][0] not in body
    assert SUPPRESSED_MARK[lang] in body
    assert subject != check_layout(render_ack(env, lang, [Intent.GENERAL], ticket=None))[0]


@pytest.mark.parametrize("lang", LANGS)
def test_suppression_sentence_only_when_suppressed(env: Environment, lang: str) -> None:
    _, body = check_layout(render_ack(env, lang, [Intent.UNSUBSCRIBE], ticket=None, suppressed=False))
    assert SUPPRESSED_MARK[lang] not in body


@pytest.mark.parametrize("lang", LANGS)
def test_empty_sender_name_greets_neutrally(env: Environment, lang: str) -> None:
    _, body = check_layout(render_ack(env, lang, [Intent.ACCESS], sender_name=""))
    assert body.startswith(f"{GREETING[lang]},\n")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("needed", [True, False])
def test_verification_sentence_follows_flag(env: Environment, lang: str, needed: bool) -> None:
    _, body = check_layout(render_ack(env, lang, [Intent.ACCESS], verification_needed=needed))
    assert (VERIFY_MARK[lang] in body) is needed


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("continues", [True, False])
@pytest.mark.parametrize("intent", [Intent.UNSUBSCRIBE, Intent.OBJECTION, Intent.ACCESS], ids=str)
def test_transactional_note(env: Environment, lang: str, continues: bool, intent: Intent) -> None:
    org = make_org(transactional_mail_continues=continues)
    _, body = check_layout(render_ack(env, lang, [intent], org=org))
    expected = continues and intent in (Intent.UNSUBSCRIBE, Intent.OBJECTION)
    assert (TRANSACTIONAL_MARK[lang] in body) is expected


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("intent", [Intent.UNSUBSCRIBE, Intent.OBJECTION], ids=str)
def test_organisation_without_marketing(env: Environment, lang: str, intent: Intent) -> None:
    org = make_org(name="Roxenex", legal_name="Roxenex", sends_marketing=False)
    _, body = check_layout(render_ack(env, lang, [intent], org=org))
    assert paragraph(env, lang, intent, org) in body
    assert paragraph(env, lang, intent, org) != paragraph(env, lang, intent, make_org())
    assert body.count("Roxenex") >= 2  # named in the paragraph and in the signature


@pytest.mark.parametrize("lang", LANGS)
def test_policy_notes_are_listed_and_wrapped(env: Environment, lang: str) -> None:
    note = "Bokföringsunderlag sparas i sju år efter utgången av räkenskapsåret " * 3
    org = make_org(policy_notes=(note.strip(), "Serverloggar sparas i sex månader."))
    _, body = check_layout(render_ack(env, lang, [Intent.ERASURE], org=org))
    assert "- Serverloggar sparas i sex månader." in body
    _, without_ticket = check_layout(render_ack(env, lang, [Intent.UNSUBSCRIBE], org=org, ticket=None))
    assert "Serverloggar" not in without_ticket


@pytest.mark.parametrize("lang", LANGS)
def test_long_or_missing_original_subject(env: Environment, lang: str) -> None:
    for length in range(30, 120, 7):
        check_layout(render_ack(env, lang, [Intent.GENERAL], original_subject=("Fråga " * 30)[:length]))
    _, body = check_layout(render_ack(env, lang, [Intent.GENERAL], original_subject=""))
    assert '""' not in body


@pytest.mark.parametrize("lang", LANGS)
def test_subject_names_the_kind_of_case(env: Environment, lang: str) -> None:
    subjects = {
        intent: check_layout(render_ack(env, lang, [intent]))[0]
        for intent in (Intent.ACCESS, Intent.COMPLAINT, Intent.GENERAL)
    }
    assert len(set(subjects.values())) == 3


def render_escalation(env: Environment, lang: str, **overrides: Any) -> str:
    context: dict[str, Any] = {
        "org": make_org(),
        "ticket": EscalationTicket(
            "PRIV-2026-000456", DATES[lang][0], ["complaint", "access"],
            "Sender has waited two months for an access request and names the authority.",
        ),
        "reason": "complaint mentions the supervisory authority",
        "breach": False,
        "breach_deadline_text": "",
    }
    context.update(overrides)
    return env.get_template(f"replies/{lang}/escalation.txt.j2").render(**context)


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_without_breach(env: Environment, lang: str) -> None:
    subject, body = check_layout(render_escalation(env, lang))
    assert "[PRIV-2026-000456]" in subject
    assert "Sender has waited two months" in body
    assert "complaint mentions the supervisory authority" in body
    assert DATES[lang][0] in body
    assert "72" not in body


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_for_breach(env: Environment, lang: str) -> None:
    long_summary = "Mottagaren fick en annan kunds faktura med namn, adress och personnummer. " * 3
    ticket = EscalationTicket("PRIV-2026-000457", DATES[lang][0], [Intent.GENERAL], long_summary.strip())
    plain = check_layout(render_escalation(env, lang, ticket=ticket))[0]
    subject, body = check_layout(
        render_escalation(env, lang, ticket=ticket, breach=True, breach_deadline_text="19 november 2026 kl. 08.12")
    )
    assert subject != plain
    assert "72" in body and "19 november 2026 kl. 08.12" in body
    assert make_org().authority.name in body
    _, no_deadline = check_layout(render_escalation(env, lang, ticket=ticket, breach=True))
    assert "72" in no_deadline
    assert not re.search(r"(tidsgränsen|deadline is) *\.", no_deadline)


# -- what the organisation's profile adds (config/profiles/) -------------------------------------

RIGHTS = [i for i in REPLY_INTENTS if str(i) in Organisation().rights]
UNLISTED_MARK = {"sv": "beskriver inte den här rättigheten", "en": "does not describe this right"}
NO_NEWSLETTER = {"sv": "skickar inga nyhetsbrev", "en": "does not send newsletters"}


def test_default_organisation_offers_every_right() -> None:
    assert {str(i) for i in RIGHTS} == {"access", "erasure", "rectification", "objection",
                                        "restriction", "portability", "consent_withdrawal"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("intent", RIGHTS, ids=str)
def test_right_not_in_the_policy_is_named_and_sent_to_the_dpo(env: Environment, lang: str, intent: Intent) -> None:
    org = make_org(rights=tuple(str(r) for r in RIGHTS if r != intent))
    _, body = check_layout(render_ack(env, lang, [intent], org=org))
    assert " ".join(UNLISTED_MARK[lang].split()) in " ".join(body.split())
    assert paragraph(env, lang, intent, org) not in body
    # the same right, offered: its own paragraph and no such sentence
    _, offered = check_layout(render_ack(env, lang, [intent]))
    assert paragraph(env, lang, intent, make_org()) in offered
    assert " ".join(UNLISTED_MARK[lang].split()) not in " ".join(offered.split())


@pytest.mark.parametrize("lang", LANGS)
def test_unlisted_right_beside_a_listed_one(env: Environment, lang: str) -> None:
    org = make_org(rights=("access",))
    _, body = check_layout(render_ack(env, lang, [Intent.ACCESS, Intent.RESTRICTION], org=org))
    assert paragraph(env, lang, "access", org) in body
    assert " ".join(UNLISTED_MARK[lang].split()) in " ".join(body.split())


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("years", "after", "phrase"), [
    (7, "last_contact", {"sv": "senaste kontakt", "en": "last contact"}),
    (10, "relationship_end", {"sv": "kundrelationen", "en": "customer relationship"}),
])
def test_erasure_mentions_the_policys_retention(env: Environment, lang: str, years: int, after: str,
                                                phrase: dict[str, str]) -> None:
    org = make_org(retention_years=years, retention_after=after)
    _, body = check_layout(render_ack(env, lang, [Intent.ERASURE], org=org))
    flat = " ".join(body.split())
    assert f" {years} " in flat and phrase[lang] in flat
    _, none = check_layout(render_ack(env, lang, [Intent.ERASURE]))
    assert phrase[lang] not in " ".join(none.split())
    _, access = check_layout(render_ack(env, lang, [Intent.ACCESS], org=org))
    assert phrase[lang] not in " ".join(access.split())


@pytest.mark.parametrize("lang", LANGS)
def test_complaint_names_the_disputes_body_besides_the_authority(env: Environment, lang: str) -> None:
    org = make_org(disputes_body="Stockholm Chamber of Commerce")
    _, body = check_layout(render_ack(env, lang, [Intent.COMPLAINT], org=org))
    flat = " ".join(body.split())
    assert "Stockholm Chamber of Commerce" in flat
    assert org.authority.name in flat and org.authority.address in flat and org.authority.url in flat
    _, plain = check_layout(render_ack(env, lang, [Intent.COMPLAINT]))
    assert "Chamber" not in plain
    _, other = check_layout(render_ack(env, lang, [Intent.ACCESS], org=org))
    assert "Chamber" not in other


@pytest.mark.parametrize("lang", LANGS)
def test_complaint_without_authority_address(env: Environment, lang: str) -> None:
    org = make_org(authority=Authority(name="Tillsynsverket Exempel", url="https://tillsyn.example.se",
                                       address=""))
    _, body = check_layout(render_ack(env, lang, [Intent.COMPLAINT], org=org))
    assert "Tillsynsverket Exempel, https://tillsyn.example.se" in body


@pytest.mark.parametrize("lang", LANGS)
def test_no_marketing_unsubscribe_claims_no_newsletter(env: Environment, lang: str) -> None:
    org = make_org(name="Roxenex", legal_name="Roxenex", sends_marketing=False)
    subject, body = check_layout(render_ack(env, lang, [Intent.UNSUBSCRIBE], org=org, ticket=None,
                                            suppressed=True))
    marketing_subject, marketing_body = check_layout(
        render_ack(env, lang, [Intent.UNSUBSCRIBE], ticket=None, suppressed=True))
    assert subject != marketing_subject
    assert NO_NEWSLETTER[lang] in " ".join(body.split())
    assert SUPPRESSED_MARK[lang] in body  # still noted, so it stays true if that ever changes
    # The marketing organisation's sentences ("no longer be used for newsletters") are absent.
    for line in marketing_body.splitlines():
        if "nyhetsbrev" in line or "newsletters" in line:
            assert line not in body


@pytest.mark.parametrize("lang", LANGS)
def test_signature_names_the_controller(env: Environment, lang: str) -> None:
    org = make_org(name="Nexo", legal_name="Nexo Secured Solutions AB", org_number="556000-1234",
                   postal_address="Exempelvägen 1, 111 11 Stockholm")
    _, body = check_layout(render_ack(env, lang, [Intent.ACCESS], org=org))
    tail = body.rstrip().splitlines()[-4:]
    assert tail[0] == "Nexo"
    assert tail[1].startswith("Nexo Secured Solutions AB, org") and tail[1].endswith("556000-1234")
    assert tail[2] == "Exempelvägen 1, 111 11 Stockholm"
    assert tail[3] == "privacy@example.com"
    # a name that is the legal name, with a number: the number still shows
    _, same = check_layout(render_ack(env, lang, [Intent.ACCESS],
                                      org=make_org(name="Qlox AB", legal_name="Qlox AB", org_number="1")))
    assert "Qlox AB, org" in same
