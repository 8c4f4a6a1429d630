"""From (message, verdict, history) to a Decision: a plain list of actions with reasons.

Pure: no I/O, no clock. pipeline.py carries the decision out in one transaction.
"""

from __future__ import annotations

from inboxbot.domain import (
    RIGHTS_INTENTS,
    SUPPRESSING_INTENTS,
    TICKET_INTENTS,
    Action,
    ActionKind,
    Decision,
    History,
    Inbound,
    Intent,
    ReviewFlag,
    Verdict,
)
from inboxbot.authres import AuthStatus
from inboxbot.guards import ReplyPolicy, may_autoreply, sender_auth
from inboxbot.identity import mismatch_flags

# What a history import leaves out: nobody is written to about mail that is months old.
REPEAT_REASON = "same request again, joins"
_MAIL_ACTIONS = frozenset({ActionKind.ACKNOWLEDGE, ActionKind.ESCALATE})


def _request_intents(verdict: Verdict) -> tuple[Intent, ...]:
    return tuple(s.intent for s in verdict.intents if s.intent != Intent.AUTO_REPLY)


def decide(
    msg: Inbound,
    verdict: Verdict,
    history: History,
    policy: ReplyPolicy,
    *,
    offered: frozenset[Intent] = RIGHTS_INTENTS,
    handles: frozenset[Intent] = frozenset(),
) -> Decision:
    """Plan what to do with one message. The order of checks is the order of precedence.

    `offered` is the set of rights the organisation's privacy policy names: a request for any
    other right is still a request (the law grants it) but goes to the DPO at once. `handles`,
    when not empty, limits a shared mailbox to these intents; other mail is left to its people.
    """
    if history.already_processed:
        return Decision("duplicate", (Action(ActionKind.RECORD, "Message-ID already handled"),),
                        withheld_ack_reason="duplicate of a handled message")
    if history.own_message:
        return Decision("own_mail", (Action(ActionKind.RECORD, "our own mail came back"),),
                        withheld_ack_reason="our own mail coming back")
    if verdict.automated:
        why = verdict.reasons[0] if verdict.reasons else "automated mail"
        return Decision("automated", (Action(ActionKind.RECORD, why),),
                        withheld_ack_reason="automated mail: " + why)

    intents = _request_intents(verdict) or (Intent.GENERAL,)
    if handles and history.thread_ticket is None and not handles.intersection(intents):
        return Decision("not_ours", (Action(ActionKind.RECORD, "not a request this mailbox handles"),),
                        withheld_ack_reason="left for the mailbox's own team")
    actions: list[Action] = []

    suppressing = tuple(i for i in intents if i in SUPPRESSING_INTENTS)
    if suppressing:
        # Art. 21(3) and 7(3): marketing stops at once; no identity check is needed to stop it.
        actions.append(Action(ActionKind.SUPPRESS, "asks to stop marketing: " + ", ".join(suppressing),
                              suppressing))

    joined = history.thread_ticket or history.earlier_request
    if history.thread_ticket is not None:
        actions.append(Action(ActionKind.FOLLOW_UP,
                              f"follows up {history.thread_ticket.reference}", intents))
        outcome = "follow_up"
    elif history.earlier_request is not None:
        # The same person asking the same again within the window: one request, one clock.
        actions.append(Action(ActionKind.FOLLOW_UP,
                              f"{REPEAT_REASON} {history.earlier_request.reference}", intents))
        outcome = "duplicate_request"
    else:
        ticketed = tuple(i for i in intents if i in TICKET_INTENTS)
        if ticketed:
            actions.append(Action(ActionKind.OPEN_TICKET, "request: " + ", ".join(ticketed), ticketed))
            outcome = "ticket"
        else:
            outcome = "suppressed"

    if Intent.COMPLAINT in intents or verdict.breach_reported:
        why = "reported personal data breach" if verdict.breach_reported else "complaint"
        actions.append(Action(ActionKind.ESCALATE, why, intents))
    unlisted = tuple(i for i in intents if i in RIGHTS_INTENTS and i not in offered)
    if unlisted and joined is None:
        actions.append(Action(ActionKind.ESCALATE, "right not named in the privacy policy: "
                              + ", ".join(unlisted), intents))

    allowed, reason = may_autoreply(msg, verdict, history, policy)
    withheld: str | None = None
    if allowed and joined is None:
        actions.append(Action(ActionKind.ACKNOWLEDGE, reason, intents))
    elif not allowed:
        withheld = reason
    elif history.thread_ticket is not None:
        withheld = "follow-up in an acknowledged thread"
    else:
        withheld = f"repeats {joined.reference}, which was acknowledged" if joined else reason
    return Decision(outcome, tuple(actions), withheld_ack_reason=withheld,
                    flags=review_flags(msg, intents, history, policy))


def review_flags(msg: Inbound, intents: tuple[Intent, ...], history: History,
                 policy: ReplyPolicy) -> tuple[ReviewFlag, ...]:
    """Why a person should look before anyone acts: an unverified sender domain, or an asker
    who may not be the person the request is about."""
    flags: list[ReviewFlag] = []
    auth = sender_auth(msg, policy)
    if auth.status in (AuthStatus.FAIL, AuthStatus.NONE):
        flags.append(ReviewFlag("unauthenticated", f"sender domain not authenticated: {auth.detail}"))
    flags.extend(mismatch_flags(msg, intents, history.thread_ticket, policy.own_addresses))
    return tuple(flags)


def without_mail(decision: Decision, why: str) -> Decision:
    """The same decision with no acknowledgement and no escalation: tickets, suppressions and
    the record stay. Used by `inboxbot backfill` for mail that arrived before inboxbot ran."""
    kept = tuple(a for a in decision.actions if a.kind not in _MAIL_ACTIONS)
    if kept == decision.actions:
        return decision
    withheld = decision.withheld_ack_reason
    if decision.has(ActionKind.ACKNOWLEDGE) or withheld is None:
        withheld = why
    return Decision(decision.outcome, kept, withheld_ack_reason=withheld, flags=decision.flags)
