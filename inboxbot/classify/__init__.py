"""Classification: rules first, a learned model where rules are unsure.

Every classifier takes parsed messages and returns one Verdict per message, in order.
Classification is CPU work: callers run it off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from inboxbot.domain import Inbound, Verdict


class Classifier(Protocol):
    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]:
        """One Verdict per message, in the same order."""
        ...
