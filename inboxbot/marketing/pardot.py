"""`pardot`: opt the prospect out in Salesforce Marketing Cloud Account Engagement (Pardot), API v5.

From Salesforce's Account Engagement API documentation:

- "Version 5 Overview" (developer.salesforce.com/docs/marketing/pardot/guide/version5overview.html):
  every request carries `Authorization: Bearer <Salesforce OAuth access token>` and
  `Pardot-Business-Unit-Id: <0Uv...>`.
- "Prospect Object" v5 (.../guide/prospect-v5.html), operation "Upsert (Record with Latest Activity
  At by Email)": `POST /api/v5/objects/prospects/do/upsertLatestByEmail` with
  `{"matchEmail": ..., "prospect": {...fields...}, "fields": [...]}`. It updates the most
  recently active prospect with that email, or creates one; "Transitioning to V5" names it the
  one idempotent write, which is what a retried push needs. We send `{"email", "optedOut": true}`.
- Tokens: with `token_url`, `client_id` and `client_secret` the adapter asks for one by the
  OAuth 2.0 client-credentials flow (`grant_type=client_credentials`, form-encoded; Salesforce
  "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration") and asks again after a
  401, as the token expires. Otherwise `access_token_*` is sent as it is.

Every scope opts the prospect out of all marketing mail: list-level choices are Pardot's email
preference centre's job. `unsuppress` and `forget` send nothing: Pardot has no clean "opt back
in" (a prospect must opt in again through a Pardot form), and its opted-out record is what keeps
an erased person from being mailed after a re-import.
"""

from __future__ import annotations

import httpx

from inboxbot.config import MarketingTarget
from inboxbot.errors import TransientError
from inboxbot.marketing import SuppressionEvent, address_to_push
from inboxbot.marketing import http

UPSERT_PATH = "/api/v5/objects/prospects/do/upsertLatestByEmail"


class PardotTarget:
    def __init__(self, config: MarketingTarget) -> None:
        self.name = config.name
        self.config = config
        self._token: str | None = config.secret.value if config.secret is not None else None
        self._oauth = bool(config.token_url)

    async def _fetch_token(self, c: httpx.AsyncClient) -> str:
        assert self.config.client_secret is not None  # config.py insists when token_url is set
        r = await http.send(c, "POST", self.config.token_url, f"pardot {self.name} token", data={
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret.value,
        })
        token = http.json_body(r, f"pardot {self.name} token").get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientError(f"pardot {self.name} token: answer has no access_token")
        return token

    async def _upsert(self, c: httpx.AsyncClient, token: str, address: str, *,
                      retry_on_401: bool) -> httpx.Response:
        return await http.send(
            c, "POST", self.config.url.rstrip("/") + UPSERT_PATH, f"pardot {self.name} opt-out",
            ok=frozenset({401}) if retry_on_401 else frozenset(),
            headers={"Authorization": f"Bearer {token}",
                     "Pardot-Business-Unit-Id": self.config.business_unit_id},
            json={"matchEmail": address, "prospect": {"email": address, "optedOut": True},
                  "fields": ["id", "email", "optedOut"]},
        )

    async def push(self, event: SuppressionEvent) -> None:
        if event.action != "suppress":
            return  # Pardot is only ever told to opt out: re-subscribing is the person's own act
        address = address_to_push(event, f"pardot {self.name}",
                                  "opt the prospect out in Pardot by hand if it is still there")
        if address is None:
            return
        async with http.client(self.config.timeout) as c:
            if self._token is None:
                self._token = await self._fetch_token(c)
            r = await self._upsert(c, self._token, address, retry_on_401=self._oauth)
            if r.status_code == 401:
                self._token = await self._fetch_token(c)  # expired: one fresh token, then the verdict
                r = await self._upsert(c, self._token, address, retry_on_401=False)
            body = http.json_body(r, f"pardot {self.name} opt-out")
            if not isinstance(body, dict) or body.get("optedOut") is not True:
                raise TransientError(f"pardot {self.name} opt-out: answer lacks optedOut=true")
