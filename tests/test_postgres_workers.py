"""Three worker processes, one PostgreSQL, one Dovecot mailbox: no duplicates, no gaps, takeover.

Real processes (`python -m inboxbot.cli run`), started at once on an empty database (so they also
race to create the schema). Mail arrives while they run. Exactly one worker may hold the
mailbox's lease; SIGKILL it, and another must take over within the lease's time to live plus
one retry and go on with new mail. The lease TTL is short here (config `worker.lease_ttl`).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inboxbot.store import close_store, open_store
from inboxbot.store.models import MailboxLease, ProcessedMessage
from rig import Dovecot, MailUser, RecordingSMTP, make_message

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
LEASE_TTL = 8.0  # seconds; a waiting worker retries every min(10, TTL/2) = 4 s
FIRST_BATCH = 60
AFTER_KILL = 5


def write_config(path: Path, dovecot: Dovecot, user: MailUser, smtp: RecordingSMTP, db_url: str) -> None:
    mb = dovecot.mailbox_settings(user.name, security="tls")
    path.write_text(f"""
[organisation]
name = "Example AB"
domain = "example.com"
reply_from = "privacy@example.com"
dpo_email = "dpo@example.com"

[[mailbox]]
name = "privacy"
host = "{mb.host}"
port = {mb.port}
security = "tls"
username = "{mb.username}"
password_env = "INBOXBOT_TEST_IMAP_PASSWORD"
ca_file = "{mb.ca_file}"
idle_timeout = 5

[transport]
kind = "smtp"
host = "127.0.0.1"
port = {smtp.port}
security = "plain"

[replies]
max_per_domain_per_hour = 1000
max_per_hour = 1000

[store]
url = "{db_url}"
state_dir = "{path.parent / 'state'}"

[worker]
outbox_interval = 0.2
lease_ttl = {LEASE_TTL}
""")


def request(n: int) -> tuple[str, bytes]:
    mid = f"<req-{n}@example.org>"
    raw = make_message(
        f"Access request {n}",
        "Hello,\nUnder Article 15 GDPR I request access to all personal data you hold about me.\n"
        f"Regards,\nPerson {n}\n",
        sender=f"Person {n} <person{n}@example{n}.org>", message_id=mid,
    )
    return mid, raw


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def acks_by_request(smtp: RecordingSMTP) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in smtp.messages:
        if r.rcpt_tos != ["dpo@example.com"]:
            key = str(r.message["In-Reply-To"]).strip()
            counts[key] = counts.get(key, 0) + 1
    return counts


async def wait_until(check, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await check():
            return time.monotonic() - start
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


async def test_three_workers_share_one_mailbox(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, postgres_url: str,
    tmp_path: Path, workers: list[subprocess.Popen[bytes]],
) -> None:
    config = tmp_path / "inboxbot.toml"
    write_config(config, dovecot, mailbox_user, smtp_server, postgres_url)
    env = dict(os.environ, INBOXBOT_TEST_IMAP_PASSWORD=dovecot.users[mailbox_user.name].password,
               PYTHONPATH=str(REPO))
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    for log in logs:
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "inboxbot.cli", "-c", str(config), "run"],
            cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        ))

    # Mail arrives while they start and run.
    ids = []
    for n in range(FIRST_BATCH):
        mid, raw = request(n)
        ids.append(mid)
        await asyncio.to_thread(dovecot.append, mailbox_user.name, raw)
        if n % 20 == 19:
            await asyncio.sleep(0.5)

    while True:  # the workers create the schema; the test connects once it exists
        try:
            await open_store(postgres_url)
            break
        except Exception:
            await asyncio.sleep(0.25)
    try:
        async def all_acked() -> bool:
            return set(ids) <= set(acks_by_request(smtp_server))

        await wait_until(all_acked, 45, f"{FIRST_BATCH} acknowledgements")
        await asyncio.sleep(1.0)  # anything a second worker would wrongly send arrives too

        # No duplicates, no gaps: one record and one acknowledgement per message.
        records = await ProcessedMessage.all().values_list("message_id", flat=True)
        assert sorted(records) == sorted(ids)
        acks = acks_by_request(smtp_server)
        assert {m: acks.get(m, 0) for m in ids} == {m: 1 for m in ids}

        # Exactly one worker fetched: only the lease holder ever took it.
        lease = await MailboxLease.get(account="privacy", folder="INBOX")
        holder_pid = int(lease.holder.rsplit(":", 1)[1])
        takers = [i for i, log in enumerate(logs)
                  if re.search(r"Lease\(privacy/INBOX, [^)]*\): taken", log.read_text())]
        assert [workers[i].pid for i in takers] == [holder_pid], [log.read_text()[-2000:] for log in logs]
        for p, log in zip(workers, logs):
            assert p.poll() is None, f"a worker exited: {log.read_text()[-3000:]}"

        # Kill the holder outright: no release, its lease must expire.
        victim = next(p for p in workers if p.pid == holder_pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait(5)
        killed_at = time.monotonic()
        new_ids = []
        for n in range(FIRST_BATCH, FIRST_BATCH + AFTER_KILL):
            mid, raw = request(n)
            new_ids.append(mid)
            await asyncio.to_thread(dovecot.append, mailbox_user.name, raw)

        async def new_acked() -> bool:
            return set(new_ids) <= set(acks_by_request(smtp_server))

        await wait_until(new_acked, 60, "acknowledgements after the takeover")
        took = time.monotonic() - killed_at
        assert took < LEASE_TTL + LEASE_TTL / 2 + 6, f"takeover took {took:.1f} s"
        lease = await MailboxLease.get(account="privacy", folder="INBOX")
        assert lease.holder and int(lease.holder.rsplit(":", 1)[1]) != holder_pid
        await asyncio.sleep(1.0)
        acks = acks_by_request(smtp_server)
        assert {m: acks.get(m, 0) for m in ids + new_ids} == {m: 1 for m in ids + new_ids}
        assert await ProcessedMessage.all().count() == FIRST_BATCH + AFTER_KILL
    finally:
        await close_store()
