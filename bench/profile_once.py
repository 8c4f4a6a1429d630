"""cProfile of one `run --once` over N generated messages (SQLite); prints the top functions.

    python bench/profile_once.py [--messages 1000] [--top 25]
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from run import ROOT, config_for, index, seed_maildir  # noqa: E402

from rig import Dovecot, RecordingSMTP  # noqa: E402
from tests.crashharness import generate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    items = generate(args.messages, 7)
    with tempfile.TemporaryDirectory(prefix="inboxbot-prof-") as tmp, Dovecot() as imap, \
            RecordingSMTP() as smtp:
        user = imap.add_user("bench-prof@example.com", "bench-pw")
        seed_maildir(imap, user, items)
        index(imap, user)
        cfg = config_for(Path(tmp) / "w", imap, user, smtp)
        out = Path(tmp) / "prof"
        env = dict(os.environ, PYTHONPATH=str(ROOT), INBOXBOT_LOG_LEVEL="WARNING")
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "inboxbot.cli",
                        "-c", str(cfg), "run", "--once"], cwd=ROOT, env=env, check=True)
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
