"""Crash anywhere: the worker process is SIGKILLed at random points while it works through a
batch over real Dovecot and SMTP servers, restarted each time, and must end exactly where an
uncrashed run ends: one outcome per message, one ticket and one acknowledgement where due, each
suppression once (tests/crashharness.py; the seed and kill times are printed, and
INBOXBOT_CRASH_SEED=N replays a run).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from rig import Dovecot, MailUser, RecordingSMTP
from tests.crashharness import crash_loop, generate, reference, verify, write_config

pytestmark = pytest.mark.integration

MESSAGES = 200
KILLS = 10


async def test_sigkill_anywhere_loses_nothing_and_repeats_nothing(
    dovecot: Dovecot, mailbox_user: MailUser, smtp_server: RecordingSMTP, tmp_path: Path
) -> None:
    seed = int(os.environ.get("INBOXBOT_CRASH_SEED") or random.randrange(1_000_000))
    print(f"crash test seed {seed} (INBOXBOT_CRASH_SEED={seed} replays it)")
    items = generate(MESSAGES, seed)
    config = write_config(tmp_path / "inboxbot.toml", dovecot, mailbox_user, smtp_server)
    expected = await reference(config, items, tmp_path)
    kinds = {e.outcome for e in expected.values()}
    assert {"ticket", "suppressed", "automated", "follow_up"} <= kinds, kinds  # a varied batch

    import asyncio
    run = await asyncio.to_thread(crash_loop, config=config, dovecot=dovecot, user=mailbox_user,
                                  smtp=smtp_server, items=items, kills=KILLS, seed=seed)
    print("kills (mode, after s, records, smtp):", run.kills)
    summary = verify(tmp_path / "state", items, expected, list(smtp_server.messages), run,
                     tmp_path / "suppressed.csv")
    print("summary:", summary)
    assert run.exits[:-1] == [-9] * KILLS  # each life really was killed, not finished
    assert run.exits[-1] == 0
    assert summary["acks_due"] > 0 and summary["tickets"] > 0 and summary["suppressions"] > 0
