"""Crash bench: 1,000 generated messages, 20 SIGKILLs of the real worker process at random
points, over a real Dovecot and a recording SMTP server; prints the counts.

    python bench/crash_bench.py [--messages 1000] [--kills 20] [--seed N]

Exits 1 if any check fails (the same checks as tests/test_crash.py: one outcome per message,
one ticket and one acknowledgement where due, each suppression once).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rig import Dovecot, RecordingSMTP
from tests.crashharness import crash_loop, generate, reference, verify, write_config


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    print(f"seed {seed}: {args.messages} messages, {args.kills} kills")
    with tempfile.TemporaryDirectory(prefix="inboxbot-crash-") as tmp, Dovecot() as imap, \
            RecordingSMTP() as smtp:
        work = Path(tmp)
        user = imap.add_user("privacy-bench@example.com", "bench-pw")
        items = generate(args.messages, seed)
        config = write_config(work / "inboxbot.toml", imap, user, smtp)
        started = time.monotonic()
        expected = asyncio.run(reference(config, items, work))
        print(f"reference run: {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        run = crash_loop(config=config, dovecot=imap, user=user, smtp=smtp, items=items,
                         kills=args.kills, seed=seed, drain_timeout=300)
        print(f"crash run: {time.monotonic() - started:.1f} s")
        for i, kill in enumerate(run.kills, 1):
            print(f"  kill {i:2d}: {kill[0]:7s} after {kill[1]:5.2f} s, {kill[2]:5d} recorded, "
                  f"{kill[3]:5d} received by SMTP")
        try:
            summary = verify(work / "state", items, expected, list(smtp.messages), run,
                             work / "suppressed.csv")
        except AssertionError as exc:
            print(f"FAILED: {exc}")
            return 1
        width = max(map(len, summary))
        for key, value in summary.items():
            print(f"  {key:<{width}}  {value}")
        print("ok: every message once, every ticket and acknowledgement once where due")
    return 0


if __name__ == "__main__":
    sys.exit(main())
