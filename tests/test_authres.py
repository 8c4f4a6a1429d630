"""Authentication-Results (RFC 8601): parsing, trust, and the verdict on the From: domain."""

from __future__ import annotations

import pytest

from inboxbot.authres import AuthStatus, authenticate, parse_header
from inboxbot.config import settings_from_dict
from inboxbot.errors import ConfigError

TRUSTED = ("mx.example.com",)


def test_parse_header_with_comments_versions_and_quotes() -> None:
    parsed = parse_header(
        'MX.Example.COM 1; (checked (nested) here) spf=pass (sender ok) smtp.mailfrom=a@Example.NET;\r\n'
        ' dkim/1=fail reason="bad; signature" header.d=example.net; dmarc=fail header.from=example.net'
    )
    assert parsed is not None and parsed.authserv_id == "mx.example.com"
    assert [(r.method, r.result) for r in parsed.results] == [("spf", "pass"), ("dkim", "fail"), ("dmarc", "fail")]
    assert parsed.results[0].prop("smtp.mailfrom") == "a@example.net"
    assert parsed.results[1].prop("header.d") == "example.net"
    assert parse_header("") is None
    assert parse_header("mx.example.com; none") is not None


@pytest.mark.parametrize("headers, status", [
    (["mx.example.com; dmarc=pass header.from=example.net"], AuthStatus.PASS),
    (["mx.example.com; dmarc=fail header.from=example.net; dkim=pass header.d=example.net"], AuthStatus.FAIL),
    (["mx.example.com; dkim=pass header.d=mail.example.net"], AuthStatus.PASS),  # aligned subdomain
    (["mx.example.com; dkim=pass header.d=other.example"], AuthStatus.NONE),  # not aligned
    (["mx.example.com; spf=softfail smtp.mailfrom=example.net"], AuthStatus.FAIL),
    (["mx.example.com; spf=pass smtp.mailfrom=evil.example"], AuthStatus.NONE),
    (["mx.example.com; none"], AuthStatus.NONE),
    ([], AuthStatus.NONE),
    (["evil.example; dmarc=pass header.from=example.net"], AuthStatus.NONE),
    (["mx.example.com.evil.example; dmarc=pass"], AuthStatus.NONE),
    # A fail from the trusted server outweighs a forged "pass" written under its name.
    (["mx.example.com; dmarc=fail header.from=example.net",
      "mx.example.com; dmarc=pass header.from=example.net"], AuthStatus.FAIL),
    (["mx.example.com; dmarc=pass header.from=elsewhere.example"], AuthStatus.NONE),
])
def test_authenticate(headers: list[str], status: AuthStatus) -> None:
    assert authenticate(headers, TRUSTED, "example.net").status == status


def test_unchecked_without_trusted_servers() -> None:
    assert authenticate(["mx.example.com; dmarc=fail"], (), "example.net").status == AuthStatus.UNCHECKED


def test_security_config() -> None:
    s = settings_from_dict({"security": {"trusted_authserv_ids": ["MX.example.com"], "ack_unauthenticated": True}})
    assert s.security.trusted_authserv_ids == ("mx.example.com",) and s.security.ack_unauthenticated
    assert settings_from_dict({}).security.ack_unauthenticated is False
    with pytest.raises(ConfigError, match="security.trusted_authserv_ids"):
        settings_from_dict({"security": {"trusted_authserv_ids": ["mx.example.com; dmarc=pass"]}})
    with pytest.raises(ConfigError, match="security.bogus"):
        settings_from_dict({"security": {"bogus": 1}})
