"""The long-running worker: one watcher per mailbox folder, and the chores beside them
(inboxbot.chores: the outbox, suppression pushes, reminders, the digest).

`run(once=True)` processes what is there, delivers what it can, and returns; `run()` keeps
watching (IDLE, or polling where IDLE is missing) until `stop` is set (SIGTERM).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inboxbot.chores import Chores, RunReport, wait_at_most
from inboxbot.config import MailboxSettings, Settings
from inboxbot.domain import RawMessage
from inboxbot.errors import PermanentError, TransientError
from inboxbot.marketing import SuppressionTarget, make_targets
from inboxbot.metrics import Metrics
from inboxbot.oauth import TokenError, TokenSources
from inboxbot.outbox import pending_count
from inboxbot.pipeline import TRANSIENT_DB_ERRORS, Outcome, Processor, utc_now
from inboxbot.prepare import ParsedBatch, Ready
from inboxbot.source.maildir import MaildirFolder
from inboxbot.store.lease import Lease, hold, worker_id
from inboxbot.store.models import MailboxCursor
from inboxbot.transport import Transport

if TYPE_CHECKING:
    from inboxbot.source.imap import ImapFolder

log = logging.getLogger(__name__)

RECONNECT_MAX = 300.0  # seconds: the longest wait between reconnect attempts
RECONNECT_BASE = 1.0  # seconds: the first retry after a dropped connection (then doubling)


class Worker:
    def __init__(self, settings: Settings, processor: Processor, transport: Transport,
                 clock: Callable[[], datetime] = utc_now,
                 targets: Sequence[SuppressionTarget] | None = None,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics.disabled()
        self.processor = processor
        self.clock = clock
        self.stop = asyncio.Event()
        self.report = RunReport()
        self.chores = Chores(settings, processor.renderer, transport, clock,
                             targets if targets is not None else make_targets(settings),
                             self.metrics, self.report, self.stop)
        self.worker_id = settings.worker_id or worker_id()
        self.reconnect_base = RECONNECT_BASE
        self.reconnect_max = RECONNECT_MAX
        self.tokens = TokenSources()  # OAuth logins: one cached token per mailbox, across reconnects
        # Ready (for systemd) once every watcher has tried its mailbox: opened it, failed (and
        # recorded why), or found it leased to another worker.
        self.ready = asyncio.Event()
        self._unsettled: set[str] = set()
        self.tasks: dict[str, asyncio.Task[None]] = {}  # the long-running loops, by name

    # -- entry point -------------------------------------------------------------------------

    async def run(self, *, once: bool = False) -> RunReport:
        watchers = {}
        for mb in self.settings.mailboxes:
            if mb.kind == "maildir":
                watchers[f"{mb.name}/maildir"] = self._watch_maildir(mb, once)
            else:
                for folder in mb.folders:
                    watchers[f"{mb.name}/{folder}"] = self._watch_imap(mb, folder, once)
        self._unsettled = set(watchers)
        if not watchers:
            self.ready.set()
        if once:
            # Deliver while the mailboxes are worked through: sending waits on the SMTP server
            # and the database, which the model's time in its thread leaves room for. What is
            # left (and reminders, the digest) goes out after, as before.
            watching = asyncio.Event()
            deliverer = asyncio.create_task(self.chores.deliver_while(watching))
            try:
                await asyncio.gather(*watchers.values())
            finally:
                watching.set()
                self.chores.outbox_wakeup.set()
                await deliverer
            await self.chores.remind()
            await self.chores.digest()
            await self.chores.deliver_all()
            await self.chores.push_all()
            await self.chores.close_transport()
            self.report.pending = await pending_count()
            return self.report
        chores = self.chores
        loops = {**watchers, "outbox": chores.deliver_forever(), "reminders": chores.remind_forever(),
                 "digest": chores.digest_forever()}
        if chores.targets:
            loops["pushes"] = chores.push_forever()
        self.tasks = {name: asyncio.create_task(loop, name=name) for name, loop in loops.items()}
        await self.stop.wait()
        for t in self.tasks.values():
            t.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self.chores.close_transport()
        self.report.pending = await pending_count()
        return self.report

    def dead_tasks(self) -> list[str]:
        """Loops that ended while the worker should be running: a bug, or a crash inside one.
        The systemd watchdog stops being fed while this is not empty, so the unit restarts."""
        if self.stop.is_set():
            return []
        return sorted(name for name, task in self.tasks.items() if task.done())

    def _settled(self, label: str) -> None:
        self._unsettled.discard(label)
        if not self._unsettled:
            self.ready.set()

    # -- sources -----------------------------------------------------------------------------

    async def _processed(self, outcomes: list[Outcome]) -> None:
        self.report.outcomes.extend(outcomes)
        self.metrics.count_outcomes(outcomes)
        if any(o.suppressed for o in outcomes):
            self.chores.push_wakeup.set()
        if any(o.acknowledged or o.outcome in ("ticket", "follow_up") for o in outcomes):
            self.chores.outbox_wakeup.set()

    def _lease(self, account: str, folder: str) -> Lease:
        return Lease(account, folder, self.worker_id, ttl=self.settings.lease_ttl)

    async def _leased(self, account: str, folder: str, once: bool,
                      body: Callable[[], Coroutine[Any, Any, None]]) -> None:
        # Several workers may watch the same mailboxes: only the lease holder fetches.
        await hold(self._lease(account, folder), body, self.stop, once=once,
                   retry=min(10.0, self.settings.lease_ttl / 2),
                   on_wait=lambda: self._settled(f"{account}/{folder}"))

    async def _watch_maildir(self, mb: MailboxSettings, once: bool) -> None:
        await self._leased(mb.name, "maildir", once, lambda: self._fetch_maildir(mb, once))

    async def _watch_imap(self, mb: MailboxSettings, folder_name: str, once: bool) -> None:
        await self._leased(mb.name, folder_name, once, lambda: self._fetch_imap(mb, folder_name, once))

    async def _fetch_maildir(self, mb: MailboxSettings, once: bool) -> None:
        assert mb.path is not None
        source = MaildirFolder(mb.name, mb.path)
        self._settled(f"{mb.name}/maildir")
        while not self.stop.is_set():
            try:
                raws = await source.fetch_new(mb.fetch_batch)
                if raws:
                    await self._processed(await self.processor.process(raws, track_cursor=False))
                    await source.mark_done([r.source_key for r in raws])
                    continue
            except TRANSIENT_DB_ERRORS as exc:
                log.warning("maildir %s: will retry: %s", mb.name, exc)
            if once:
                return
            await self._sleep(mb.poll_interval)

    async def _fetch_imap(self, mb: MailboxSettings, folder_name: str, once: bool) -> None:
        from inboxbot.source.imap import ImapFolder  # imapclient stays out of maildir-only runs

        failures = 0
        while not self.stop.is_set():
            folder = ImapFolder(mb, folder_name, tokens=self.tokens.for_mailbox(mb))
            try:
                status = await folder.open()
                self._settled(f"{mb.name}/{folder_name}")
                after = await self._resume_point(mb.name, folder_name, status.uidvalidity)
                while not self.stop.is_set():
                    after = await self._drain(folder, after, mb.fetch_batch)
                    if self.stop.is_set():
                        break
                    await self._mark_success(mb.name, folder_name)
                    failures = 0  # only a whole round resets the backoff: no fast reconnect loop
                    if once:
                        return
                    await folder.wait_for_change()  # IDLE up to idle_timeout, or poll_interval
            except PermanentError as exc:
                # Wrong password, missing folder: retrying fast will not help, but giving up
                # silently would lose mail. Record it, and retry slowly.
                self.report.errors.append(f"{mb.name}/{folder_name}: {exc}")
                log.error("mailbox %s/%s: %s", mb.name, folder_name, exc)
                self._settled(f"{mb.name}/{folder_name}")
                await self._record_error(mb.name, folder_name, str(exc))
                if once:
                    return
                await self._sleep(RECONNECT_MAX)
            except (TransientError, *TRANSIENT_DB_ERRORS) as exc:
                failures += 1
                self.report.errors.append(f"{mb.name}/{folder_name}: {exc}")
                if isinstance(exc, TokenError):
                    # Logged at ERROR by oauth.py; on the cursor too, for health checks and the
                    # digest. Cleared by the next successful fetch.
                    await self._record_error(mb.name, folder_name, str(exc))
                self._settled(f"{mb.name}/{folder_name}")
                if once and failures >= 3:
                    log.error("mailbox %s/%s unreachable: %s", mb.name, folder_name, exc)
                    return
                delay = self._reconnect_delay(failures)
                log.warning("mailbox %s/%s: %s; reconnecting in %.1f s", mb.name, folder_name, exc, delay)
                await self._sleep(delay)
            except Exception as exc:  # a watcher that died would stop its mailbox silently
                failures += 1
                self.report.errors.append(f"{mb.name}/{folder_name}: {type(exc).__name__}")
                log.exception("mailbox %s/%s: unexpected error; retrying", mb.name, folder_name)
                self._settled(f"{mb.name}/{folder_name}")
                if once:
                    return
                await self._sleep(self._reconnect_delay(failures + 4))
            finally:
                await folder.close()

    async def _drain(self, folder: ImapFolder, after: int, batch: int) -> int:
        """Handle every message after UID `after`; return the last UID stored.

        A pipeline three stages deep: while batch k is stored (decide, act, one transaction),
        batch k+1 is classified (the model, in the encoder's own process or in a thread that
        releases the GIL) and batch k+2 is fetched, parsed and read by the rules in another
        thread. So the model never waits on IMAP, the parser or the rules, and the database
        works at the same time. Memory stays bounded: one batch is
        stored, at most one is classified and one more fetched. Only the store moves the
        cursor, so a read-ahead batch that is dropped (error, stop) is fetched again next time."""
        tasks: set[asyncio.Task[Any]] = set()

        def start(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
            task = asyncio.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)  # a done task's batch is not kept
            return task

        async def fetch(uid: int) -> tuple[list[RawMessage], ParsedBatch]:
            raws = await folder.fetch_after(uid, batch)
            return raws, (await self.processor.parse(raws) if raws else ParsedBatch([]))

        async def prepare(fetched: asyncio.Task[Any]) -> tuple[list[Ready], asyncio.Task[Any] | None]:
            raws, parsed = await fetched
            if not raws:
                return [], None
            following = start(fetch(raws[-1].uid))  # batch k+2, while this one is classified
            return await self.processor.classify(raws, parsed), following

        def read(uid: int) -> asyncio.Task[Any]:
            return start(prepare(start(fetch(uid))))

        # `fresh`: the fetch behind `ahead` began after the last store. Only such a fetch
        # finding nothing ends the drain: mail that came while a batch was stored is picked up
        # now, not one IDLE round later (Dovecot announces such mail with IDLE's "+ idling",
        # and ImapFolder ends the wait on it, but that costs an IDLE, a DONE and a NOOP first).
        ahead, fresh = read(after), True
        try:
            while not self.stop.is_set():
                ready, following = await ahead
                if not ready:
                    if fresh:
                        return after
                    ahead, fresh = read(after), True
                    continue
                assert following is not None  # a batch with messages always starts the next fetch
                ahead, fresh = start(prepare(following)), False
                await self._processed(await self.processor.store(ready, track_cursor=True))
                after = ready[-1].raw.uid
                try:
                    await folder.mark_done([r.raw.uid for r in ready])
                except TransientError:
                    # Cosmetic: the cursor in the store is what counts. But the connection is
                    # gone with it: reconnect now rather than fall into a poll on no connection.
                    if not folder.is_open:
                        raise
            return after
        finally:
            left = list(tasks)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    def _reconnect_delay(self, failures: int) -> float:
        """Exponential backoff with jitter: base, 2*base, 4*base ... up to reconnect_max, each
        times 0.5-1.0, so a fleet of workers does not reconnect in step after an outage."""
        step = self.reconnect_base * 2.0 ** max(0, failures - 1)
        return min(self.reconnect_max, step) * random.uniform(0.5, 1.0)

    async def _resume_point(self, account: str, folder: str, uidvalidity: int) -> int:
        cursor = await MailboxCursor.filter(account=account, folder=folder).first()
        if cursor is None:
            return 0
        if cursor.uidvalidity != uidvalidity:
            # UIDs were renumbered: read the folder again from the start. Message-IDs already
            # in the store are recognised as duplicates, so nobody is answered twice.
            log.warning("%s/%s: UIDVALIDITY changed (%s -> %s); rescanning", account, folder,
                        cursor.uidvalidity, uidvalidity)
            return 0
        return int(cursor.last_uid)

    async def _mark_success(self, account: str, folder: str) -> None:
        cursor, _ = await MailboxCursor.get_or_create(account=account, folder=folder)
        cursor.last_success_at = self.clock()
        cursor.last_error = ""
        await cursor.save(update_fields=["last_success_at", "last_error", "updated_at"])

    async def _record_error(self, account: str, folder: str, error: str) -> None:
        try:
            cursor, _ = await MailboxCursor.get_or_create(account=account, folder=folder)
            cursor.last_error = error[:500]
            await cursor.save(update_fields=["last_error", "updated_at"])
        except TRANSIENT_DB_ERRORS:
            pass

    async def _sleep(self, seconds: float) -> None:
        await wait_at_most(self.stop, seconds)
