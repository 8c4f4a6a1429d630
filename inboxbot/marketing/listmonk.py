"""`listmonk`: blocklist the subscriber through listmonk's REST API.

Request shapes from listmonk's API documentation, "API / Subscribers"
(https://listmonk.app/docs/apis/subscribers/, docs/docs/content/apis/subscribers.md in
knadh/listmonk); authentication is HTTP Basic with an API user and its token
(`curl -u 'api_username:access_token'`, https://listmonk.app/docs/apis/apis/).

- Find: `GET /api/subscribers?query=subscribers.email = '...'&per_page=1` (an SQL expression;
  see "Querying and segmentation"). The answer is `{"data": {"results": [...], "total": n}}`.
- suppress, scope "all" (or a scope with no list mapped):
  found and `status == "blocklisted"`: nothing to do (idempotent);
  found: `PUT /api/subscribers/{id}/blocklist`;
  not found: `POST /api/subscribers` with `{"email", "name", "status": "blocklisted", "lists": []}`
  so that a later import cannot add the address as a fresh subscriber. A 409 (someone created
  it meanwhile) is answered by finding it again.
- suppress, scope mapped to a list id: `PUT /api/subscribers/lists` with
  `{"ids": [id], "action": "unsubscribe", "target_list_ids": [list]}`; not found: nothing to do.
- unsuppress "all": `PATCH /api/subscribers/{id}` with `{"status": "enabled"}` if blocklisted.
  PATCH leaves list memberships alone, and blocklisting had already unsubscribed them, so the
  person is not put back on any list. A named scope: nothing (re-subscribing needs consent).
- forget: nothing; listmonk keeps its blocklisted record, which is what stops a re-import.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from inboxbot.config import MarketingTarget
from inboxbot.errors import PermanentError
from inboxbot.logs import redact_address
from inboxbot.marketing import SuppressionEvent, address_to_push
from inboxbot.marketing import http

log = logging.getLogger(__name__)


def email_query(address: str) -> str:
    # listmonk runs this as SQL inside its own query; double any quote so it stays a literal.
    return "subscribers.email = '" + address.replace("'", "''") + "'"


class ListmonkTarget:
    def __init__(self, config: MarketingTarget) -> None:
        assert config.secret is not None  # config.py insists
        self.name = config.name
        self.config = config
        self.base = config.url.rstrip("/") + "/api"
        self._auth = (config.username, config.secret.value)

    async def _find(self, c: httpx.AsyncClient, address: str) -> dict[str, Any] | None:
        r = await http.send(c, "GET", f"{self.base}/subscribers", f"listmonk {self.name} find",
                            params={"query": email_query(address), "per_page": "1"})
        results = (http.json_body(r, f"listmonk {self.name} find").get("data") or {}).get("results") or []
        for sub in results:
            if str(sub.get("email", "")).lower() == address.lower():
                return dict(sub)
        return None

    async def push(self, event: SuppressionEvent) -> None:
        address = address_to_push(event, f"listmonk {self.name}", "suppress it in listmonk by hand if it is still there")
        if address is None:
            return
        list_id = self.config.list_id(event.scope)
        async with http.client(self.config.timeout, auth=self._auth) as c:
            sub = await self._find(c, address)
            if event.action == "unsuppress":
                if sub is not None and list_id is None and sub.get("status") == "blocklisted":
                    await http.send(c, "PATCH", f"{self.base}/subscribers/{sub['id']}",
                                    f"listmonk {self.name} unblock", json={"status": "enabled"})
                return
            if list_id is not None:
                if sub is not None:
                    await http.send(c, "PUT", f"{self.base}/subscribers/lists",
                                    f"listmonk {self.name} unsubscribe",
                                    json={"ids": [int(sub["id"])], "action": "unsubscribe",
                                          "target_list_ids": [int(list_id)]})
                return
            if sub is None:
                r = await http.send(c, "POST", f"{self.base}/subscribers", f"listmonk {self.name} create",
                                    ok=frozenset({409}),
                                    json={"email": address, "name": address.split("@")[0],
                                          "status": "blocklisted", "lists": []})
                if r.status_code != 409:
                    return
                sub = await self._find(c, address)
                if sub is None:
                    raise PermanentError(f"listmonk {self.name}: 409 on create but no such subscriber")
            if sub.get("status") == "blocklisted":
                log.debug("listmonk %s: %s already blocklisted", self.name, redact_address(address))
                return
            await http.send(c, "PUT", f"{self.base}/subscribers/{sub['id']}/blocklist",
                            f"listmonk {self.name} blocklist")
