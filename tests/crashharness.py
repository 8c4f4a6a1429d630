"""Crash anywhere: run the real worker process over real servers, SIGKILL it at random points,
restart it, and check that nothing was lost and nothing happened twice.

Used by tests/test_crash.py (CI size) and bench/crash_bench.py (1,000 messages, 20 kills).

The oracle is a reference run: the same messages through the same pipeline in this process,
on a store of its own, with no crash. The crashed run must end in the same place: the same
outcome for every Message-ID, a ticket exactly where the reference opened one, an
acknowledgement exactly where it sent one, the same suppressions, each applied once.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from imapclient import IMAPClient

from inboxbot.config import load_settings
from inboxbot.domain import RawMessage
from inboxbot.outbox import INTERRUPTED
from inboxbot.suppression import address_hash
from rig import Dovecot, MailUser, RecordingSMTP

REPO = Path(__file__).resolve().parent.parent

# -- generated mail -------------------------------------------------------------------------------

_REQUESTS: dict[str, dict[str, tuple[str, str]]] = {
    "access": {
        "en": ("Access request", "Under Article 15 GDPR I request a copy of all personal data you hold about me."),
        "sv": ("Begäran om registerutdrag", "Jag begär ett registerutdrag enligt artikel 15 GDPR med alla personuppgifter ni har om mig."),
    },
    "erasure": {
        "en": ("Delete my data", "Please erase all my personal data under Article 17 GDPR (right to be forgotten)."),
        "sv": ("Radera mina uppgifter", "Jag vill att ni raderar alla mina personuppgifter enligt artikel 17 GDPR."),
    },
    "rectification": {
        "en": ("Wrong address on file", "My postal address in your records is wrong. Please correct it to Storgatan 1."),
        "sv": ("Rätta min adress", "Min adress hos er är fel. Vänligen rätta mina uppgifter till Storgatan 1."),
    },
    "objection": {
        "en": ("Objection to processing", "I object to the processing of my personal data for direct marketing under Article 21."),
        "sv": ("Invändning mot behandling", "Jag invänder mot behandlingen av mina personuppgifter för direktmarknadsföring enligt artikel 21."),
    },
    "restriction": {
        "en": ("Restrict processing", "I request restriction of processing of my personal data under Article 18 while you check the accuracy."),
        "sv": ("Begränsa behandlingen", "Jag begär begränsning av behandlingen av mina personuppgifter enligt artikel 18."),
    },
    "portability": {
        "en": ("Data portability", "Please send my personal data in a machine-readable format (data portability, Article 20)."),
        "sv": ("Dataportabilitet", "Jag vill få ut mina personuppgifter i ett maskinläsbart format enligt artikel 20 (dataportabilitet)."),
    },
    "consent_withdrawal": {
        "en": ("Withdrawing consent", "I withdraw my consent to the processing of my personal data."),
        "sv": ("Återkallar samtycke", "Jag återkallar mitt samtycke till behandlingen av mina personuppgifter."),
    },
    "complaint": {
        "en": ("Complaint", "I want to file a complaint about how you handled my personal data. This is unacceptable."),
        "sv": ("Klagomål", "Jag vill lämna ett klagomål på hur ni har hanterat mina personuppgifter. Det är inte okej."),
    },
    "general": {
        "en": ("Question about your privacy policy", "How long do you keep customer data, and who do you share it with?"),
        "sv": ("Fråga om er integritetspolicy", "Hur länge sparar ni kunduppgifter och vilka delar ni dem med?"),
    },
    "unsubscribe": {
        "en": ("Unsubscribe", "Please unsubscribe me from your newsletter. Stop sending me marketing emails."),
        "sv": ("Avregistrera mig", "Avregistrera mig från ert nyhetsbrev. Sluta skicka reklam till mig."),
    },
}
_NAMES = ("Anna Berg", "Erik Lund", "Maja Ek", "Olle Holm", "Sara Nyström", "Jonas Wik", "Lina Dahl",
          "Karl Strand", "Eva Sjö", "Nils Falk", "Tove Ström", "Ali Sandberg")
_DOMAINS = ("example.org", "example.net", "example.se", "mail.example.org")


@dataclass(frozen=True)
class Generated:
    raw: bytes
    message_id: str
    kind: str  # an intent name, "automated:<what>" or "follow_up"
    sender: str


def _message(*, sender: str, name: str, subject: str, body: str, message_id: str, when: datetime,
             extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    msg = email.message.EmailMessage(policy=email.policy.SMTP)
    msg["From"] = email.utils.formataddr((name, sender))
    msg["To"] = "privacy@example.com"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    msg["Message-ID"] = message_id
    for key, value in extra:
        msg[key] = value
    msg.set_content(body)
    return msg.as_bytes()


def generate(n: int, seed: int) -> list[Generated]:
    """`n` messages of every kind, in a seeded order: requests of each intent in Swedish and
    English, unsubscribes, automated mail (out-of-office, bounces, list mail), and follow-ups
    to earlier requests in the batch."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    out: list[Generated] = []
    requests: list[Generated] = []
    for i in range(n):
        when = start + timedelta(minutes=i)
        mid = f"<crash-{seed}-{i}@{rng.choice(_DOMAINS)}>"
        name = rng.choice(_NAMES)
        sender = f"{name.split()[0].lower()}.{i}@{rng.choice(_DOMAINS)}"
        roll = rng.random()
        if roll < 0.12 and requests:
            orig = rng.choice(requests)
            subject = f"Re: {email.message_from_bytes(orig.raw, policy=email.policy.default)['Subject']}"
            raw = _message(sender=orig.sender, name=name, subject=subject, message_id=mid, when=when,
                           body="Any news on my request? I have not heard back yet.",
                           extra=(("In-Reply-To", orig.message_id), ("References", orig.message_id)))
            out.append(Generated(raw, mid, "follow_up", orig.sender))
            continue
        if roll < 0.24:
            what = rng.choice(("ooo", "bounce", "list"))
            if what == "ooo":
                raw = _message(sender=sender, name=name, subject="Automatic reply: your message",
                               body="I am out of the office until Monday with limited access to email.",
                               message_id=mid, when=when, extra=(("Auto-Submitted", "auto-replied"),))
            elif what == "bounce":
                raw = _message(sender=f"MAILER-DAEMON@{sender.split('@')[1]}", name="Mail Delivery System",
                               subject="Undelivered Mail Returned to Sender", message_id=mid, when=when,
                               body=f"Your message to {sender} could not be delivered: user unknown.",
                               extra=(("Auto-Submitted", "auto-replied"),))
            else:
                raw = _message(sender=sender, name=name, subject="Weekly news", message_id=mid, when=when,
                               body="This week's offers. Read more on our site.",
                               extra=(("List-Id", "<news.example.net>"), ("Precedence", "bulk")))
            out.append(Generated(raw, mid, f"automated:{what}", sender))
            continue
        intent = rng.choice(sorted(_REQUESTS))
        lang = rng.choice(("sv", "en"))
        subject, body = _REQUESTS[intent][lang]
        greeting = "Hej," if lang == "sv" else "Hello,"
        closing = "Med vänliga hälsningar" if lang == "sv" else "Kind regards"
        raw = _message(sender=sender, name=name, subject=subject, message_id=mid, when=when,
                       body=f"{greeting}\n\n{body}\n\n{closing}\n{name}\n")
        item = Generated(raw, mid, intent, sender)
        out.append(item)
        requests.append(item)
    return out


# -- the worker as a process ----------------------------------------------------------------------


def write_config(path: Path, dovecot: Dovecot, user: MailUser, smtp: RecordingSMTP) -> Path:
    state = path.parent / "state"
    (path.parent / "imap-password").write_text(dovecot.users[user.name].password)
    path.write_text(f"""
[organisation]
name = "Example AB"
domain = "example.com"
reply_from = "privacy@example.com"
dpo_email = "dpo@example.com"

[[mailbox]]
name = "privacy"
host = "{dovecot.host}"
port = {dovecot.ssl_port}
security = "tls"
ca_file = "{dovecot.ca_file}"
username = "{user.name}"
password_file = "{path.parent / 'imap-password'}"
idle_timeout = 5.0
fetch_batch = 20
timeout = 10.0

[transport]
host = "{smtp.host}"
port = {smtp.port}
security = "plain"
timeout = 10.0

[store]
state_dir = "{state}"

[worker]
outbox_interval = 0.2
# A kill mid-send leaves an item `sending`; the next life resends it after this.
sending_timeout = 1
# One worker restarted again and again: the same id takes its own lease back at once.
worker_id = "crash-harness"

[replies]
max_per_sender_per_day = 50
max_per_domain_per_hour = 100000
max_per_hour = 100000

[[marketing]]
kind = "file"
name = "export"
path = "{path.parent / 'suppressed.csv'}"
""")
    return path


def spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO), INBOXBOT_LOG_LEVEL="INFO")
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "inboxbot.cli", "-c", str(config), "run"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def append_all(dovecot: Dovecot, user: MailUser, items: list[Generated]) -> None:
    """APPEND over one connection (one per message would dominate the run time)."""
    client = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    try:
        client.login(user.name, dovecot.users[user.name].password)
        for item in items:
            client.append("INBOX", item.raw)
    finally:
        client.logout()


def _db(state: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{state / 'inboxbot.sqlite3'}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    return conn


def progress(state: Path) -> tuple[int, int]:
    """(messages recorded, outbox items still to send) as the store says now."""
    if not (state / "inboxbot.sqlite3").exists():
        return 0, 0
    try:
        with _db(state) as conn:
            done = conn.execute("select (select count(*) from processed_message) + "
                                "(select count(*) from dead_letter)").fetchone()[0]
            left = conn.execute("select count(*) from outbox where status in ('pending','sending')"
                                ).fetchone()[0]
            left += conn.execute("select count(*) from suppression_push where status = 'pending'"
                                 ).fetchone()[0]
            return int(done), int(left)
    except sqlite3.OperationalError:  # tables not created yet
        return 0, 0


@dataclass
class CrashRun:
    seed: int
    # (mode, seconds after start, records, SMTP messages) at each kill
    kills: list[tuple[str, float, int, int]] = field(default_factory=list)
    exits: list[int] = field(default_factory=list)


def _kill_moment(rng: random.Random, state: Path, smtp: RecordingSMTP) -> tuple[str, float]:
    """Wait for the moment to kill; return (mode, seconds waited).

    Most kills land a random 0-0.4 s after the life has started to record messages ("records")
    or to send mail ("smtp"), so they hit the pipeline and the outbox mid-flight. The rest
    ("time") land at a random time from start: start-up, connecting, IDLE."""
    roll, extra, at = rng.random(), rng.uniform(0.0, 0.4), rng.uniform(0.1, 1.2)
    started = time.monotonic()
    if roll < 0.2:
        time.sleep(at)
        return "time", round(at, 3)
    mode = "smtp" if roll < 0.4 else "records"
    done0, sent0 = progress(state)[0], len(smtp.messages)
    while time.monotonic() - started < 15:
        if (progress(state)[0] > done0) if mode == "records" else (len(smtp.messages) > sent0):
            break
        time.sleep(0.01)
    time.sleep(extra)
    return mode, round(time.monotonic() - started, 3)


def _ready_lines(logs: Path) -> int:
    """How many worker lives have said they are ready (inboxbot.service logs it)."""
    if not logs.exists():
        return 0
    return logs.read_text(errors="replace").count("inboxbot.service: ready:")


def crash_loop(*, config: Path, dovecot: Dovecot, user: MailUser, smtp: RecordingSMTP,
               items: list[Generated], kills: int, seed: int, drain_timeout: float = 90.0) -> CrashRun:
    """Append the batch in waves, one per worker life; SIGKILL each life at a seeded random
    moment; then run a last life to the end and stop it with SIGTERM."""
    rng = random.Random(seed)
    state = config.parent / "state"
    logs = config.parent / "worker.log"
    run = CrashRun(seed)
    # Contiguous waves keep UID order = generation order, so follow-ups come after their originals.
    waves = [items[len(items) * i // kills: len(items) * (i + 1) // kills] for i in range(kills)]
    for i in range(kills):
        proc = spawn(config, logs)
        append_all(dovecot, user, waves[i])
        mode, waited = _kill_moment(rng, state, smtp)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        run.exits.append(proc.wait())
        run.kills.append((mode, waited, progress(state)[0], len(smtp.messages)))
    readies = _ready_lines(logs)
    proc = spawn(config, logs)
    deadline = time.monotonic() + drain_timeout
    stable_since = time.monotonic()
    last = (-1, -1, -1)
    while time.monotonic() < deadline:
        done, left = progress(state)
        now = (done, left, len(smtp.messages))
        if now != last:
            last, stable_since = now, time.monotonic()
        # The last life must have started (said ready) before it is told to stop: when the
        # killed lives already did everything, the store is done at once, and a SIGTERM during
        # its start-up would test nothing but Python's default signal handling.
        if (done == len(items) and left == 0 and time.monotonic() - stable_since > 0.5
                and _ready_lines(logs) > readies):
            break
        if proc.poll() is not None:
            raise AssertionError(f"worker exited by itself ({proc.returncode}); see {logs}")
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    run.exits.append(proc.wait(timeout=20))
    return run


# -- the oracle and the checks --------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    outcome: str
    acknowledged: bool
    suppressed: bool
    escalated: int  # escalation messages for the ticket this message opened


async def reference(config: Path, items: list[Generated], workdir: Path) -> dict[str, Expected]:
    """The same messages through the same pipeline, in this process, with no crash."""
    from dataclasses import replace

    from inboxbot.classify import make_classifier
    from inboxbot.pipeline import Processor
    from inboxbot.store import close_store, open_store
    from inboxbot.store.models import OutboxItem, ProcessedMessage

    settings = replace(load_settings(config), database_url=f"sqlite://{workdir / 'reference.sqlite3'}",
                       marketing=())
    await open_store(settings.db_url)
    try:
        raws = [RawMessage("privacy", "INBOX", 1, i + 1, item.raw, None) for i, item in enumerate(items)]
        outcomes = await Processor(settings, make_classifier(settings)).process(raws, track_cursor=False)
        per_ticket = Counter(await OutboxItem.filter(purpose="escalation").values_list("ticket_id", flat=True))
        opener = dict(await ProcessedMessage.filter(outcome="ticket").values_list("message_id", "ticket_id"))
    finally:
        await close_store()
    return {o.message_id: Expected(o.outcome, o.acknowledged, o.suppressed,
                                   per_ticket.get(opener.get(o.message_id), 0))
            for o in outcomes}


def verify(state: Path, items: list[Generated], expected: dict[str, Expected],
           received: list, run: CrashRun, export: Path) -> dict[str, int]:
    """Every check of the crash test; raises AssertionError listing every problem found."""
    problems: list[str] = []
    conn = _db(state)
    pm = {r["message_id"]: r for r in conn.execute("select * from processed_message")}
    dead = conn.execute("select uid from dead_letter").fetchall()
    tickets = {r["id"]: r for r in conn.execute("select * from ticket")}
    events = Counter((r["ticket_id"], r["kind"]) for r in conn.execute("select ticket_id, kind from ticket_event"))
    outbox = list(conn.execute("select * from outbox"))
    by_sender = {item.message_id: item.sender for item in items}

    # 1. Exactly one outcome per message, and the outcome the reference run reached.
    if dead:
        problems.append(f"{len(dead)} dead letters (uids {[d[0] for d in dead][:10]})")
    for item in items:
        row = pm.get(item.message_id)
        if row is None:
            problems.append(f"{item.message_id} ({item.kind}): no record")
        elif row["outcome"] != expected[item.message_id].outcome:
            problems.append(f"{item.message_id} ({item.kind}): {row['outcome']} != "
                            f"{expected[item.message_id].outcome}")
    if len(pm) != len(items):
        problems.append(f"{len(pm)} records for {len(items)} messages")

    # 2. One ticket where one is due, none elsewhere; follow-ups in their original's ticket.
    ticket_of = {mid: row["ticket_id"] for mid, row in pm.items()}
    opened = [mid for mid, e in expected.items() if e.outcome == "ticket"]
    if len(tickets) != len(opened):
        problems.append(f"{len(tickets)} tickets, {len(opened)} due")
    owners = Counter(ticket_of.get(mid) for mid in opened)
    for tid, n in owners.items():
        if tid is None or n != 1:
            problems.append(f"ticket {tid} owned by {n} messages")
    for tid in tickets:
        if events[(tid, "opened")] != 1:
            problems.append(f"ticket {tid}: {events[(tid, 'opened')]} 'opened' events")
    follow_ups = [mid for mid, e in expected.items() if e.outcome == "follow_up"]
    follow_events = sum(n for (tid, kind), n in events.items() if kind == "follow_up")
    if follow_events != len(follow_ups):
        problems.append(f"{follow_events} follow-up events for {len(follow_ups)} follow-ups")

    # 3. Acknowledgements as the recipient sees them: for each message, the distinct
    #    acknowledgements (Message-IDs) sent to its sender in reply to it. One where due, else none.
    acks: dict[tuple[str, str], set[str]] = defaultdict(set)
    copies: dict[str, list[bytes]] = defaultdict(list)
    escalations: dict[str, set[str]] = defaultdict(set)
    for got in received:
        msg = got.message
        copies[str(msg["Message-ID"])].append(got.raw)
        if got.rcpt_tos == ["dpo@example.com"]:
            escalations[str(msg["X-Inboxbot-Ref"] or "")].add(str(msg["Message-ID"]))
            continue
        acks[(got.rcpt_tos[0].lower(), str(msg["In-Reply-To"] or "").strip())].add(str(msg["Message-ID"]))
    due_acks = 0
    for mid, e in expected.items():
        found = acks.pop((by_sender[mid].lower(), mid), set())
        due_acks += e.acknowledged
        if len(found) != int(e.acknowledged):
            problems.append(f"{mid}: {len(found)} distinct acknowledgements, {int(e.acknowledged)} due")
    if acks:
        problems.append(f"acknowledgements to no message of the batch: {sorted(acks)[:5]}")

    # 4. A copy (same Message-ID) is byte-identical, comes only from a send a kill interrupted,
    #    and there is at most one per kill (see inboxbot/outbox.py).
    interrupted = {r["message_id"] for r in outbox if r["last_error"] == INTERRUPTED}
    extra = 0
    for message_id, raws in copies.items():
        if len(raws) > 1:
            extra += len(raws) - 1
            if len(set(raws)) != 1:
                problems.append(f"{message_id}: copies differ")
            if message_id not in interrupted:
                problems.append(f"{message_id}: sent {len(raws)} times without an interrupted send")
    if extra > len(run.kills):
        problems.append(f"{extra} repeated sends for {len(run.kills)} kills")

    # 5. One escalation per complaint ticket that the reference escalated.
    refs = {t["id"]: t["reference"] for t in tickets.values()}
    for mid, e in expected.items():
        if e.outcome != "ticket":
            continue
        ref = refs.get(ticket_of.get(mid))
        n = len(escalations.pop(ref, set()))
        if n != e.escalated:
            problems.append(f"{mid}: {n} escalations, {e.escalated} due")
    if escalations:
        problems.append(f"escalations for no ticket: {sorted(escalations)[:5]}")

    # 6. Suppressions: exactly the reference's, each added once, each pushed to the export once.
    want = {address_hash(by_sender[mid].lower()) for mid, e in expected.items() if e.suppressed}
    have = Counter(r[0] for r in conn.execute("select address_hash from suppression"))
    logged = Counter(r[0] for r in conn.execute("select address_hash from suppression_log where kind='add'"))
    if set(have) != want or any(n != 1 for n in have.values()):
        problems.append(f"suppressions: {len(have)} rows for {len(want)} due")
    if any(logged[h] != 1 for h in want) or set(logged) != want:
        problems.append("suppression log: not one 'add' per suppressed address")
    exported = Counter(line.split(",")[0] for line in export.read_text().splitlines()[1:]) \
        if export.exists() else Counter()
    if set(exported) != want or any(n != 1 for n in exported.values()):
        problems.append(f"export file: {sum(exported.values())} rows for {len(want)} suppressions")

    # 7. Nothing left behind.
    left = [r["id"] for r in outbox if r["status"] != "sent"]
    if left:
        problems.append(f"outbox items not sent: {left[:10]}")
    cursor = conn.execute("select last_uid from mailbox_cursor").fetchone()
    if cursor is None or cursor[0] != len(items):
        problems.append(f"cursor at {cursor[0] if cursor else None}, expected {len(items)}")
    conn.close()
    summary = {
        "messages": len(items), "kills": len(run.kills), "records": len(pm), "dead_letters": len(dead),
        "tickets": len(tickets), "follow_ups": len(follow_ups), "acks_due": due_acks,
        "smtp_received": len(received), "repeated_sends": extra, "interrupted_sends": len(interrupted),
        "suppressions": len(have), "escalations": sum(e.escalated for e in expected.values()),
        "automated": sum(e.outcome == "automated" for e in expected.values()),
    }
    if problems:
        raise AssertionError(f"seed {run.seed}: {len(problems)} problem(s):\n  " + "\n  ".join(problems[:40])
                             + f"\nsummary: {summary}\nkills: {run.kills}")
    return summary
