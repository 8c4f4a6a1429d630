"""Is the person asking the person the data is about? Pure checks that flag a request for review.

Access, erasure and portability must never be carried out for someone else (Art. 12(6) lets the
controller ask for proof of identity first; tickets for those rights wait in
`awaiting_identity`). Two signs that the asker may not be the data subject are flagged for the
DPO: a new rights request that names an address other than the sender's ("please delete
anna@example.se", sent from elsewhere), and a follow-up to a ticket from a different sender
than the ticket's.

Flag details name addresses redacted: the ticket's event trail outlives retention, and the DPO
finds the full addresses on the ticket and its messages while they are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from inboxbot.domain import RIGHTS_INTENTS, Inbound, Intent, ReviewFlag, TicketRef
from inboxbot.logs import redact_address as _r

_ADDRESS = re.compile(
    r"(?<![\w.%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,63}"
)
MAX_SCANNED = 20_000  # characters of body read: the request is at the top


def same_mailbox(a: str, b: str) -> bool:
    """Equal addresses, ignoring case and a "+tag" in the local part."""
    la, _, da = a.lower().rpartition("@")
    lb, _, db = b.lower().rpartition("@")
    return da == db and la.partition("+")[0] == lb.partition("+")[0]


def addresses_named(text: str, limit: int = 20) -> list[str]:
    """Addresses written in free text, in order, each once, lower-cased."""
    found: list[str] = []
    for match in _ADDRESS.finditer(text[:MAX_SCANNED]):
        addr = match.group(0).rstrip(".").lower()
        if addr not in found:
            found.append(addr)
            if len(found) >= limit:
                break
    return found


def other_address_named(msg: Inbound, own_addresses: Iterable[str]) -> str | None:
    """The first address in the new text that is neither the sender's nor one of ours."""
    if msg.sender is None:
        return None
    own = [a.lower() for a in own_addresses]
    for addr in addresses_named(msg.body):
        if not same_mailbox(addr, msg.sender.addr) and not any(same_mailbox(addr, o) for o in own):
            return addr
    return None


def mismatch_flags(msg: Inbound, intents: Iterable[Intent], thread: TicketRef | None,
                   own_addresses: Iterable[str]) -> tuple[ReviewFlag, ...]:
    """ReviewFlags of kind "sender_mismatch" for this message (empty when all is consistent)."""
    if msg.sender is None:
        return ()
    if thread is not None:
        if thread.sender and not same_mailbox(thread.sender, msg.sender.addr):
            return (ReviewFlag("sender_mismatch",
                               f"follow-up to {thread.reference} from {_r(msg.sender.addr)}, "
                               f"not from the address on the ticket ({_r(thread.sender)})"),)
        return ()
    if not any(i in RIGHTS_INTENTS for i in intents):
        return ()
    other = other_address_named(msg, own_addresses)
    if other is None:
        return ()
    return (ReviewFlag("sender_mismatch",
                       f"the request names {_r(other)} but was sent from {_r(msg.sender.addr)}"),)
