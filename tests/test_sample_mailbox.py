"""The bundled sample Maildir is well-formed mail, and its README describes exactly what is in it.

`inboxbot demo` runs on these files, and the README table is the demo's expected outcome, so the
table and the files must agree: every file listed, automated mail marked as such in its headers,
and the follow-up threaded to a message that is really in the sample.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path

import pytest

import inboxbot
from inboxbot.domain import Intent

MAILDIR = Path(inboxbot.__file__).resolve().parent / "sample_mailbox"
OUR_DOMAIN = "example.com"
SENDER_DOMAINS = ("example.org", "example.se", "exempel.se", "example.com")
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<lang>[a-z+]+) \| (?P<to>\w+) \| (?P<intents>[a-z_, ]+) "
                 r"\| (?P<automated>yes|no) \| (?P<breach>yes|no) \| (?P<notes>.*) \|$")


def files() -> list[Path]:
    return sorted((MAILDIR / "new").iterdir())


def parse(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh)
    assert isinstance(msg, EmailMessage)
    return msg


def table() -> dict[str, dict[str, str]]:
    rows = {}
    for line in (MAILDIR / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            match = ROW.match(line)
            assert match, f"malformed README row: {line}"
            rows[match["file"]] = match.groupdict()
    return rows


def domain_of(value: str) -> str:
    return value.strip("<>").rpartition("@")[2].lower()


def looks_automated(msg: EmailMessage) -> bool:
    """The header signs that RFC 3834 and common practice give for mail that must not be answered."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    return (
        auto != "no"
        or str(msg.get("Precedence", "")).strip().lower() in {"bulk", "junk", "list"}
        or "List-Id" in msg
        or "List-Unsubscribe" in msg
        or str(msg.get("Return-Path", "")).strip() == "<>"
        or "X-Auto-Response-Suppress" in msg
    )


def test_maildir_layout() -> None:
    for sub in ("cur", "new", "tmp"):
        assert (MAILDIR / sub).is_dir()
    names = [p.name for p in files()]
    assert len(names) >= 26
    assert all(re.fullmatch(r"\d{10}\.M\d+P\d+\.sample:2,", n) for n in names), names


@pytest.mark.parametrize("path", files(), ids=lambda p: p.name.split(".")[0])
def test_message_is_well_formed(path: Path) -> None:
    msg = parse(path)
    for name in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Return-Path"):
        assert msg.get(name) is not None, f"{path.name}: no {name}"
    assert not msg.defects, msg.defects
    for part in msg.walk():
        assert not part.defects, (path.name, part.defects)
        # Only declared text parts: the field blocks of a delivery-status report default to text/plain.
        if "Content-Type" in part and part.get_content_type() in {"text/plain", "text/html"}:
            assert part.get_param("charset"), f"{path.name}: text part without charset"
    sent = msg["Date"].datetime
    assert (sent.year, sent.month) == (2026, 11) and sent.tzinfo is not None
    sender = parseaddr(str(msg["From"]))[1]
    assert domain_of(sender).endswith(tuple(SENDER_DOMAINS)), sender
    assert domain_of(sender) != OUR_DOMAIN, "sample senders must not look like our own mail"
    assert domain_of(str(msg["Message-ID"])) == domain_of(sender), "Message-ID not on the sender's domain"
    assert parseaddr(str(msg["To"]))[1] in {"privacy@example.com", "dpo@example.com"}
    body = msg.get_body(preferencelist=("plain", "html"))
    assert body is not None and str(body.get_content()).strip(), f"{path.name}: no readable body"


def test_files_sort_in_arrival_order_and_ids_are_unique() -> None:
    messages = [parse(p) for p in files()]
    dates = [m["Date"].datetime for m in messages]
    assert dates == sorted(dates)
    ids = [str(m["Message-ID"]) for m in messages]
    assert len(set(ids)) == len(ids)


def test_follow_up_threads_to_a_sample_message() -> None:
    messages = {p.name: parse(p) for p in files()}
    by_id = {str(m["Message-ID"]): name for name, m in messages.items()}
    follow_ups = 0
    for name, msg in messages.items():
        parent_id = msg.get("In-Reply-To")
        if parent_id is None or domain_of(str(parent_id)) == OUR_DOMAIN:
            continue  # a reply to our own mail (the newsletter) is not a thread inside the sample
        assert str(parent_id) in by_id, f"{name}: In-Reply-To points outside the sample"
        parent = messages[by_id[str(parent_id)]]
        assert str(parent_id) in str(msg["References"])
        assert parseaddr(str(msg["From"]))[1] == parseaddr(str(parent["From"]))[1]
        assert msg["Date"].datetime > parent["Date"].datetime
        quoted = [line for line in str(msg.get_body(("plain",)).get_content()).splitlines() if line.startswith(">")]
        parent_text = str(parent.get_body(("plain",)).get_content())
        assert quoted and all(line.lstrip("> ") in parent_text for line in quoted)
        follow_ups += 1
    assert follow_ups >= 1


def test_readme_lists_every_file_and_agrees_with_the_headers() -> None:
    rows = table()
    assert set(rows) == {p.name for p in files()}
    labels = {str(i) for i in Intent}
    for path in files():
        row, msg = rows[path.name], parse(path)
        intents = [i.strip() for i in row["intents"].split(",")]
        assert set(intents) <= labels, intents
        automated = row["automated"] == "yes"
        assert automated == (intents == ["auto_reply"]), path.name
        assert automated == looks_automated(msg), f"{path.name}: README and headers disagree"
        assert parseaddr(str(msg["To"]))[1] == f"{row['to']}@example.com"


def test_sample_covers_what_the_demo_shows() -> None:
    rows = list(table().values())
    seen: dict[str, set[str]] = {}
    for row in rows:
        for intent in row["intents"].split(","):
            seen.setdefault(intent.strip(), set()).update(row["lang"].split("+"))
    assert set(seen) == {str(i) for i in Intent}
    for intent in ("access", "erasure", "rectification", "objection", "portability",
                   "consent_withdrawal", "unsubscribe", "general"):
        assert {"sv", "en"} <= seen[intent], intent
    assert {"de", "fr"} <= {r["lang"] for r in rows}
    assert any(len(r["intents"].split(",")) > 1 for r in rows)
    assert sum(r["automated"] == "yes" for r in rows) >= 4
    assert any(r["breach"] == "yes" for r in rows)


def test_sample_covers_the_awkward_encodings() -> None:
    seen = set()
    for path in files():
        msg = parse(path)
        seen.add(msg.get_content_type())
        for part in msg.walk():
            cte = str(part.get("Content-Transfer-Encoding", "7bit")).lower()
            seen.add(f"{cte}:{str(part.get_content_charset('')).lower()}")
    assert {"text/html", "multipart/report", "multipart/alternative"} <= seen
    assert {"base64:utf-8", "quoted-printable:iso-8859-1"} <= seen
