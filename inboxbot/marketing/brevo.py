"""`brevo`: blocklist the contact for email in Brevo (formerly Sendinblue), API v3.

From Brevo's API reference (https://developers.brevo.com/reference), authentication by the
`api-key` header:

- suppress "all" (or an unmapped scope): "Create a contact", `POST /v3/contacts` with
  `{"email", "emailBlacklisted": true, "updateEnabled": true}`. With `updateEnabled` an existing
  contact is updated instead of refused, so the call is an idempotent upsert (201 created,
  204 updated). A contact created this way stays blocklisted if a later import brings it back.
- suppress, scope mapped to a list: "Delete a contact from a list",
  `POST /v3/contacts/lists/{listId}/contacts/remove` with `{"emails": [...]}`. Brevo answers 400
  when the contact is not on the list or does not exist: already the state we want.
- unsuppress "all": "Update a contact", `PUT /v3/contacts/{email}` with
  `{"emailBlacklisted": false}` (204); 404, no such contact, is fine. That lifts the block only;
  list memberships are not touched. Named scopes: nothing (re-subscribing needs consent).
- forget: nothing; Brevo keeps its blocklisted contact, which stops a re-import there.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from inboxbot.config import MarketingTarget
from inboxbot.marketing import SuppressionEvent, address_to_push
from inboxbot.marketing import http


def _already_off_list(response: httpx.Response) -> bool:
    text = response.text.lower()
    return response.status_code == 400 and ("already removed" in text or "does not exist" in text)


class BrevoTarget:
    def __init__(self, config: MarketingTarget) -> None:
        assert config.secret is not None  # config.py insists
        self.name = config.name
        self.config = config
        self.base = config.url.rstrip("/") + "/v3"
        self._headers = {"api-key": config.secret.value, "accept": "application/json"}

    async def push(self, event: SuppressionEvent) -> None:
        address = address_to_push(event, f"brevo {self.name}", "blocklist it in Brevo by hand if it is still there")
        if address is None:
            return
        list_id = self.config.list_id(event.scope)
        async with http.client(self.config.timeout, headers=self._headers) as c:
            if event.action == "unsuppress":
                if list_id is None:
                    await http.send(c, "PUT", f"{self.base}/contacts/{quote(address, safe='@')}",
                                    f"brevo {self.name} unblock", ok=frozenset({404}),
                                    json={"emailBlacklisted": False})
                return
            if list_id is None:
                await http.send(c, "POST", f"{self.base}/contacts", f"brevo {self.name} blocklist",
                                json={"email": address, "emailBlacklisted": True,
                                      "updateEnabled": True})
                return
            await http.send(c, "POST", f"{self.base}/contacts/lists/{quote(list_id)}/contacts/remove",
                            f"brevo {self.name} remove from list {list_id}", accept=_already_off_list,
                            json={"emails": [address]})
