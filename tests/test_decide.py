"""decide() and may_autoreply(): pure, so every branch is checked without servers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from inboxbot.decide import decide
from inboxbot.domain import (
    ActionKind,
    Address,
    History,
    Inbound,
    Intent,
    IntentScore,
    TicketRef,
    Verdict,
)
from inboxbot.guards import ReplyPolicy, may_autoreply

POLICY = ReplyPolicy(
    enabled=True,
    own_addresses=frozenset({"privacy@example.com", "dpo@example.com"}),
    max_per_sender_per_day=3,
    max_per_domain_per_hour=20,
    max_per_hour=200,
)

MSG = Inbound(
    message_id="<m1@example.se>",
    sender=Address("anna@example.se", "Anna Andersson"),
    reply_to=None,
    recipients=("privacy@example.com",),
    subject="Radera mina uppgifter",
    in_reply_to=None,
    references=(),
    date=None,
    received_at=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc),
    body="Hej, radera mina uppgifter.",
    full_text="Hej, radera mina uppgifter.",
    language="sv",
    headers=(),
    content_type="text/plain",
)


def verdict(*intents: Intent, automated: bool = False, breach: bool = False) -> Verdict:
    scores = tuple(IntentScore(i, 0.9, "test") for i in intents)
    return Verdict(intents[0], 0.9, scores, automated, "sv", ("test rule",), breach_reported=breach)


def kinds(decision: object) -> list[ActionKind]:
    return [a.kind for a in decision.actions]  # type: ignore[attr-defined]


def test_erasure_opens_ticket_and_acknowledges() -> None:
    d = decide(MSG, verdict(Intent.ERASURE), History(), POLICY)
    assert d.outcome == "ticket"
    assert kinds(d) == [ActionKind.OPEN_TICKET, ActionKind.ACKNOWLEDGE]
    assert d.withheld_ack_reason is None


def test_erasure_and_unsubscribe_do_both() -> None:
    d = decide(MSG, verdict(Intent.ERASURE, Intent.UNSUBSCRIBE), History(), POLICY)
    assert ActionKind.SUPPRESS in kinds(d) and ActionKind.OPEN_TICKET in kinds(d)
    ticket = next(a for a in d.actions if a.kind == ActionKind.OPEN_TICKET)
    assert ticket.intents == (Intent.ERASURE,)  # a bare unsubscribe needs no ticket


def test_unsubscribe_alone_suppresses_without_ticket() -> None:
    d = decide(MSG, verdict(Intent.UNSUBSCRIBE), History(), POLICY)
    assert d.outcome == "suppressed"
    assert kinds(d) == [ActionKind.SUPPRESS, ActionKind.ACKNOWLEDGE]


@pytest.mark.parametrize("intent", [Intent.OBJECTION, Intent.CONSENT_WITHDRAWAL])
def test_objection_and_withdrawal_suppress_and_ticket(intent: Intent) -> None:
    d = decide(MSG, verdict(intent), History(), POLICY)
    assert ActionKind.SUPPRESS in kinds(d) and ActionKind.OPEN_TICKET in kinds(d)


def test_complaint_and_breach_escalate() -> None:
    assert ActionKind.ESCALATE in kinds(decide(MSG, verdict(Intent.COMPLAINT), History(), POLICY))
    d = decide(MSG, verdict(Intent.GENERAL, breach=True), History(), POLICY)
    assert ActionKind.ESCALATE in kinds(d)
    assert not any(a.kind == ActionKind.ESCALATE for a in
                   decide(MSG, verdict(Intent.ACCESS), History(), POLICY).actions)


def test_automated_mail_is_only_recorded() -> None:
    d = decide(MSG, verdict(Intent.AUTO_REPLY, automated=True), History(), POLICY)
    assert d.outcome == "automated" and kinds(d) == [ActionKind.RECORD]
    assert d.withheld_ack_reason and "automated" in d.withheld_ack_reason


def test_duplicate_and_own_mail_are_only_recorded() -> None:
    assert decide(MSG, verdict(Intent.ERASURE), History(already_processed=True), POLICY).outcome == "duplicate"
    assert decide(MSG, verdict(Intent.ERASURE), History(own_message=True), POLICY).outcome == "own_mail"


def test_follow_up_joins_ticket_without_new_acknowledgement() -> None:
    ref = TicketRef(7, "PRIV-2026-000007", "open", "anna@example.se")
    d = decide(MSG, verdict(Intent.ERASURE), History(thread_ticket=ref, thread_acknowledged=True), POLICY)
    assert d.outcome == "follow_up"
    assert ActionKind.OPEN_TICKET not in kinds(d) and ActionKind.ACKNOWLEDGE not in kinds(d)
    assert ActionKind.FOLLOW_UP in kinds(d)


def test_follow_up_with_unsubscribe_still_suppresses() -> None:
    ref = TicketRef(7, "PRIV-2026-000007", "open", "anna@example.se")
    d = decide(MSG, verdict(Intent.UNSUBSCRIBE), History(thread_ticket=ref, thread_acknowledged=True), POLICY)
    assert ActionKind.SUPPRESS in kinds(d)


def test_daily_cap_withholds_ack_but_keeps_ticket() -> None:
    d = decide(MSG, verdict(Intent.ACCESS), History(acks_to_sender_today=3), POLICY)
    assert ActionKind.OPEN_TICKET in kinds(d) and ActionKind.ACKNOWLEDGE not in kinds(d)
    assert d.withheld_ack_reason is not None and "cap" in d.withheld_ack_reason


@pytest.mark.parametrize(
    ("change", "history", "expected"),
    [
        ({}, History(), (True, "person")),
        ({"sender": None}, History(), (False, "no usable sender")),
        ({"sender": Address("MAILER-DAEMON@example.se")}, History(), (False, "machine sender")),
        ({"sender": Address("no-reply@shop.example")}, History(), (False, "machine sender")),
        ({"sender": Address("Privacy@Example.com")}, History(), (False, "our own addresses")),
        ({}, History(thread_acknowledged=True), (False, "already acknowledged")),
        ({}, History(own_message=True), (False, "own mail")),
        ({}, History(acks_to_domain_last_hour=20), (False, "domain")),
        ({}, History(acks_last_hour=200), (False, "in total")),
    ],
)
def test_may_autoreply(change: dict[str, object], history: History, expected: tuple[bool, str]) -> None:
    msg = replace(MSG, **change)  # type: ignore[arg-type]
    ok, reason = may_autoreply(msg, verdict(Intent.ACCESS), history, POLICY)
    assert ok is expected[0]
    assert expected[1] in reason


def test_replies_disabled() -> None:
    ok, reason = may_autoreply(MSG, verdict(Intent.ACCESS), History(), replace(POLICY, enabled=False))
    assert not ok and "disabled" in reason


# -- organisation profiles: rights the policy names, shared mailboxes --------------------------

OFFERED = frozenset({Intent.ACCESS, Intent.ERASURE, Intent.RECTIFICATION, Intent.PORTABILITY,
                     Intent.CONSENT_WITHDRAWAL, Intent.OBJECTION})  # AXsensor: no restriction


def test_right_the_policy_does_not_name_is_still_a_ticket_and_goes_to_the_dpo() -> None:
    d = decide(MSG, verdict(Intent.RESTRICTION), History(), POLICY, offered=OFFERED)
    assert d.outcome == "ticket"
    assert kinds(d) == [ActionKind.OPEN_TICKET, ActionKind.ESCALATE, ActionKind.ACKNOWLEDGE]
    escalation = next(a for a in d.actions if a.kind == ActionKind.ESCALATE)
    assert escalation.reason == "right not named in the privacy policy: restriction"


def test_named_rights_are_not_escalated() -> None:
    d = decide(MSG, verdict(Intent.ERASURE, Intent.ACCESS), History(), POLICY, offered=OFFERED)
    assert ActionKind.ESCALATE not in kinds(d)


def test_follow_up_on_an_unnamed_right_is_not_escalated_again() -> None:
    history = History(thread_ticket=TicketRef(7, "AXS-2026-000007", "open", "anna@example.se"))
    d = decide(MSG, verdict(Intent.RESTRICTION), history, POLICY, offered=OFFERED)
    assert ActionKind.ESCALATE not in kinds(d)


@pytest.mark.parametrize(
    ("intents", "outcome"),
    [
        ((Intent.ERASURE,), "ticket"),
        ((Intent.UNSUBSCRIBE,), "suppressed"),
        ((Intent.GENERAL,), "not_ours"),
        ((Intent.COMPLAINT,), "not_ours"),
        ((Intent.GENERAL, Intent.ERASURE), "ticket"),
    ],
)
def test_shared_mailbox_takes_only_its_intents(intents: tuple[Intent, ...], outcome: str) -> None:
    handles = frozenset({Intent.ERASURE, Intent.ACCESS, Intent.UNSUBSCRIBE})
    d = decide(MSG, verdict(*intents), History(), POLICY, handles=handles)
    assert d.outcome == outcome
    if outcome == "not_ours":
        assert kinds(d) == [ActionKind.RECORD]
        assert d.withheld_ack_reason


def test_shared_mailbox_still_threads_follow_ups_to_our_tickets() -> None:
    history = History(thread_ticket=TicketRef(3, "ELX-2026-000003", "open", "anna@example.se"))
    d = decide(MSG, verdict(Intent.GENERAL), history, POLICY, handles=frozenset({Intent.ERASURE}))
    assert d.outcome == "follow_up"


def test_automated_mail_in_a_shared_mailbox_stays_automated() -> None:
    d = decide(MSG, verdict(Intent.AUTO_REPLY, automated=True), History(), POLICY,
               handles=frozenset({Intent.ERASURE}))
    assert d.outcome == "automated"


def test_same_request_again_joins_the_earlier_ticket_without_a_second_clock() -> None:
    earlier = TicketRef(9, "PRIV-2026-000009", "open", "anna@example.se")
    d = decide(MSG, verdict(Intent.ERASURE), History(earlier_request=earlier), POLICY)
    assert d.outcome == "duplicate_request"
    assert kinds(d) == [ActionKind.FOLLOW_UP]
    assert d.withheld_ack_reason is not None and "PRIV-2026-000009" in d.withheld_ack_reason
