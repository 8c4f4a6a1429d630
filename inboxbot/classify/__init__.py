"""Classification: rules first, a learned model where rules are unsure.

Every classifier takes parsed messages and returns one Verdict per message, in order.
Classification is CPU work: callers run it off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from inboxbot.domain import Inbound, Verdict

if TYPE_CHECKING:
    from inboxbot.config import Settings


class Classifier(Protocol):
    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]:
        """One Verdict per message, in the same order."""
        ...


def make_classifier(settings: Settings) -> Classifier:
    """The classifier the configuration asks for. Heavy imports happen only here."""
    from inboxbot.classify.rules import RuleClassifier

    rules = RuleClassifier(settings.prompts_dir / "lexicon",
                           review_threshold=settings.classifier.review_threshold)
    return rules
