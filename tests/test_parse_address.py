"""parse's shortcut for plain addresses must read every value exactly as the stdlib's address
parser does: the same (name, local part, domain), and whole messages parse to the same Inbound
with the shortcut as without it."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

import inboxbot.parse as parse_module
from inboxbot.mailpolicy import POLICY
from inboxbot.parse import parse
from tests.crashharness import generate

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)

VALUES = [
    "anna@example.se", "Anna Svensson <anna@example.se>", "<anna@example.se>", " anna@example.se ",
    "Anna  Svensson <anna@example.se>", "Anna Svensson<anna@example.se>", "Åsa Öberg <asa@exempel.se>",
    "O'Brien <o'brien@example.ie>", "Anna-Karin Ek <ak.ek+dsr@mail.example.com>", "a.b.c@d.e.f",
    "UPPER@EXAMPLE.SE", "x_y@example.com", "Svensson, Anna <anna@example.se>", '"Anna" <anna@example.se>',
    "anna@example.se (Anna)", "Anna <anna@example.se>, Bo <bo@example.se>", "a..b@example.se",
    ".a@example.se", "a.@example.se", "anna@[127.0.0.1]", "anna@-example.se", "anna@example.se.",
    "Anna <anna@example.se", "Anna anna@example.se", "no address here", "", " ", "@example.se", "anna@",
    "=?utf-8?q?Anna?= <anna@example.se>", "Dr. Anna <anna@example.se>", "Anna\tSvensson <a@b.se>",
    "Ann_a <ann_a@example.se>", "123 <123@456.se>", "émile <émile@example.fr>", "a@b", "Anna <a@b>",
    "anna@exa_mple.se", "Anna <anna@example.se> ", "Anna Svensson < anna@example.se >",
]


def _stdlib(value: str) -> list[tuple[str, str, str]] | None:
    try:
        header = POLICY.header_factory("to", value)
        return [(a.display_name, a.username, a.domain) for a in header.addresses]
    except Exception:  # noqa: BLE001 - refused: the shortcut must not have taken it either
        return None


def _fuzz(rng: random.Random) -> str:
    alphabet = "aZ09._-+'\"<>@ ,()Åé\t[]:;\\"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))


def _near_plain(rng: random.Random) -> str:
    """Values at the shortcut's edge: plain-looking parts with odd characters mixed in."""
    def word(chars: str) -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randrange(1, 6)))
    name_chars = "anÅé9_'-" + rng.choice(["", ".", ",", '"', "(", "\t", "  "])
    local_chars = "ab9!#$%&'*+/=?^_`{|}~-" + rng.choice(["", ".", "..", "é", " "])
    domain_chars = "ab9-" + rng.choice(["", ".", "_", "["])
    name = " ".join(word(name_chars) for _ in range(rng.randrange(0, 4)))
    local = ".".join(word(local_chars) for _ in range(rng.randrange(1, 3)))
    domain = ".".join(word(domain_chars) for _ in range(rng.randrange(1, 4)))
    pad = lambda: rng.choice(["", "", " ", "  "])  # noqa: E731
    if rng.random() < 0.3:
        return f"{pad()}{local}@{domain}{pad()}"
    return f"{pad()}{name}{pad()}<{local}@{domain}>{pad()}"


def test_the_shortcut_reads_what_the_stdlib_reads() -> None:
    rng = random.Random(5)
    values = VALUES + [_fuzz(rng) for _ in range(5000)] + [_near_plain(rng) for _ in range(20000)]
    taken = 0
    for value in values:
        fast = parse_module._plain_address(value)
        if fast is not None:
            taken += 1
            assert fast == _stdlib(value), value
    assert taken >= 2000  # the shortcut was tried on plain values, not refused everywhere


def _messages() -> list[bytes]:
    raws = [item.raw for item in generate(400, 11)]
    raws += [p.read_bytes() for p in sorted(FIXTURES.rglob("*.eml"))]
    return raws


def test_whole_messages_parse_the_same_with_and_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    raws = _messages()
    with_shortcut = [parse(raw, received_at=WHEN) for raw in raws]
    monkeypatch.setattr(parse_module, "_plain_address", lambda value: None)
    without = [parse(raw, received_at=WHEN) for raw in raws]
    assert len(raws) > 400 and with_shortcut == without
