"""Fuzz: whatever bytes arrive, the parser and classifier raise nothing but ParseError, and the
pipeline gives every message an outcome on record (a ProcessedMessage or a DeadLetter).

Two sources of input, both seeded so that a failure reproduces exactly:
- hypothesis strategies that build messages from scratch: hostile header values (CR, LF, NUL,
  invalid UTF-8, broken RFC 2047 words), random MIME trees, charsets, transfer encodings and
  boundaries (`derandomize=True`: the same examples on every run);
- mutations of the real .eml fixtures (tests/fixtures, the automated-mail corpus, the sample
  mailbox): byte flips, truncation, duplicated parts, deleted headers, corrupted boundaries,
  injected line breaks and NULs, spliced messages (random.Random(SEED)).

Over 10,000 messages go through parse + classify in batches; a few hundred of them also go
through the whole pipeline over SQLite. The extreme shapes (50 MB, 10,000 parts, 1,000 levels of
nesting, NULs, invalid UTF-8 in headers, no From) go through the pipeline with their time and
memory measured, and the repairs recorded on the message's row.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import random
import re
import resource
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxbot.classify.rules import RuleClassifier
from inboxbot.config import DEFAULT_PROMPTS
from inboxbot.domain import Inbound
from inboxbot.errors import ParseError
from inboxbot.parse import parse
from inboxbot.store.models import DeadLetter, ProcessedMessage
from tests.helpers_pipeline import pipeline

SEED = 20260302
ROOT = Path(__file__).resolve().parent.parent
MUTANTS = 9_000  # plus GENERATED_BATCHES * 4 from hypothesis: over 10,000 in all
MUTANTS_PER_SEED = 2_250
GENERATED_BATCHES = 300
BATCH = 250  # messages classified per call, as the worker batches a fetch


def fixture_messages() -> list[bytes]:
    files = sorted(
        [*(ROOT / "tests" / "fixtures").rglob("*.eml"),
         *(ROOT / "tests" / "data" / "corpus" / "automated").rglob("*.eml"),
         *(p for p in (ROOT / "inboxbot" / "sample_mailbox" / "new").iterdir() if p.is_file())]
    )
    return [f.read_bytes() for f in files]


CLASSIFIER = RuleClassifier(DEFAULT_PROMPTS / "lexicon")


def parse_and_classify(raws: list[bytes]) -> list[str]:
    """Parse and classify every message; only ParseError may come out. Returns the failures."""
    failures: list[str] = []
    parsed: list[Inbound] = []
    for raw in raws:
        try:
            parsed.append(parse(raw))
        except ParseError:
            continue
        except Exception as exc:  # noqa: BLE001 - this is the failure being looked for
            failures.append(f"parse raised {type(exc).__name__}: {exc} on {raw[:300]!r}")
    for start in range(0, len(parsed), BATCH):
        chunk = parsed[start:start + BATCH]
        try:
            verdicts = CLASSIFIER.classify(chunk)
        except ParseError:
            continue
        except Exception as exc:  # noqa: BLE001
            failures.append(f"classify raised {type(exc).__name__}: {exc}")
            continue
        if len(verdicts) != len(chunk):
            failures.append(f"classify gave {len(verdicts)} verdicts for {len(chunk)} messages")
    return failures


# -- mutations of real messages ------------------------------------------------------------------

def _head_end(raw: bytes) -> int:
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = raw.find(sep)
        if i >= 0:
            return i
    return len(raw)


def _flip(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 12)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _truncate(rng: random.Random, raw: bytes) -> bytes:
    return raw[: rng.randrange(len(raw) + 1)]


def _delete_header(rng: random.Random, raw: bytes) -> bytes:
    end = _head_end(raw)
    lines = raw[:end].split(b"\n")
    if len(lines) > 1:
        del lines[rng.randrange(len(lines))]
    return b"\n".join(lines) + raw[end:]


def _duplicate_part(rng: random.Random, raw: bytes) -> bytes:
    """Copy a slice that starts at a boundary line (or anywhere) in again, several times."""
    starts = [m.start() for _, m in zip(range(50), re.finditer(rb"\n--", raw))] or [rng.randrange(len(raw) + 1)]
    a = rng.choice(starts)
    b = min(len(raw), a + rng.randint(1, 4000))
    return raw[:b] + raw[a:b] * rng.randint(1, 30) + raw[b:]


def _corrupt_boundary(rng: random.Random, raw: bytes) -> bytes:
    i = raw.find(b"boundary=")
    if i < 0:
        return _flip(rng, raw)
    junk = rng.choice([b'""', b'"', b"", b" ", b'"--"', b'"a b;c"', b"x" * 200, b"\x00\xff", b'"=?x?"'])
    end = raw.find(b"\n", i)
    end = len(raw) if end < 0 else end
    raw = raw[: i + 9] + junk + raw[end:]
    if rng.random() < 0.5:  # and break one delimiter line too
        j = raw.find(b"\n--", i)
        if j >= 0:
            raw = raw[: j + 3] + b"X" + raw[j + 3:]
    return raw


def _inject(rng: random.Random, raw: bytes) -> bytes:
    piece = rng.choice([b"\r", b"\n", b"\x00", b"\r\n\r\n", b"\xff\xfe", b"=?utf-8?q?=0D=0A?=",
                        b"\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n", b"\x1b[31m",
                        b"=?utf-8?b?////?=", "\u2028".encode(), b"\r\n "])
    i = rng.randrange(len(raw) + 1)
    return raw[:i] + piece + raw[i:]


def _charset(rng: random.Random, raw: bytes) -> bytes:
    label = rng.choice([b"utf-7", b"bogus-8", b"utf-16", b"iso-2022-jp", b"base64", b"rot13",
                        b"", b'"', b"x" * 300, b"cp1252"])
    return raw.replace(b"charset=", b"charset=" + label + b";x=", 1)


def _splice(rng: random.Random, raw: bytes, others: list[bytes]) -> bytes:
    other = rng.choice(others)
    return raw[: _head_end(raw)] + other[_head_end(other):]


MUTATIONS = (_flip, _truncate, _delete_header, _duplicate_part, _corrupt_boundary, _inject, _charset)


def mutants(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    originals = fixture_messages()
    for _ in range(count):
        raw = rng.choice(originals)
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.08:
                raw = _splice(rng, raw, originals)
            else:
                raw = rng.choice(MUTATIONS)(rng, raw)
        yield raw


def check_mutants(seed: int) -> tuple[int, list[str]]:
    """One worker's share: MUTANTS_PER_SEED mutants from `seed`, in batches. Module-level so a
    spawned process can run it."""
    failures: list[str] = []
    stream = mutants(seed, MUTANTS_PER_SEED)
    done = 0
    while done < MUTANTS_PER_SEED:
        batch = [raw for _, raw in zip(range(BATCH * 4), stream)]
        failures += [f"seed {seed}: {f}" for f in parse_and_classify(batch)]
        done += len(batch)
    return done, failures


def test_mutated_fixtures_never_break_parse_or_classify() -> None:
    assert len(fixture_messages()) > 150  # the fixtures are there to mutate
    seeds = [SEED * 10 + k for k in range(MUTANTS // MUTANTS_PER_SEED)]
    # Two processes: the classifier is CPU-bound and CI has two cores.
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(check_mutants, seeds))
    assert sum(done for done, _ in results) == MUTANTS
    failures = [f for _, fs in results for f in fs]
    assert not failures, "\n".join(failures[:5])


# -- messages built from scratch -----------------------------------------------------------------

HEADER_NAMES = ["From", "To", "Cc", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References",
                "Date", "Content-Type", "Content-Transfer-Encoding", "Auto-Submitted", "Precedence",
                "List-Id", "Return-Path", "Authentication-Results", "Content-Language", "X-Loop"]
NASTY = [b"\r", b"\n", b"\r\n", b"\x00", b"\xff\xfe\xfd", b"\xc3(", b"=?utf-8?q?=0D=0ABcc:_x?=",
         b"=?utf-8?b?w6U=?=", b"=?x-unknown?q?abc?=", b"=?utf-8?b?!!!?=", b"=?", b"?=", b"<", b">",
         b"@", b'"', b"(", b")", b";", b",", b"\\", b"\t", "\u2028".encode(), "åäö".encode(),
         "Ω".encode("utf-16"), b"anna@example.se", b"<id@example.org>", b" "]
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "us-ascii", "utf-16", "koi8-r", "bogus", "",
            "UTF-8", '"utf-8"', "utf-7", "base64"]
CTES = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus", ""]
LEAF_TYPES = ["text/plain", "text/html", "application/pdf", "message/rfc822", "message/delivery-status",
              "text/rfc822-headers", "image/png", "text/calendar", "", "text/"]

header_value = st.lists(st.one_of(st.sampled_from(NASTY), st.binary(max_size=40),
                                  st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass"))),
                        max_size=8).map(b"".join)
header = st.tuples(st.one_of(st.sampled_from(HEADER_NAMES), st.text("abcXYZ-_:é ", min_size=0, max_size=12)),
                   header_value)
body_bytes = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"Please delete all my personal data.", b"Radera mina uppgifter, tack.",
                     b"PGh0bWw+PHNjcmlwdD4=", b"=C3=A5=\r\n=ZZ", b"<p>unsubscribe<br>me</p>"]),
)
boundary = st.one_of(st.sampled_from(["b1", "", " ", "a b", '"', "=_x", "-" * 80, "x" * 100]),
                     st.text(max_size=20))


@st.composite
def mime_tree(draw: st.DrawFn, depth: int = 0) -> bytes:
    """One MIME entity: a leaf, or a multipart whose children are drawn the same way."""
    heads = draw(st.lists(header, max_size=3))
    extra = b"".join(name.encode("utf-8", "surrogatepass") + b": " + value + b"\r\n" for name, value in heads)
    if depth < 4 and draw(st.booleans()):
        sub = draw(st.sampled_from(["mixed", "alternative", "related", "report", "digest", "signed", ""]))
        bnd = draw(boundary)
        children = draw(st.lists(mime_tree(depth + 1), min_size=0, max_size=4))  # type: ignore[call-arg]
        close = draw(st.booleans())
        out = f'Content-Type: multipart/{sub}; boundary="{bnd}"\r\n'.encode("utf-8", "surrogatepass") + extra + b"\r\n"
        for child in children:
            out += b"--" + bnd.encode("utf-8", "surrogatepass") + b"\r\n" + child + b"\r\n"
        if close:
            out += b"--" + bnd.encode("utf-8", "surrogatepass") + b"--\r\n"
        return out
    ctype = draw(st.sampled_from(LEAF_TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(CTES))
    return (f"Content-Type: {ctype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n".encode()
            + extra + b"\r\n" + draw(body_bytes))


@st.composite
def message(draw: st.DrawFn) -> bytes:
    heads = draw(st.lists(header, max_size=12))
    top = b"".join(name.encode("utf-8", "surrogatepass") + b": " + value + b"\r\n" for name, value in heads)
    newline = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    return (top + draw(mime_tree())).replace(b"\r\n", newline)


@settings(max_examples=GENERATED_BATCHES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(raws=st.lists(message(), min_size=4, max_size=4))
def test_generated_messages_never_break_parse_or_classify(raws: list[bytes]) -> None:
    failures = parse_and_classify(raws)
    assert not failures, failures[0]


# -- the whole pipeline ---------------------------------------------------------------------------

async def _assert_all_recorded(outcomes: list, start_uid: int) -> None:  # type: ignore[type-arg]
    for n, outcome in enumerate(outcomes):
        uid = start_uid + n
        assert outcome.uid == uid
        if outcome.outcome == "dead_letter":
            assert await DeadLetter.filter(uid=uid).exists(), uid
        elif outcome.outcome == "duplicate":
            assert await ProcessedMessage.filter(message_id=outcome.message_id).exists(), uid
        else:
            row = await ProcessedMessage.get(uid=uid)
            assert row.outcome == outcome.outcome


async def test_pipeline_records_every_fuzzed_message(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    raws = list(mutants(SEED + 1, 360))
    raws += [rng.choice(fixture_messages())[: rng.randrange(2000)] for _ in range(40)]
    async with pipeline(tmp_path) as run:
        uid = 1
        for start in range(0, len(raws), 50):
            batch = raws[start:start + 50]
            outcomes = await run.process(batch)  # never raises: a poison message is set aside
            assert len(outcomes) == len(batch)
            await _assert_all_recorded(outcomes, uid)
            uid += len(batch)
        await run.deliver()  # and what was queued can be sent
        kinds = {o for o in await ProcessedMessage.all().values_list("outcome", flat=True)}
        assert {"ticket", "automated"} <= kinds  # the mutants still look like mail


def _nested(levels: int) -> bytes:
    head = b"From: anna@example.se\r\nTo: privacy@example.com\r\nSubject: deep\r\nMessage-ID: <deep@example.se>\r\n"
    parts = [b"Content-Type: text/plain\r\n\r\nPlease delete my data.\r\n"]
    body = parts[0]
    for i in range(levels):
        body = (f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode() + body
                + f"\r\n--b{i}--\r\n".encode())
    return head + body


def _many_parts(count: int) -> bytes:
    head = (b"From: anna@example.se\r\nTo: privacy@example.com\r\nSubject: parts\r\n"
            b"Message-ID: <parts@example.se>\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n")
    parts = b"".join(b"--BB\r\nContent-Type: text/plain\r\n\r\nPart %d: please delete my data.\r\n" % i
                     for i in range(count))
    return head + parts + b"--BB--\r\n"


def _huge(megabytes: int) -> bytes:
    head = (b"From: anna@example.se\r\nTo: privacy@example.com\r\nSubject: big\r\n"
            b"Message-ID: <big@example.se>\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
            b"--BB\r\nContent-Type: text/plain\r\n\r\nPlease delete my data.\r\n"
            b"--BB\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
            b"filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n"
    return head + line * (megabytes * 1024 * 1024 // len(line)) + b"--BB--\r\n"


EXTREMES = {
    # name: (raw, defect expected on the record, seconds, peak MB) - bounds are generous on purpose
    "50 MB": (lambda: _huge(50), "only the start parsed", 30.0, 250),
    "10,000 parts": (lambda: _many_parts(10_000), "MIME parts, rest not read", 20.0, 200),
    "1,000 levels": (lambda: _nested(1000), "MIME structure unreadable", 20.0, 200),
    "NUL bytes": (lambda: b"From: anna@example.se\r\nSubject: a\x00b\r\nMessage-ID: <nul@example.se>\r\n\r\n"
                  b"Please\x00 delete my data.\r\n", "NUL bytes removed", 5.0, 50),
    "invalid UTF-8 headers": (lambda: b"From: \xc3\x28 Anna \xff <anna@example.se>\r\nSubject: \xed\xa0\x80 "
                              b"radera\r\nMessage-ID: <utf@example.se>\r\n\r\nRadera mina uppgifter.\r\n",
                              "", 5.0, 50),  # "" is in every defect: any repair recorded will do
    "missing From": (lambda: b"To: privacy@example.com\r\nSubject: delete\r\nMessage-ID: <nofrom@example.se>\r\n\r\n"
                     b"Please delete my data.\r\n", "no usable From address", 5.0, 50),
}


@pytest.mark.parametrize("name", list(EXTREMES))
async def test_extreme_messages_bounded_and_recorded(tmp_path: Path, name: str) -> None:
    make, defect, seconds, peak_mb = EXTREMES[name]
    raw = make()
    async with pipeline(tmp_path) as run:
        started = time.monotonic()
        [outcome] = await run.process([raw])
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"{name}: {elapsed:.1f} s"
        # Memory on its own pass: tracemalloc slows the parser's deep recursion fifty-fold, so
        # the 1,000-level message is measured by the growth of the process's peak RSS instead.
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if name == "1,000 levels":
            parse(raw)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
        else:
            tracemalloc.start()
            try:
                CLASSIFIER.classify([parse(raw)])
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert peak < peak_mb * 1024 * 1024, f"{name}: peak {peak / 2**20:.0f} MB"
        assert outcome.outcome != "dead_letter", outcome
        row = await ProcessedMessage.get(uid=outcome.uid)
        assert row.outcome == outcome.outcome
        assert any(defect in d for d in row.defects), row.defects
        if name == "missing From":
            assert not outcome.acknowledged and row.ack_withheld == "no usable sender address"
        else:
            assert row.sender == "anna@example.se"  # the headers survive whatever the body does
