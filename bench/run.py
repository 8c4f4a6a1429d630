"""The whole path against its limit, on real servers on loopback; prints one table.

    python bench/run.py [--messages 10000] [--latency 200] [--sample 1000] [--seed 7]

(a) the limit: a bare imapclient FETCH of every body, in batches of the worker's fetch_batch;
(b) `inboxbot run --once` (a child process) from empty to done on SQLite: every message recorded,
    every acknowledgement received by the recording SMTP server; its ratio to (a) and to (e)
    (the better of its two batch sizes);
(c) the same on PostgreSQL;
(d) arrival-to-acknowledgement latency under IDLE: messages APPENDed one at a time to a running
    worker, from APPEND returning to the SMTP server holding the acknowledgement;
(e) the classifier alone, in this process: batched (32 and 64) over a sample of the same
    messages, and one message at a time (p50);
(f) peak RSS of the worker: its process and its encoder's, each one's high-water mark summed
    (PeakMemory); and the model's load time.

Messages come from tests/crashharness.generate (intents in Swedish and English, follow-ups,
out-of-office, bounces, list mail) and are written straight into the user's Maildir `new/`
(Dovecot picks them up at the next SELECT), which is far faster than APPEND for 10,000.
Benchmarks are not tests: nothing here is run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email
import email.policy
import os
import platform
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imapclient import IMAPClient  # noqa: E402

from rig import Dovecot, MailUser, Postgres, RecordingSMTP  # noqa: E402
from tests.crashharness import Generated, generate, write_config  # noqa: E402

FETCH_BATCH = 200  # the worker's default fetch_batch; (a) uses the same
ENCODER_THREADS: int | None = None  # --encoder-threads: [classifier] threads for the workers


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {model}, {platform.python_version()}"


def seed_maildir(imap: Dovecot, user: MailUser, items: list[Generated]) -> None:
    """Write the messages as files in the user's Maildir `new/` (names in generation order,
    so UIDs follow it and follow-ups come after their originals)."""
    local, domain = user.name.split("@")
    home = imap.dir / "mail" / domain / local
    md = home / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (md / sub).mkdir(parents=True, exist_ok=True)
    base = 1_700_000_000
    for i, item in enumerate(items):
        (md / "new" / f"{base + i}.M{i}P1.bench").write_bytes(item.raw.replace(b"\r\n", b"\n"))
    imap.runas.own(home)


def imaps(imap: Dovecot, user: MailUser) -> IMAPClient:
    ctx = ssl.create_default_context(cafile=str(imap.ca_file))
    client = IMAPClient(imap.host, imap.ssl_port, ssl=True, ssl_context=ctx, timeout=60)
    client.login(user.name, imap.users[user.name].password)
    return client


def index(imap: Dovecot, user: MailUser) -> int:
    """SELECT once so Dovecot assigns UIDs to the new files before anything is timed."""
    client = imaps(imap, user)
    try:
        return int(client.select_folder("INBOX", readonly=True)[b"EXISTS"])
    finally:
        client.logout()


def bare_fetch(imap: Dovecot, user: MailUser) -> tuple[float, int]:
    """(a): seconds to FETCH every body in batches over one IMAPS connection, and bytes read."""
    started = time.perf_counter()
    client = imaps(imap, user)
    total = 0
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        for i in range(0, len(uids), FETCH_BATCH):
            got = client.fetch(uids[i:i + FETCH_BATCH], ["BODY.PEEK[]", "INTERNALDATE"])
            total += sum(len(v[b"BODY[]"]) for v in got.values())
    finally:
        client.logout()
    return time.perf_counter() - started, total


def config_for(work: Path, imap: Dovecot, user: MailUser, smtp: RecordingSMTP, db_url: str = "") -> Path:
    """The crash harness's configuration, tuned back to the defaults a deployment would use."""
    work.mkdir(parents=True, exist_ok=True)
    path = write_config(work / "inboxbot.toml", imap, user, smtp)
    text = path.read_text()
    text = text.replace("fetch_batch = 20", f"fetch_batch = {FETCH_BATCH}")
    text = text.replace("sending_timeout = 1\n", "sending_timeout = 120\n")
    text = text.replace("outbox_interval = 0.2\n", "")
    if db_url:
        text = text.replace("[store]\n", f'[store]\nurl = "{db_url}"\n')
    if ENCODER_THREADS is not None:
        text += f"\n[classifier]\nthreads = {ENCODER_THREADS}\n"
    path.write_text(text)
    return path


def spawn(config: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), INBOXBOT_LOG_LEVEL="WARNING")
    log = open(config.parent / "worker.log", "ab")  # noqa: SIM115 - the child keeps it
    return subprocess.Popen([sys.executable, "-m", "inboxbot.cli", "-c", str(config), "run", *args],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


TICK = os.sysconf("SC_CLK_TCK")


def thread_times(pid: int) -> dict[int, float]:
    """tid -> CPU seconds so far, for each live thread of `pid` (from /proc)."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended between listing and reading
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


class PeakMemory:
    """Peak resident memory of a worker and its child processes (the encoder's), in MiB: each
    process's high-water mark (VmHWM) as last seen, summed. wait4's ru_maxrss is no good here:
    for a process with children it gives the largest one, not the sum. The sum of the peaks is
    at least the peak of the sum, so this errs high. Call `sample` often (every 0.2 s)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.hwm_kib: dict[int, int] = {}

    def sample(self) -> None:
        for pid in [self.pid, *self._children(self.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), int(line.split()[1]))
            except OSError:
                pass  # it ended between listing and reading

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
        return out + [g for c in out for g in PeakMemory._children(c)]

    @property
    def mib(self) -> float:
        return sum(self.hwm_kib.values()) / 1024

    @property
    def parts(self) -> str:
        """"worker 180 + 2 children 190" (MiB): the encoder's process, and the resource tracker
        that multiprocessing starts beside any process it spawns."""
        worker = self.hwm_kib.get(self.pid, 0) / 1024
        children = [v / 1024 for k, v in self.hwm_kib.items() if k != self.pid]
        named = "1 child" if len(children) == 1 else f"{len(children)} children"
        return f"worker {worker:.0f}" + (f" + {named} {sum(children):.0f}" if children else "")


def run_once(config: Path) -> tuple[float, PeakMemory, int, float, float]:
    """(b)/(c): seconds, peak memory, exit status, CPU seconds (its children's included), and
    the CPU seconds of its main thread (the event loop: store, outbox, IMAP glue; the rest is
    parsing and the rules, the model in its own process, aiosqlite's and imapclient's threads)
    of one `run --once`."""
    started = time.perf_counter()
    proc = spawn(config, "--once")
    memory = PeakMemory(proc.pid)
    main_cpu = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            main_cpu = thread_times(proc.pid).get(proc.pid, main_cpu)
        except OSError:
            pass
        memory.sample()
        time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (time.perf_counter() - started, memory, proc.returncode,
            usage.ru_utime + usage.ru_stime, main_cpu)


def sqlite_counts(state: Path) -> tuple[int, int]:
    with sqlite3.connect(f"file:{state / 'inboxbot.sqlite3'}?mode=ro", uri=True) as conn:
        done = conn.execute("select count(*) from processed_message").fetchone()[0]
        tickets = conn.execute("select count(*) from ticket").fetchone()[0]
    return int(done), int(tickets)


def pg_counts(url: str) -> tuple[int, int]:
    import asyncpg

    async def q() -> tuple[int, int]:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
        try:
            return (int(await conn.fetchval("select count(*) from processed_message")),
                    int(await conn.fetchval("select count(*) from ticket")))
        finally:
            await conn.close()

    return asyncio.run(q())


def acked(smtp: RecordingSMTP, start: int = 0) -> dict[str, int]:
    """Message-ID answered -> acknowledgements received (messages carrying In-Reply-To)."""
    out: dict[str, int] = {}
    for rec in list(smtp.messages)[start:]:
        irt = email.message_from_bytes(rec.raw, policy=email.policy.default).get("In-Reply-To")
        if irt:
            out[str(irt).strip()] = out.get(str(irt).strip(), 0) + 1
    return out


def idle_latency(imap: Dovecot, user: MailUser, smtp: RecordingSMTP, config: Path,
                 items: list[Generated]) -> tuple[list[float], PeakMemory, int]:
    """(d): APPEND each message to a running worker; seconds from APPEND returning to the
    acknowledgement's arrival. Returns (latencies, peak memory, messages with no ack in 10 s)."""
    proc = spawn(config)
    memory = PeakMemory(proc.pid)
    sampled = 0.0
    client = IMAPClient(imap.host, imap.port, ssl=False, timeout=30)
    client.login(user.name, imap.users[user.name].password)
    lat: list[float] = []
    missing = 0
    try:
        for n, item in enumerate(items):
            seen = len(smtp.messages)
            client.append("INBOX", item.raw)
            t0 = time.perf_counter()
            limit = 120.0 if n == 0 else 10.0  # the first waits for start-up and model load
            while time.perf_counter() - t0 < limit:
                if item.message_id in acked(smtp, seen):
                    break
                if time.perf_counter() - sampled > 0.2:
                    memory.sample()
                    sampled = time.perf_counter()
                time.sleep(0.002)
            else:
                missing += 1
                continue
            if n:  # the first one measured start-up, not latency
                lat.append(time.perf_counter() - t0)
    finally:
        client.logout()
        memory.sample()
        proc.terminate()
        proc.wait()
    return lat, memory, missing


def classifier_bench(config: Path, items: list[Generated], sample: int) -> dict[str, float]:
    """(e) and the load time in (f), in this process."""
    from inboxbot.config import load_settings
    from inboxbot.parse import parse

    t0 = time.perf_counter()
    from inboxbot.classify import make_classifier

    clf = make_classifier(load_settings(config))
    load_s = time.perf_counter() - t0
    msgs = [parse(item.raw) for item in items[:sample]]
    out = {"load_s": load_s}
    for size in (32, 64):
        # Best of two passes: the first call of each (rows, width) shape builds its kernels,
        # which costs several times the steady rate.
        best = 0.0
        for _ in range(2):
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(msgs), size):
                clf.classify(msgs[i:i + size])
            rate = len(msgs) / (time.perf_counter() - start)
            if rate > best:
                best = rate
                # CPU seconds per message, all threads: what the model costs wherever it runs.
                out[f"cpu{size}"] = (time.process_time() - cpu) / len(msgs)
        out[f"batch{size}"] = best
    lat = []
    for m in msgs[:200]:
        start = time.perf_counter()
        clf.classify([m])
        lat.append(time.perf_counter() - start)
    # The ratio in (b) and (c) is taken to the better of the two batch sizes, the stricter test.
    out["batched"] = max(out["batch32"], out["batch64"])
    out["single_p50_ms"] = 1000 * statistics.median(lat)
    out["single_rate"] = 1 / statistics.mean(lat)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--latency", type=int, default=200, help="messages for (d)")
    ap.add_argument("--sample", type=int, default=1000, help="messages for (e) per batch size")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--encoder-threads", type=int, help="[classifier] threads for the workers")
    args = ap.parse_args()
    global ENCODER_THREADS
    ENCODER_THREADS = args.encoder_threads
    n = args.messages
    items = generate(n, args.seed)
    rows: list[tuple[str, str]] = []
    problems: list[str] = []

    with tempfile.TemporaryDirectory(prefix="inboxbot-bench-") as tmp, Dovecot() as imap, \
            RecordingSMTP() as smtp:
        work = Path(tmp)
        u_sqlite = imap.add_user("bench-sqlite@example.com", "bench-pw")
        u_pg = imap.add_user("bench-pg@example.com", "bench-pw")
        u_idle = imap.add_user("bench-idle@example.com", "bench-pw")
        started = time.perf_counter()
        seed_maildir(imap, u_sqlite, items)
        seed_maildir(imap, u_idle, [])  # an empty Maildir: APPEND needs the home to exist
        if not args.skip_pg:
            seed_maildir(imap, u_pg, items)
        exists = index(imap, u_sqlite)
        if not args.skip_pg:
            index(imap, u_pg)
        print(f"seeded {exists} messages per mailbox in {time.perf_counter() - started:.1f} s", flush=True)

        # (e) first: the classifier alone, while nothing else runs.
        cfg_sqlite = config_for(work / "sqlite", imap, u_sqlite, smtp)
        e = classifier_bench(cfg_sqlite, items, min(args.sample, n))
        print(f"(e) {e}", flush=True)

        secs, nbytes = bare_fetch(imap, u_sqlite)
        a_rate = n / secs
        print(f"(a) {secs:.2f} s, {nbytes / 2**20:.1f} MiB", flush=True)

        # (b) SQLite
        smtp.clear()
        load_b = os.getloadavg()[0]
        b_s, b_rss, b_rc, b_cpu, b_main = run_once(cfg_sqlite)
        done, tickets = sqlite_counts(work / "sqlite" / "state")
        acks = acked(smtp)
        b_rate = n / b_s
        print(f"(b) {b_s:.1f} s rc={b_rc} done={done} tickets={tickets} acks={len(acks)}", flush=True)
        if done != n or b_rc:
            problems.append(f"(b) recorded {done}/{n}, exit {b_rc}")
        ackable = [it for it in items if it.message_id in acks and it.kind != "follow_up"]

        # (c) PostgreSQL
        c_row = "skipped (--skip-pg)"
        c_rss: PeakMemory | None = None
        if not args.skip_pg:
            with Postgres() as pg:
                url = pg.url
                cfg_pg = config_for(work / "pg", imap, u_pg, smtp, url)
                smtp.clear()
                c_s, c_rss, c_rc, _, _ = run_once(cfg_pg)
                c_done, c_tickets = pg_counts(url)
                c_acks = len(acked(smtp))
                print(f"(c) {c_s:.1f} s rc={c_rc} done={c_done} tickets={c_tickets} acks={c_acks}", flush=True)
                if c_done != n or c_rc:
                    problems.append(f"(c) recorded {c_done}/{n}, exit {c_rc}")
                c_row = (f"{n / c_s:7.1f} msg/s  ({c_s:.1f} s; {c_tickets} tickets, {c_acks} acks; "
                         f"{n / c_s / a_rate:.3f} of (a), {n / c_s / e['batched']:.2f} of (e) batched)")

        # (d) IDLE latency on a fresh store and mailbox
        smtp.clear()
        cfg_idle = config_for(work / "idle", imap, u_idle, smtp)
        lat, d_rss, missing = idle_latency(imap, u_idle, smtp, cfg_idle, ackable[: args.latency + 1])
        if missing:
            problems.append(f"(d) {missing} messages got no acknowledgement within 10 s")

    ms = [1000 * x for x in lat]
    ratio = b_rate / e["batched"]
    # Where (b)'s CPU went: the model's share from (e)'s CPU per message (all threads), the
    # rest (start-up, IMAP, parsing, the store, SMTP) is everything else. On `cores` cores no
    # run can beat cores / (CPU per message).
    cores = len(os.sched_getaffinity(0))
    model_cpu = e["cpu64"] * n
    bound = cores * n / b_cpu
    projected_10k = b_s if n == 10_000 else b_s * 10_000 / n
    verdict_10k = ("met" if projected_10k < 90 else "NOT met") + (
        f" ({b_s:.1f} s for 10,000)" if n == 10_000
        else f" (projected {projected_10k:.0f} s for 10,000 from N = {n}; run --messages 10000 to measure)")
    rows = [
        ("machine", machine()),
        ("date", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("messages (N)", f"{n} generated (seed {args.seed}), {nbytes / n:.0f} bytes on average"),
        ("(a) bare FETCH, batches of 200", f"{a_rate:7.1f} msg/s  ({secs:.2f} s over IMAPS)"),
        ("(b) run --once, SQLite", f"{b_rate:7.1f} msg/s  ({b_s:.1f} s incl. start-up; {tickets} tickets, "
                                  f"{len(acks)} acks; {b_rate / a_rate:.3f} of (a), "
                                  f"{b_rate / e['batched']:.2f} of (e) batched)"),
        ("(b) CPU of the worker", f"{b_cpu:.1f} s ({1000 * b_cpu / n:.1f} ms/msg): main thread {b_main:.1f} s, "
                                  f"other threads {b_cpu - b_main:.1f} s; model by (e)'s CPU per message "
                                  f"~{model_cpu:.1f} s ({1000 * e['cpu64']:.1f} ms/msg), everything else "
                                  f"~{b_cpu - model_cpu:.1f} s; bound on {cores} cores {bound:.0f} msg/s = "
                                  f"{bound / e['batched']:.2f} of (e)"),
        ("(b) / (e) batched, target >= 0.8", f"{ratio:.2f}: {'met' if ratio >= 0.8 else 'NOT met'}"),
        ("(b) 10,000 backlog in < 90 s", verdict_10k),
        ("load average at (b)", f"{load_b:.2f} (1 min, before the run)"),
        ("(c) run --once, PostgreSQL", c_row),
        ("(d) APPEND -> ack under IDLE", f"p50 {pct(ms, .5):.0f} ms, p95 {pct(ms, .95):.0f} ms, "
                                         f"max {max(ms):.0f} ms  ({len(ms)} messages)" if ms else "no data"),
        ("(e) classifier batched 32 / 64", f"{e['batch32']:7.1f} / {e['batch64']:.1f} msg/s  "
                                           f"({min(args.sample, n)} of the same messages)"),
        ("(e) classifier single", f"p50 {e['single_p50_ms']:.1f} ms ({e['single_rate']:.1f} msg/s)"),
        ("(f) peak RSS of the worker", "; ".join(
            f"{m.mib:.0f} MiB ({label}: {m.parts})" for label, m in (("b", b_rss), ("c", c_rss), ("d", d_rss))
            if m is not None)),
        ("(f) model load (imports + load)", f"{e['load_s']:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    print(f"| {'measure':<{width}} | result |")
    print(f"| {'-' * width} | --- |")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
