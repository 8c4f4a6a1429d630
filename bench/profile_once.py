"""Profile one `run --once` over N generated messages (SQLite, real Dovecot and SMTP).

    python bench/profile_once.py [--messages 1000] [--top 25] [--threads]

Default: cProfile of the worker's main thread (the event loop: store, outbox, IMAP glue); the
top functions by cumulative and own time. With --threads: no profiler, but the CPU time of
every thread of the worker, read from /proc while it runs, summed per thread name: the split
between the event loop and the threads (the classifier's, whose model runs torch's OpenMP
threads; aiosqlite's; imapclient's).
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from run import ROOT, config_for, index, seed_maildir  # noqa: E402

from rig import Dovecot, RecordingSMTP  # noqa: E402
from tests.crashharness import generate  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def named_thread_times(pid: int) -> dict[int, tuple[str, float]]:
    """tid -> (name, CPU seconds so far) for each live thread of `pid`."""
    out: dict[int, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended between listing and reading
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def watch_threads(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    seen: dict[int, tuple[str, float]] = {}
    started = time.perf_counter()
    while proc.poll() is None:
        try:
            seen.update(named_thread_times(proc.pid))
        except OSError:
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    per: dict[str, float] = defaultdict(float)
    for tid, (name, cpu) in seen.items():
        per["main thread (event loop)" if tid == proc.pid else f"thread {name}"] += cpu
    total = sum(per.values())
    print(f"wall {wall:.1f} s, CPU {total:.1f} s (threads that ended in the last 0.2 s of their life "
          "are slightly undercounted)")
    for name, cpu in sorted(per.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<40} {cpu:7.1f} s  {100 * cpu / total:5.1f} %")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--threads", action="store_true", help="CPU per thread instead of cProfile")
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
        worker = ["-m", "inboxbot.cli", "-c", str(cfg), "run", "--once"]
        if args.threads:
            watch_threads([sys.executable, *worker], env)
            print(f"acknowledgements received: {len(smtp.messages)}")
            return 0
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), *worker],
                       cwd=ROOT, env=env, check=True)
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
