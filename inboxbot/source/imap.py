"""IMAP source: one folder of one account over one connection. The only module importing imapclient.

    folder = ImapFolder(settings, "INBOX")
    status = await folder.open()                  # FolderStatus(uidvalidity, uidnext, exists)
    batch = await folder.fetch_after(last_uid)    # RawMessage list, UID ascending
    ...store, then...
    await folder.mark_done([m.uid for m in batch])
    await folder.wait_for_change()                # IDLE, or a poll interval and a NOOP

imapclient blocks, so every call runs on a thread of the folder's own (one-thread) executor:
IDLE holds that thread for minutes and must not starve the loop's shared pool, and one thread
per connection also keeps calls on one socket strictly in order.

With `auth = "xoauth2"` or `"oauthbearer"` the login is SASL with an OAuth access token from a
TokenSource (inboxbot/oauth.py; pass the worker's shared one so reconnects reuse the cached token).
A token the server refuses is dropped, and a cached one is replaced and tried once more.

Errors: network trouble, TLS failures, a dropped connection and a failing token endpoint
(oauth.TokenError) raise TransientError; a refused login or a missing folder raise PermanentError; plain-text login to a host off loopback without
`allow_plain_login` raises ConfigError. After any error the folder is closed: call open() again.

Logs name the account, folder and UIDs, never message content. (Keep the `imapclient` logger
above DEBUG: at DEBUG it logs the protocol, bodies included.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from imapclient import IMAPClient, SocketTimeout  # type: ignore[import-untyped]
from imapclient.exceptions import (  # type: ignore[import-untyped]
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)

from inboxbot.config import MailboxSettings, is_loopback
from inboxbot.domain import RawMessage
from inboxbot.errors import ConfigError, InboxbotError, PermanentError, TransientError
from inboxbot.oauth import OAuthTokens, TokenSource, sasl_response

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often a thread in IDLE looks up to see whether close() or a cancellation wants it back.
IDLE_SLICE = 1.0
# A bad certificate is rarely fixed within seconds: retry it slowly.
TLS_RETRY_AFTER = 300.0
# TCP keepalive: a peer that vanished (a cut cable, a rebooted NAT) is noticed in about
# KEEPIDLE + KEEPINTVL * KEEPCNT seconds even while we sit in IDLE and send nothing.
TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 60, 15, 4


class LoginRefused(PermanentError):
    """The server said no to our credentials (password or token)."""


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """What SELECT said. A UIDVALIDITY other than the stored one voids every stored UID."""

    uidvalidity: int
    uidnext: int
    exists: int


class ImapFolder:
    """One selected IMAP folder. Use it from one task at a time; close() may come from another."""

    def __init__(self, settings: MailboxSettings, folder: str, *, timeout: float | None = None,
                 tokens: TokenSource | None = None) -> None:
        self.settings = settings
        if tokens is None and settings.auth != "password" and settings.oauth is not None:
            tokens = OAuthTokens(settings.oauth, f"mailbox {settings.name}")
        self.tokens = tokens
        self.folder = folder
        # Connect and read timeout of the socket, seconds: a server that accepts a command and
        # never answers (hung, or a black-holed connection) costs at most this long.
        self.timeout = settings.timeout if timeout is None else timeout
        self._client: Any = None  # IMAPClient while open
        self._status: FolderStatus | None = None
        self._idle = False  # IDLE in the server's CAPABILITY after login
        self._lock = asyncio.Lock()
        self._stop = threading.Event()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"ImapFolder({self.settings.name!r}, {self.folder!r})"

    @property
    def label(self) -> str:
        return f"{self.settings.name}/{self.folder}"

    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def status(self) -> FolderStatus:
        """The status from the last open(). Raises if the folder is not open."""
        if self._status is None:
            raise RuntimeError(f"{self.label} is not open")
        return self._status

    @property
    def supports_idle(self) -> bool:
        """Whether the server offers IDLE (known once open)."""
        return self._client is not None and self._idle

    # -- connecting -------------------------------------------------------------------------

    async def open(self) -> FolderStatus:
        """Connect, STARTTLS if configured, log in and SELECT the folder."""
        self._check_policy()
        if self._client is not None:
            await self.close()
        self._stop.clear()
        token = await self.tokens.token() if self.tokens is not None else None
        try:
            client, status, idle = await self._connect(token)
        except LoginRefused:
            if token is None or self.tokens is None or not self.tokens.rejected(token):
                raise
            log.info("%s: server refused the cached OAuth token; trying a new one", self.label)
            client, status, idle = await self._connect(await self.tokens.token())
        self._client, self._status, self._idle = client, status, idle
        log.info("%s: open, uidvalidity=%d uidnext=%d exists=%d idle=%s", self.label,
                 status.uidvalidity, status.uidnext, status.exists, self.supports_idle)  # fmt: skip
        return status

    async def _connect(self, token: str | None) -> tuple[Any, FolderStatus, bool]:
        return await self._call(
            functools.partial(self._open_sync, token), "connect",
            on_abandon=lambda opened: _shutdown_quietly(opened[0]),
        )

    async def close(self) -> None:
        """Log out (best effort). Ends a wait_for_change() in progress within IDLE_SLICE."""
        self._stop.set()
        async with self._lock:
            client, self._client, self._status = self._client, None, None
            pool, self._pool = self._pool, None
            if client is not None and pool is not None:
                await asyncio.get_running_loop().run_in_executor(pool, _logout_quietly, client)
            if pool is not None:
                pool.shutdown(wait=False)

    async def __aenter__(self) -> ImapFolder:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _check_policy(self) -> None:
        s = self.settings
        if s.kind != "imap":
            raise ConfigError(f"mailboxes.{s.name}: kind {s.kind!r} is not an IMAP mailbox")
        if s.auth == "password" and s.password is None:
            raise ConfigError(f"mailboxes.{s.name}: no password configured")
        if s.auth != "password" and self.tokens is None:
            raise ConfigError(f"mailboxes.{s.name}: auth {s.auth!r} needs an oauth table")
        if s.security == "plain" and not s.allow_plain_login and not is_loopback(s.host):
            raise ConfigError(
                f"mailboxes.{s.name}: security 'plain' would send the password unencrypted to "
                f"{s.host}; use 'tls' or 'starttls', or set allow_plain_login = true"
            )

    def _ssl_context(self) -> ssl.SSLContext:
        s = self.settings
        if not s.verify_tls:
            log.warning("%s: TLS certificate verification is switched off", self.label)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)

    def _open_sync(self, token: str | None) -> tuple[Any, FolderStatus, bool]:
        s = self.settings
        ctx = self._ssl_context() if s.security != "plain" else None
        timeout = SocketTimeout(connect=self.timeout, read=self.timeout)
        tls = s.security == "tls"
        client = IMAPClient(s.host, s.port, ssl=tls, ssl_context=ctx, timeout=timeout)
        # INTERNALDATE is the legal time of receipt: keep it timezone-aware, not naive local time.
        client.normalise_times = False
        try:
            _keepalive(client.socket())
            if s.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise PermanentError(f"{self.label}: server does not offer STARTTLS")
                client.starttls(ctx)
            try:
                if token is None:
                    assert s.password is not None
                    client.login(s.username, s.password.value)
                else:
                    first = sasl_response(s.auth, s.username, token, s.host, s.port)
                    dummy = b"\x01" if s.auth == "oauthbearer" else b""
                    client.sasl_login(s.auth.upper(), _InitialResponse(first, dummy))
            except LoginError as exc:
                # The server's text, never our arguments: the secret stays out of the message.
                msg = f"{self.label}: login refused for {s.username}: {exc}"
                raise LoginRefused(msg) from None
            try:
                info = client.select_folder(self.folder)
            except IMAPClientAbortError:
                raise
            except IMAPClientError as exc:
                raise PermanentError(f"{self.label}: cannot select folder: {exc}") from None
            idle = bool(client.has_capability("IDLE"))  # here: it may cost a round trip
            _news_since_last_command(client)  # SELECT's counts are in `info`; start clean
        except BaseException:
            _shutdown_quietly(client)
            raise
        status = FolderStatus(
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info.get(b"UIDNEXT", 0)),
            exists=int(info.get(b"EXISTS", 0)),
        )
        return client, status, idle

    # -- reading ----------------------------------------------------------------------------

    async def fetch_after(self, after_uid: int, limit: int | None = None) -> list[RawMessage]:
        """Messages with UID > after_uid, ascending, at most `limit` (default fetch_batch).

        BODY.PEEK[] leaves \\Seen alone, so a person reading the mailbox sees what is new.
        """
        limit = limit if limit is not None else self.settings.fetch_batch
        return await self._call(functools.partial(self._fetch_sync, after_uid, limit), "fetch")

    def _fetch_sync(self, after_uid: int, limit: int) -> list[RawMessage]:
        client = self._need_client()
        client.noop()  # Dovecot reports mail that came after SELECT on NOOP or IDLE, not SEARCH
        _news_since_last_command(client)  # what NOOP announced, the SEARCH below finds
        # "N:*" always matches the highest UID, even below N: filter it out again.
        found = client.search(["UID", f"{after_uid + 1}:*"])
        uids = sorted(u for u in found if u > after_uid)[:limit]
        return self._fetch_uids_sync(uids)

    async def search_since(self, day: date) -> tuple[list[int], int]:
        """UIDs of messages whose INTERNALDATE is on or after `day` (IMAP SEARCH SINCE, which
        compares dates only, in the server's zone), ascending; and the highest UID in the
        folder now (0 when empty), for the cursor of a history import."""
        return await self._call(functools.partial(self._search_since_sync, day), "search")

    def _search_since_sync(self, day: date) -> tuple[list[int], int]:
        client = self._need_client()
        client.noop()
        since = sorted(int(u) for u in client.search(["SINCE", day]))
        every = client.search(["ALL"])
        return since, max((int(u) for u in every), default=0)

    async def fetch_uids(self, uids: Sequence[int]) -> list[RawMessage]:
        """These messages (those still there), UID ascending, peeked: \\Seen is left alone."""
        return await self._call(functools.partial(self._fetch_uids_sync, sorted(uids)), "fetch")

    def _fetch_uids_sync(self, uids: list[int]) -> list[RawMessage]:
        if not uids:
            return []
        client = self._need_client()
        data = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
        status = self.status
        out = []
        for uid in uids:
            item = data.get(uid)
            if item is None or b"BODY[]" not in item:
                continue  # expunged between SEARCH and FETCH
            out.append(RawMessage(
                account=self.settings.name, folder=self.folder, uidvalidity=status.uidvalidity,
                uid=uid, raw=bytes(item[b"BODY[]"]), internaldate=item.get(b"INTERNALDATE"),
            ))  # fmt: skip
        log.debug("%s: fetched uids %s", self.label, [m.uid for m in out])
        return out

    async def wait_for_change(self, timeout: float | None = None) -> bool:
        """Wait until the folder may have changed; True if the server said it did.

        With IDLE (offered and `settings.idle`): up to `timeout` (default idle_timeout), returning
        early on EXISTS, EXPUNGE or FETCH. Without: sleep poll_interval (or `timeout`, if
        shorter), then NOOP to prove the connection still lives, and return True. So callers
        may pass idle_timeout either way. A dead connection (EOF, BYE) raises TransientError.
        """
        if self.supports_idle and self.settings.idle:
            wait = self.settings.idle_timeout if timeout is None else timeout
            return await self._call(functools.partial(self._idle_sync, wait), "IDLE")
        poll = self.settings.poll_interval
        await asyncio.sleep(poll if timeout is None else min(poll, timeout))
        if self._client is None:
            return False  # closed while we slept
        await self._call(lambda: self._need_client().noop(), "NOOP")
        return True

    def _idle_sync(self, timeout: float) -> bool:
        """IDLE until a change, `timeout`, close(), or `idle_probe` seconds of silence.

        The silence watchdog: a server in IDLE may say nothing for many minutes, and so may a
        hung server or a connection some middlebox dropped without telling us. After
        `idle_probe` seconds without a word (Dovecot's "* OK Still here" every 2 minutes counts)
        we end IDLE: DONE must be answered within the socket timeout, which proves the server
        alive, or raises and the worker reconnects. The caller then NOOPs and IDLEs again.
        """
        client = self._need_client()
        if _news_since_last_command(client):
            # New mail announced in the answer to our last FETCH or SEARCH, after the server had
            # chosen what to return: IDLE would report only later changes and sit out its timeout.
            return True
        client.idle()
        deadline = time.monotonic() + timeout
        last_heard = time.monotonic()
        # Dovecot answers IDLE with "+ idling" and, in the same packet, what changed since our
        # last command: mail that landed after our last SEARCH. idle() reads the whole packet
        # into imaplib's buffer but parses only the "+" line; idle_check() polls the socket,
        # which has nothing more to say, so that news waited for the next packet (more mail,
        # the keepalive, the timeout: bench (d)'s p95 was idle_timeout). Anything already read
        # ends IDLE now; idle_done() parses it.
        unread = _input_already_read(client)
        changed = False
        while not changed and not unread and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if time.monotonic() - last_heard >= self.settings.idle_probe:
                log.debug("%s: silent for %.0f s in IDLE; probing", self.label, self.settings.idle_probe)
                break
            step = min(remaining, IDLE_SLICE)
            started = time.monotonic()
            responses = client.idle_check(timeout=step)
            # An empty answer long before the timeout means EOF: the server is gone.
            if not responses and time.monotonic() - started < step / 2:
                raise TransientError(f"{self.label}: connection closed during IDLE", retry_after=5)
            if responses:
                last_heard = time.monotonic()
            changed = _any_change(self.label, responses)
        _text, responses = client.idle_done()
        _news_since_last_command(client)  # reported by what we return: not news next time
        return _any_change(self.label, responses) or changed

    # -- writing ----------------------------------------------------------------------------

    async def mark_done(self, uids: Sequence[int]) -> None:
        """Set `done_keyword` on these UIDs. Cosmetic (the store is the record), so a server
        that refuses keywords only earns a warning; a dead connection still raises."""
        if uids:
            await self._call(functools.partial(self._mark_sync, list(uids)), "store")

    def _mark_sync(self, uids: list[int]) -> None:
        try:
            self._need_client().add_flags(uids, [self.settings.done_keyword], silent=True)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            log.warning("%s: could not flag uids %s: %s", self.label, uids, exc)

    # -- plumbing ---------------------------------------------------------------------------

    def _need_client(self) -> Any:
        if self._client is None:
            raise TransientError(f"{self.label}: not connected", retry_after=0)
        return self._client

    async def _call(
        self, fn: Callable[[], T], what: str, on_abandon: Callable[[T], None] | None = None
    ) -> T:
        """Run `fn` on this folder's thread; map library errors; on failure drop the connection.

        If the caller is cancelled, the thread runs on; `on_abandon` gets what it returns then.
        """
        async with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, f"imap-{self.label}")
            future = asyncio.get_running_loop().run_in_executor(self._pool, fn)
            try:
                # shield: when the caller is cancelled, the thread still owns the socket.
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                self._stop.set()  # IDLE returns within IDLE_SLICE; its socket is then closed
                self._abandon(future, on_abandon)
                raise
            except Exception as exc:
                self._drop()
                raise self._translate(exc, what) from exc

    def _abandon(self, future: asyncio.Future[T], on_result: Callable[[T], None] | None) -> None:
        client, self._client, self._status = self._client, None, None

        def _done(fut: asyncio.Future[T]) -> None:
            # Retrieve the exception, so asyncio does not log it as forgotten.
            if not fut.cancelled() and fut.exception() is None and on_result is not None:
                on_result(fut.result())
            if client is not None:
                _shutdown_quietly(client)

        future.add_done_callback(_done)

    def _drop(self) -> None:
        client, self._client, self._status = self._client, None, None
        if client is not None:
            _shutdown_quietly(client)

    def _translate(self, exc: Exception, what: str) -> InboxbotError:
        if isinstance(exc, InboxbotError):
            return exc
        if isinstance(exc, ssl.SSLCertVerificationError):
            msg = f"{self.label}: TLS certificate not trusted: {exc.verify_message}"
            return TransientError(msg, retry_after=TLS_RETRY_AFTER)
        if isinstance(exc, (IMAPClientAbortError, OSError, EOFError)):
            return TransientError(f"{self.label}: {what} failed: {type(exc).__name__}: {exc}")
        if isinstance(exc, IMAPClientError):
            return TransientError(f"{self.label}: {what} refused by server: {exc}")
        return TransientError(f"{self.label}: {what} failed unexpectedly: {type(exc).__name__}")


class _InitialResponse:
    """SASL for a client-first mechanism: our response to the first (empty) challenge. A second
    challenge is the server's error report, which wants a dummy answer before the final NO:
    %x01 for OAUTHBEARER (RFC 7628 §3.2.3), an empty line for XOAUTH2 (Google's description)."""

    def __init__(self, response: bytes, dummy: bytes) -> None:
        self._response: bytes | None = response
        self._dummy = dummy

    def __call__(self, challenge: bytes) -> bytes:
        response, self._response = self._response, None
        return response if response is not None else self._dummy


def _any_change(label: str, responses: list[Any]) -> bool:
    """EXISTS/EXPUNGE/FETCH mean a change; untagged OK is a keepalive; BYE means goodbye."""
    changed = False
    for resp in responses:
        head = resp[0] if resp else b""
        if head == b"BYE":
            raise TransientError(f"{label}: server closed the connection (BYE)", retry_after=5)
        if head not in (b"OK", b"NO", b"BAD"):
            changed = True
    return changed


def _news_since_last_command(client: Any) -> bool:
    """Take the EXISTS/RECENT/EXPUNGE announcements the server slipped into the answers to our
    other commands (imaplib keeps unclaimed untagged responses); True if there were any."""
    store = getattr(getattr(client, "_imap", None), "untagged_responses", None)
    if not isinstance(store, dict):
        return False
    return any([store.pop(kind, None) for kind in ("EXISTS", "RECENT", "EXPUNGE")])


def _input_already_read(client: Any) -> bool:
    """Whether the server's bytes wait unparsed in imaplib's read buffer (or decrypted in the
    TLS layer), where poll() on the socket cannot see them. Never blocks."""
    sock = client.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    reader = getattr(getattr(client, "_imap", None), "file", None)
    if reader is None or not hasattr(reader, "peek"):
        return False
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        # peek() returns the buffer, or when it is empty reads what the socket has now.
        return bool(reader.peek(1))
    except OSError:  # nothing there: BlockingIOError, or ssl.SSLWantReadError under TLS
        return False
    finally:
        sock.settimeout(timeout)


def _keepalive(sock: Any) -> None:
    """Switch on TCP keepalive where the platform has it (Linux does); best effort."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", TCP_KEEPIDLE), ("TCP_KEEPINTVL", TCP_KEEPINTVL),
                            ("TCP_KEEPCNT", TCP_KEEPCNT)):
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    except OSError:
        pass


def _logout_quietly(client: Any) -> None:
    try:
        client.socket().settimeout(5.0)  # a dead peer must not hold close() for a full timeout
        client.logout()
    except Exception:
        _shutdown_quietly(client)


def _shutdown_quietly(client: Any) -> None:
    try:
        client.shutdown()
    except Exception:
        pass
