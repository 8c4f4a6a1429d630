"""OAuth 2.0 tokens and SASL strings (inboxbot/oauth.py) and their configuration, without servers:
the token endpoint here is an httpx.MockTransport and the clock is a number we move."""

from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from inboxbot.config import OAuthSettings, Secret, load_settings, settings_from_dict
from inboxbot.errors import ConfigError, TransientError
from inboxbot.oauth import (
    OAuthTokens,
    TokenError,
    oauthbearer_response,
    xoauth2_response,
)

TOKEN_URL = "https://login.example.com/tenant/oauth2/v2.0/token"


class Endpoint:
    """A scripted token endpoint: answers from a list, records the forms it was sent."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.forms: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        self.forms.append(dict(httpx.QueryParams(request.content.decode())))
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(status, json=body)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tokens(endpoint: Endpoint, clock: Clock, **kw: Any) -> OAuthTokens:
    fields: dict[str, Any] = {"flow": "client_credentials", "token_url": TOKEN_URL, "client_id": "app-id",
                              "client_secret": Secret("app-secret"), "scope": "https://mail.example/.default"}
    fields.update(kw)
    return OAuthTokens(OAuthSettings(**fields), "mailbox privacy", clock=clock,
                       http_transport=httpx.MockTransport(endpoint))


def ok(token: str, expires_in: int = 3600, **extra: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, **extra}


# -- SASL ------------------------------------------------------------------------------------


def test_xoauth2_initial_response_is_the_documented_layout() -> None:
    raw = xoauth2_response("privacy@example.com", "tok123")
    assert raw == b"user=privacy@example.com\x01auth=Bearer tok123\x01\x01"
    # Google's published example, to check the encoding end to end.
    example = xoauth2_response("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert base64.b64encode(example).decode() == (
        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
        "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )


def test_oauthbearer_initial_response_follows_rfc7628() -> None:
    raw = oauthbearer_response("privacy@example.com", "tok", "imap.example.com", 993)
    assert raw == b"n,a=privacy@example.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer tok\x01\x01"
    # RFC 5801 saslname: "," and "=" are escaped in the authorisation identity.
    assert oauthbearer_response("a,b=c@example.com", "t").startswith(b"n,a=a=2Cb=3Dc@example.com,\x01")


# -- tokens ----------------------------------------------------------------------------------


async def test_client_credentials_token_is_cached_and_renewed_before_expiry() -> None:
    endpoint, clock = Endpoint(ok("first", 3600), ok("second", 3600)), Clock()
    source = tokens(endpoint, clock, refresh_margin=300.0)
    assert await source.token() == "first"
    assert endpoint.forms[0] == {"grant_type": "client_credentials", "client_id": "app-id",
                                 "client_secret": "app-secret", "scope": "https://mail.example/.default"}
    clock.now += 3600 - 301  # more than the margin left: cached
    assert await source.token() == "first"
    assert len(endpoint.forms) == 1
    clock.now += 2  # less than the margin left: renewed, though not yet expired
    assert await source.token() == "second"
    assert len(endpoint.forms) == 2


async def test_short_lived_tokens_are_renewed_at_half_life_not_every_use() -> None:
    endpoint, clock = Endpoint(ok("a", 60), ok("b", 60)), Clock()
    source = tokens(endpoint, clock, refresh_margin=300.0)  # margin longer than the lifetime
    assert await source.token() == "a"
    clock.now += 29
    assert await source.token() == "a"
    clock.now += 2
    assert await source.token() == "b"


async def test_refresh_token_flow_keeps_a_rotated_token_in_a_private_file(tmp_path: Path) -> None:
    store = tmp_path / "oauth" / "mailbox-privacy.json"
    endpoint = Endpoint(ok("a1", 60, refresh_token="rt-2"), ok("a2", 60, refresh_token="rt-3"))
    clock = Clock()
    source = tokens(endpoint, clock, flow="refresh_token", client_secret=None,
                    refresh_token=Secret("rt-1"), scope="", store=store)
    assert await source.token() == "a1"
    assert endpoint.forms[0] == {"grant_type": "refresh_token", "client_id": "app-id", "refresh_token": "rt-1"}
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    clock.now += 100
    assert await source.token() == "a2"
    assert endpoint.forms[1]["refresh_token"] == "rt-2"  # the rotated one, not the configured one

    # After a restart the stored token is used ...
    again = Endpoint(ok("a3", 60))
    restarted = tokens(again, Clock(), flow="refresh_token", client_secret=None,
                       refresh_token=Secret("rt-1"), scope="", store=store)
    await restarted.token()
    assert again.forms[0]["refresh_token"] == "rt-3"
    # ... unless the operator has configured a new one since.
    fresh = Endpoint(ok("a4", 60))
    replaced = tokens(fresh, Clock(), flow="refresh_token", client_secret=None,
                      refresh_token=Secret("rt-new"), scope="", store=store)
    await replaced.token()
    assert fresh.forms[0]["refresh_token"] == "rt-new"


async def test_refused_endpoint_raises_a_clear_transient_error_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = Endpoint((400, {"error": "invalid_grant",
                               "error_description": "AADSTS70008: token rt-secret-1 has expired"}))
    source = tokens(endpoint, Clock(), flow="refresh_token", refresh_token=Secret("rt-secret-1"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TokenError) as info:
        await source.token()
    err = info.value
    assert isinstance(err, TransientError) and err.code == "invalid_grant" and err.status == 400
    assert "mailbox privacy" in str(err) and "invalid_grant" in str(err) and TOKEN_URL in str(err)
    assert err.retry_after >= 300  # a configuration problem: no point in hammering
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "inboxbot.oauth"]
    assert errors and "invalid_grant" in errors[0].getMessage()
    text = caplog.text + str(err)
    assert "rt-secret-1" not in text and "app-secret" not in text
    assert source.failures == 1


async def test_unreachable_endpoint_and_recovery() -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("connection refused")
        if calls["n"] == 2:
            return httpx.Response(503, text="<html>down</html>")
        return httpx.Response(200, json={"access_token": "back", "expires_in": 60})

    settings = OAuthSettings(flow="client_credentials", token_url=TOKEN_URL, client_id="app-id",
                             client_secret=Secret("s"))
    source = OAuthTokens(settings, "transport (SMTP)", http_transport=httpx.MockTransport(flaky))
    with pytest.raises(TokenError) as first:
        await source.token()
    assert first.value.code == "unreachable" and first.value.status is None
    with pytest.raises(TokenError) as second:
        await source.token()
    assert second.value.code == "http_503" and second.value.retry_after < 300
    assert await source.token() == "back"
    assert source.failures == 0


async def test_rejected_token_is_dropped_and_retry_is_worth_it_only_for_a_cached_one() -> None:
    endpoint, clock = Endpoint(ok("a"), ok("b"), ok("c")), Clock()
    source = tokens(endpoint, clock)
    first = await source.token()
    assert source.rejected(first) is False  # freshly issued and still refused: a retry won't help
    second = await source.token()
    assert second == "b"
    assert await source.token() == "b"  # now it has been handed out from the cache
    assert source.rejected("b") is True
    assert await source.token() == "c"


async def test_non_bearer_or_garbled_answers_are_errors() -> None:
    for answer, code in (((200, {"access_token": "x", "token_type": "mac"}), "invalid_response"),
                         ((200, {"token_type": "Bearer"}), "invalid_response"),
                         ((401, {"error": "invalid_client"}), "invalid_client")):
        with pytest.raises(TokenError) as info:
            await tokens(Endpoint(answer), Clock()).token()
        assert info.value.code == code


# -- configuration ---------------------------------------------------------------------------

ENV = {"CLIENT_SECRET": "cs-value", "REFRESH": "rt-value"}


def load(mailbox: dict[str, Any], transport: dict[str, Any] | None = None, tmp: Path = Path("/tmp")) -> Any:
    data = {"mailbox": [{"name": "privacy", "host": "imap.example.com", "username": "privacy@example.com",
                         **mailbox}],
            "transport": transport or {}, "store": {"state_dir": str(tmp)}}
    return settings_from_dict(data, environ=ENV)


def test_config_microsoft_client_credentials_and_google_refresh_token(tmp_path: Path) -> None:
    settings = load(
        {"auth": "xoauth2", "oauth": {
            "token_url": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token",
            "client_id": "app-id", "client_secret_env": "CLIENT_SECRET",
            "scope": "https://outlook.office365.com/.default"}},
        {"host": "smtp.gmail.com", "username": "privacy@example.com", "auth": "oauthbearer",
         "oauth": {"token_url": "https://oauth2.googleapis.com/token", "client_id": "gid",
                   "client_secret_env": "CLIENT_SECRET", "refresh_token_env": "REFRESH"}},
        tmp_path,
    )
    mb = settings.mailboxes[0]
    assert mb.auth == "xoauth2" and mb.password is None
    assert mb.oauth.flow == "client_credentials" and mb.oauth.client_secret.value == "cs-value"
    assert mb.oauth.store == tmp_path / "oauth" / "mailbox-privacy.json"
    tr = settings.transport
    assert tr.auth == "oauthbearer" and tr.oauth.flow == "refresh_token"
    assert tr.oauth.refresh_token.value == "rt-value" and tr.oauth.store == tmp_path / "oauth" / "transport.json"
    assert "rt-value" not in repr(settings) and "cs-value" not in repr(settings)


@pytest.mark.parametrize("mailbox, key", [
    ({"auth": "xoauth2"}, "mailbox[0].oauth"),
    ({"auth": "password", "password_env": "REFRESH", "oauth": {"token_url": "https://x.example/t"}},
     "mailbox[0].oauth"),
    ({"auth": "oauth", "oauth": {}}, "mailbox[0].auth"),
    ({"auth": "xoauth2", "oauth": {"client_id": "a", "client_secret_env": "CLIENT_SECRET"}},
     "mailbox[0].oauth.token_url"),
    ({"auth": "xoauth2", "oauth": {"token_url": "http://login.example.com/t", "client_id": "a",
                                   "client_secret_env": "CLIENT_SECRET"}}, "mailbox[0].oauth.token_url"),
    ({"auth": "xoauth2", "oauth": {"token_url": "https://x.example/t", "client_secret_env": "CLIENT_SECRET"}},
     "mailbox[0].oauth.client_id"),
    ({"auth": "xoauth2", "oauth": {"token_url": "https://x.example/t", "client_id": "a"}},
     "mailbox[0].oauth.client_secret"),
    ({"auth": "xoauth2", "oauth": {"token_url": "https://x.example/t", "client_id": "a",
                                   "flow": "refresh_token"}}, "mailbox[0].oauth.refresh_token"),
    ({"auth": "xoauth2", "oauth": {"token_url": "https://x.example/t", "client_id": "a",
                                   "client_secret": "inline!"}}, "mailbox[0].oauth.client_secret"),
    ({"auth": "xoauth2", "password_env": "REFRESH", "oauth": {
        "token_url": "https://x.example/t", "client_id": "a", "client_secret_env": "CLIENT_SECRET"}},
     "mailbox[0].password"),
    ({"auth": "xoauth2", "oauth": {"token_url": "https://x.example/t", "client_id": "a",
                                   "client_secret_env": "CLIENT_SECRET", "tenant": "x"}},
     "mailbox[0].oauth.tenant"),
])
def test_config_errors_name_the_key(mailbox: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(mailbox)
    assert str(info.value).startswith(key + ":"), str(info.value)


def test_config_allows_plain_http_token_url_on_loopback_only() -> None:
    settings = load({"auth": "oauthbearer", "oauth": {
        "token_url": "http://127.0.0.1:8080/token", "client_id": "a", "client_secret_env": "CLIENT_SECRET"}})
    assert settings.mailboxes[0].oauth.token_url.startswith("http://127.0.0.1")


def test_example_config_oauth_blocks_load_as_documented(tmp_path: Path) -> None:
    """Uncomment the example's Microsoft 365 block for the mailbox: it must load as written."""
    example = Path(__file__).resolve().parent.parent / "config" / "inboxbot.example.toml"
    lines = example.read_text(encoding="utf-8").splitlines()
    start = lines.index("# [mailbox.oauth]")
    block = [line[2:] for line in lines[start:start + 6] if not line.startswith("# Microsoft")]
    text = "\n".join(lines[:start] + block + lines[start:])
    text = text.replace('password_credential = "imap-privacy"', 'auth = "xoauth2"', 1)
    for name, value in (("smtp-privacy", "pw"), ("m365-client-secret", "cs")):
        (tmp_path / name).write_text(value)
    config = tmp_path / "inboxbot.toml"
    config.write_text(text)
    settings = load_settings(config, environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    oauth = settings.mailboxes[0].oauth
    assert oauth is not None and oauth.flow == "client_credentials"
    assert oauth.token_url.startswith("https://login.microsoftonline.com/")
    assert oauth.scope == "https://outlook.office365.com/.default" and oauth.client_secret == Secret("cs")
