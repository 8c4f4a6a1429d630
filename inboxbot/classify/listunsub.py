"""Mail sent to one of our own List-Unsubscribe mailto addresses (RFC 2369) is an unsubscribe.

Our newsletters carry `List-Unsubscribe: <mailto:unsubscribe@example.com?subject=unsubscribe>`;
a mail client's "unsubscribe" button sends exactly such a message, often with no words at all.
Whatever the classifier made of the text, the address says what the sender wants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from inboxbot.domain import Inbound, Intent, IntentScore, Verdict

CONFIDENCE = 0.99


def apply_list_unsubscribe(msg: Inbound, verdict: Verdict, addresses: Iterable[str]) -> Verdict:
    """The verdict with `unsubscribe` added (as the label when nothing else was asked) when the
    message was addressed to one of `addresses`. Automated mail stays automated."""
    ours = {a.strip().lower() for a in addresses if a.strip()}
    hit = next((r for r in msg.recipients if r.lower() in ours), None)
    if hit is None or verdict.automated:
        return verdict
    reason = f"sent to our List-Unsubscribe address {hit.lower()} (RFC 2369)"
    score = IntentScore(Intent.UNSUBSCRIBE, CONFIDENCE, reason)
    others = tuple(s for s in verdict.intents if s.intent not in (Intent.UNSUBSCRIBE, Intent.GENERAL))
    intents = (score,) + others if not others else others + (score,)
    label = intents[0]
    return replace(verdict, label=label.intent, confidence=label.confidence, intents=intents,
                   needs_review=False if not others else verdict.needs_review,
                   reasons=(reason,) + verdict.reasons)
