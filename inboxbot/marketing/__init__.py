"""Suppression reaching the marketing systems: the event, the target protocol, the factory.

Every change to the suppression list becomes a `SuppressionEvent`, queued (in the same database
transaction) once per configured target and delivered by `pushes.deliver_pushes` with retries.
A marketing system being down delays a suppression; it never drops one.

What each action means to a target:

- `suppress`: stop marketing to this address (for `scope`: "all", or a named list).
- `unsuppress`: our list no longer holds it. Mirrors (webhook, file) drop it; marketing systems
  lift a block where their API has a clean way to, and never re-subscribe anyone: consent to
  marketing has to come from the person, through that system's own opt-in.
- `forget`: an erasure was carried out. The address is gone; only `sha256` travels. Mirrors drop
  the address and keep the hash; marketing systems keep their own opt-out record (it is what
  stops a re-import there) and are otherwise not contacted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from inboxbot.errors import PermanentError

if TYPE_CHECKING:
    from inboxbot.config import MarketingTarget, Settings

EventAction = Literal["suppress", "unsuppress", "forget"]


@dataclass(frozen=True)
class SuppressionEvent:
    """One change to the suppression list, as sent to every target. `id` is stable across retries."""

    id: str
    action: EventAction
    address: str | None  # normalised; None after an erasure
    sha256: str
    scope: str
    at: datetime


class SuppressionTarget(Protocol):
    """A marketing system or export. `push` must be idempotent: the same event twice is harmless.

    Raise `inboxbot.errors.TransientError` to be retried later (server down, 5xx, timeout) and
    `PermanentError` when a retry cannot help (the request itself is refused).
    """

    name: str

    async def push(self, event: SuppressionEvent) -> None: ...


def address_to_push(event: SuppressionEvent, target: str, by_hand: str) -> str | None:
    """The address an API adapter acts on, or None when there is nothing to send.

    Marketing APIs know people by address, so a `forget` (the address erased, only the hash
    kept) sends nothing, and neither does lifting an entry whose address is gone. A suppression
    whose address was erased before it could be pushed cannot be sent at all: that is a
    PermanentError, with `by_hand` telling the DPO what to do in `target` instead.
    """
    if event.action == "forget":
        return None
    if event.address:
        return event.address
    if event.action == "unsuppress":
        return None  # an erased entry taken off our list: nothing we could name to lift
    raise PermanentError(f"{target}: the address was erased before it could be sent; {by_hand}")


def make_target(config: MarketingTarget) -> SuppressionTarget:
    """Build the adapter for one `[[marketing]]` table."""
    # Imported here: a deployment with only a file export never loads the HTTP adapters.
    if config.kind == "webhook":
        from inboxbot.marketing.webhook import WebhookTarget

        return WebhookTarget(config)
    if config.kind == "file":
        from inboxbot.marketing.file import FileTarget

        return FileTarget(config)
    if config.kind == "listmonk":
        from inboxbot.marketing.listmonk import ListmonkTarget

        return ListmonkTarget(config)
    if config.kind == "pardot":
        from inboxbot.marketing.pardot import PardotTarget

        return PardotTarget(config)
    if config.kind == "brevo":
        from inboxbot.marketing.brevo import BrevoTarget

        return BrevoTarget(config)
    raise ValueError(f"unknown marketing target kind {config.kind!r}")  # config.py refuses these


def make_targets(settings: Settings) -> list[SuppressionTarget]:
    """One adapter per configured target, in configuration order."""
    return [make_target(t) for t in settings.marketing]
