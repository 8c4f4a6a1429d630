"""`webhook`: POST each event as JSON to a URL the organisation runs, signed with HMAC-SHA256.

The body is `{"id", "action", "sha256", "address", "scope", "at"}`; `address` is left out when
the target is `hashed_only` or the event is an erasure. Headers:

- `X-Inboxbot-Event`: the event id. It is the same on every retry, so a receiver that stores
  it can drop duplicates (the push is at-least-once).
- `X-Inboxbot-Timestamp`: Unix seconds when this attempt was signed.
- `X-Inboxbot-Signature`: `sha256=` + hex HMAC-SHA256 over `timestamp + "." + body` with the
  shared key. Signing the timestamp lets a receiver refuse old replays; compare in constant
  time (`hmac.compare_digest`).

Any 2xx is success; 5xx, 408, 429 and timeouts are retried with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from inboxbot.config import MarketingTarget
from inboxbot.marketing import SuppressionEvent
from inboxbot.marketing import http

SIGNATURE_HEADER = "X-Inboxbot-Signature"
TIMESTAMP_HEADER = "X-Inboxbot-Timestamp"
EVENT_HEADER = "X-Inboxbot-Event"


def event_body(event: SuppressionEvent, *, hashed_only: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": event.id, "action": event.action, "sha256": event.sha256,
                            "scope": event.scope, "at": event.at.isoformat()}
    if event.address and not hashed_only:
        body["address"] = event.address
    return body


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    """The value of the signature header for `body` signed at `timestamp`."""
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookTarget:
    def __init__(self, config: MarketingTarget) -> None:
        assert config.secret is not None  # config.py insists
        self.name = config.name
        self.config = config
        self._key = config.secret.value.encode("utf-8")

    async def push(self, event: SuppressionEvent) -> None:
        payload = json.dumps(event_body(event, hashed_only=self.config.hashed_only),
                             ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            EVENT_HEADER: event.id,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(self._key, stamp, payload),
        }
        async with http.client(self.config.timeout) as c:
            await http.send(c, "POST", self.config.url, f"webhook {self.name}",
                            content=payload, headers=headers)
