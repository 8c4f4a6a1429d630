"""Was the sender's domain authenticated? Read from `Authentication-Results` (RFC 8601).

Anyone can write any From: address, and an acknowledgement to a forged From: is backscatter
aimed at an innocent person. Our own mail server checks SPF, DKIM and DMARC and records the
results in an `Authentication-Results` header that starts with its authserv-id. Only headers
carrying an authserv-id named in `[security] trusted_authserv_ids` count: a sender can write
the header too, with any result it likes.

RFC 8601 section 5 requires the receiving MTA to remove such headers that claim its own id
before adding its own (Postfix with OpenDMARC, rspamd and Exchange Online all do); this
module relies on that. As a second line, a failure in any trusted header outweighs a pass.

Pure: header values in, a SenderAuth out.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class AuthStatus(enum.StrEnum):
    PASS = "pass"  # DMARC pass, or (without DMARC) an aligned DKIM or SPF pass
    FAIL = "fail"  # DMARC fail, or only failing aligned results
    NONE = "none"  # a trusted server checked nothing that speaks for the From: domain
    UNCHECKED = "unchecked"  # no trusted server configured: authentication not judged


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One `method=result` of one header, with its `ptype.property=value` pairs."""

    method: str  # spf, dkim, dmarc, arc, ... (lower-case, version dropped)
    result: str  # pass, fail, softfail, none, neutral, temperror, permerror, policy
    properties: tuple[tuple[str, str], ...] = ()

    def prop(self, name: str) -> str:
        for key, value in self.properties:
            if key == name:
                return value
        return ""


@dataclass(frozen=True, slots=True)
class AuthResults:
    authserv_id: str  # lower-case
    results: tuple[MethodResult, ...]


@dataclass(frozen=True, slots=True)
class SenderAuth:
    status: AuthStatus
    detail: str  # e.g. "dmarc=fail (mx.example.com)": for the record and the DPO

    @property
    def passed(self) -> bool:
        return self.status == AuthStatus.PASS


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_TOKEN = re.compile(r"([A-Za-z0-9_.\-]+)(?:/[0-9]+)?\s*=\s*(\S+)")
_PROP = re.compile(r"([A-Za-z0-9_\-]+)\.([A-Za-z0-9_\-]+)\s*=\s*(\S+)")
_MAX_HEADER = 4000


def _strip_comments(value: str) -> str:
    """Remove (nested) comments and keep quoted strings as single tokens without quotes."""
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == '"' and depth == 0:
            match = _QUOTED.match(value, i)
            if match:
                out.append(re.sub(r"[\s;]", "_", match.group(0)[1:-1]))
                i = match.end()
                continue
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
        i += 1
    return "".join(out)


def parse_header(value: str) -> AuthResults | None:
    """Parse one header value; None when it has no authserv-id."""
    parts = [p.strip() for p in _strip_comments(value[:_MAX_HEADER]).split(";")]
    head = parts[0].split()
    if not head:
        return None
    results: list[MethodResult] = []
    for part in parts[1:]:
        match = _TOKEN.match(part)
        if not match:
            continue  # "none", or text we do not understand: it proves nothing either way
        props = tuple((f"{m.group(1).lower()}.{m.group(2).lower()}", m.group(3).lower())
                      for m in _PROP.finditer(part[match.end():]))
        results.append(MethodResult(match.group(1).lower(), match.group(2).lower(), props))
    return AuthResults(head[0].lower().rstrip("."), tuple(results))


def _aligned(domain: str, other: str) -> bool:
    """Relaxed alignment, approximated without a public-suffix list: the same domain, or one a
    subdomain of the other."""
    other = other.lstrip("@").rpartition("@")[2].rstrip(".")
    if not domain or not other:
        return False
    return domain == other or domain.endswith("." + other) or other.endswith("." + domain)


def trusted_results(values: Iterable[str], trusted_ids: Sequence[str]) -> list[MethodResult]:
    """Every method result from a header whose authserv-id is trusted."""
    trusted = {t.lower().rstrip(".") for t in trusted_ids}
    out: list[MethodResult] = []
    for value in values:
        parsed = parse_header(value)
        if parsed is not None and parsed.authserv_id in trusted:
            out.extend(parsed.results)
    return out


def authenticate(values: Iterable[str], trusted_ids: Sequence[str], from_domain: str) -> SenderAuth:
    """Judge the From: domain from the Authentication-Results header values of one message.

    DMARC decides when a trusted server evaluated it for this domain. Without DMARC, an
    aligned DKIM signature or an aligned SPF pass counts as a pass; aligned failures only,
    as a fail. No trusted result: NONE. No trusted server configured: UNCHECKED.
    """
    if not trusted_ids:
        return SenderAuth(AuthStatus.UNCHECKED, "no trusted authserv-id configured")
    domain = from_domain.lower().rstrip(".")
    results = trusted_results(values, trusted_ids)
    if not results:
        return SenderAuth(AuthStatus.NONE, "no Authentication-Results from a trusted server")
    dmarc = [r for r in results if r.method == "dmarc"
             and (not r.prop("header.from") or _aligned(domain, r.prop("header.from")))]
    if any(r.result in ("fail", "permerror") for r in dmarc):
        return SenderAuth(AuthStatus.FAIL, "dmarc=fail")
    if any(r.result == "pass" for r in dmarc):
        return SenderAuth(AuthStatus.PASS, "dmarc=pass")
    dkim = [r for r in results if r.method == "dkim"
            and _aligned(domain, r.prop("header.d") or r.prop("header.i"))]
    spf = [r for r in results if r.method == "spf"
           and _aligned(domain, r.prop("smtp.mailfrom") or r.prop("smtp.helo"))]
    if any(r.result == "pass" for r in dkim):
        return SenderAuth(AuthStatus.PASS, "dkim=pass (aligned)")
    if any(r.result == "pass" for r in spf):
        return SenderAuth(AuthStatus.PASS, "spf=pass (aligned)")
    failed = [f"{r.method}={r.result}" for r in dkim + spf
              if r.result in ("fail", "softfail", "permerror")]
    if failed:
        return SenderAuth(AuthStatus.FAIL, ", ".join(sorted(set(failed))))
    seen = ", ".join(sorted({f"{r.method}={r.result}" for r in results}))[:200]
    return SenderAuth(AuthStatus.NONE, f"nothing speaks for {domain or 'the sender'}: {seen}")
