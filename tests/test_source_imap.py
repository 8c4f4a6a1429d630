"""inboxbot.source.imap against a real Dovecot (rig/): fetching, waiting, security, failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from inboxbot.config import MailboxSettings, Secret
from inboxbot.errors import ConfigError, PermanentError, TransientError
from inboxbot.source.imap import FolderStatus, ImapFolder, is_loopback
from rig import Dovecot, MailUser, make_message

pytestmark = pytest.mark.integration


def folder_for(dovecot: Dovecot, user: MailUser, security: str = "tls", **kw: Any) -> ImapFolder:
    return ImapFolder(dovecot.mailbox_settings(user.name, security, **kw), "INBOX")


async def append(dovecot: Dovecot, user: MailUser, subject: str = "x", **kw: Any) -> int:
    return await asyncio.to_thread(dovecot.append, user.name, make_message(subject), **kw)


@pytest.mark.parametrize("security", ["tls", "starttls", "plain"])
async def test_open_each_security(dovecot: Dovecot, mailbox_user: MailUser, security: str) -> None:
    async with folder_for(dovecot, mailbox_user, security) as folder:
        status = folder.status
        assert status == FolderStatus(status.uidvalidity, uidnext=1, exists=0)
        assert status.uidvalidity > 0
        assert folder.supports_idle
        assert await folder.fetch_after(0) == []  # an empty folder is not an error
    assert not folder.is_open


async def test_fetch_after_uid(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    uids = [await append(dovecot, mailbox_user, f"m{i}") for i in range(3)]
    async with folder_for(dovecot, mailbox_user) as folder:
        got = await folder.fetch_after(0)
        assert [m.uid for m in got] == uids
        assert [m.raw for m in got] == [
            (await asyncio.to_thread(_body, dovecot, mailbox_user, uid)) for uid in uids
        ]
        assert {(m.account, m.folder, m.uidvalidity) for m in got} == {
            ("privacy", "INBOX", folder.status.uidvalidity)
        }
        assert [m.uid for m in await folder.fetch_after(uids[1])] == [uids[2]]
        # "N:*" matches the last message even when its UID is below N: it must not come back.
        assert await folder.fetch_after(uids[2]) == []
        assert await folder.fetch_after(uids[2] + 50) == []


def _body(dovecot: Dovecot, user: MailUser, uid: int) -> bytes:
    with dovecot.connect(user.name) as client:
        client.select_folder("INBOX", readonly=True)
        return bytes(client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"])


async def test_sees_mail_that_came_after_select(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    async with folder_for(dovecot, mailbox_user) as folder:
        uid = await append(dovecot, mailbox_user)
        assert [m.uid for m in await folder.fetch_after(0)] == [uid]


async def test_batches(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    uids = [await append(dovecot, mailbox_user, f"m{i}") for i in range(5)]
    async with folder_for(dovecot, mailbox_user, fetch_batch=3) as folder:
        assert [m.uid for m in await folder.fetch_after(0)] == uids[:3]  # settings.fetch_batch
        seen: list[int] = []
        for _ in range(5):  # bounded: a fetch that never runs dry must fail, not hang
            batch = await folder.fetch_after(seen[-1] if seen else 0, limit=2)
            if not batch:
                break
            assert len(batch) <= 2
            seen += [m.uid for m in batch]
        assert seen == uids


async def test_internaldate_kept_with_its_zone(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    when = datetime(2025, 6, 19, 23, 45, 10, tzinfo=timezone(timedelta(hours=2)))
    await append(dovecot, mailbox_user, msg_time=when)
    async with folder_for(dovecot, mailbox_user) as folder:
        [msg] = await folder.fetch_after(0)
    # The same instant, timezone-aware. (Dovecot's maildir keeps the instant, not the zone: it
    # answers in its own zone, so the offset itself is not compared.)
    assert msg.internaldate is not None and msg.internaldate.tzinfo is not None
    assert msg.internaldate == when


async def test_fetch_leaves_seen_alone_and_mark_done_sets_keyword(
    dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    first = await append(dovecot, mailbox_user)
    second = await append(dovecot, mailbox_user)
    async with folder_for(dovecot, mailbox_user) as folder:
        await folder.fetch_after(0)
        await folder.mark_done([first])
        await folder.mark_done([])
    with dovecot.connect(mailbox_user.name) as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags([first, second])
    assert b"\\Seen" not in flags[first] and b"\\Seen" not in flags[second]
    assert b"$InboxbotDone" in flags[first] and b"$InboxbotDone" not in flags[second]


async def test_idle_wakes_on_append(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    async with folder_for(dovecot, mailbox_user) as folder:
        waiter = asyncio.create_task(folder.wait_for_change(timeout=10))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        uid = await append(dovecot, mailbox_user)
        assert await waiter is True
        assert time.monotonic() - started < 3  # Dovecot notices new mail after ~0.5 s
        assert [m.uid for m in await folder.fetch_after(0)] == [uid]


async def test_mail_announced_before_idle_is_not_missed(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    # New mail can be announced (untagged EXISTS) in the answer to a command that did not return
    # it; IDLE then reports only later changes. The announcement must end the wait at once.
    async with folder_for(dovecot, mailbox_user) as folder:
        assert await folder.fetch_after(0) == []
        uid = await append(dovecot, mailbox_user)
        deadline = time.monotonic() + 10
        announced: list[Any] = []
        while not announced and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            # A command that returns nothing new but carries the server's EXISTS.
            await folder._call(lambda: folder._need_client().search(["DELETED"]), "SEARCH")
            announced = folder._need_client()._imap.untagged_responses.get("EXISTS", [])
        assert announced, "Dovecot never announced the appended message"
        started = time.monotonic()
        assert await folder.wait_for_change(timeout=30) is True
        assert time.monotonic() - started < 10  # not the whole IDLE timeout (30 s)
        assert [m.uid for m in await folder.fetch_after(0)] == [uid]


async def test_idle_times_out_quietly(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    async with folder_for(dovecot, mailbox_user) as folder:
        started = time.monotonic()
        assert await folder.wait_for_change(timeout=1.2) is False
        assert 1.1 < time.monotonic() - started < 3
        assert await folder.fetch_after(0) == []  # the connection is fine after IDLE


async def test_polls_when_server_has_no_idle(dovecot_factory: Callable[..., Dovecot]) -> None:
    server = dovecot_factory(idle=False)
    user = server.users["privacy@example.com"]
    async with folder_for(server, user, poll_interval=0.3) as folder:
        assert not folder.supports_idle
        uid = await append(server, user)
        started = time.monotonic()
        # The worker passes idle_timeout; without IDLE the poll interval still sets the pace.
        assert await folder.wait_for_change(folder.settings.idle_timeout) is True
        assert 0.25 < time.monotonic() - started < 2
        assert [m.uid for m in await folder.fetch_after(0)] == [uid]


async def test_polls_when_idle_is_switched_off(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    async with folder_for(dovecot, mailbox_user, idle=False, poll_interval=5) as folder:
        started = time.monotonic()
        assert await folder.wait_for_change(timeout=0.2) is True
        assert time.monotonic() - started < 1.5


async def test_close_while_polling(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    folder = folder_for(dovecot, mailbox_user, idle=False)
    await folder.open()
    waiter = asyncio.create_task(folder.wait_for_change(timeout=0.5))
    await asyncio.sleep(0.1)
    await folder.close()
    assert await waiter is False


async def test_close_ends_idle_promptly(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    folder = folder_for(dovecot, mailbox_user)
    await folder.open()
    waiter = asyncio.create_task(folder.wait_for_change(timeout=30))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await folder.close()
    assert await waiter is False
    assert time.monotonic() - started < 3 and not folder.is_open


async def test_cancelled_wait_leaves_folder_reopenable(
    dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    folder = folder_for(dovecot, mailbox_user)
    await folder.open()
    waiter = asyncio.create_task(folder.wait_for_change(timeout=30))
    await asyncio.sleep(0.3)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not folder.is_open
    uid = await append(dovecot, mailbox_user)
    await folder.open()
    assert [m.uid for m in await folder.fetch_after(0)] == [uid]
    await folder.close()


async def test_bad_password_is_permanent(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    folder = folder_for(dovecot, mailbox_user, password=Secret("not-the-pw-4711"))
    with pytest.raises(PermanentError) as info:
        await folder.open()
    assert "not-the-pw-4711" not in str(info.value)
    assert mailbox_user.name in str(info.value)
    assert not folder.is_open


async def test_missing_folder_is_permanent(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    folder = ImapFolder(dovecot.mailbox_settings(mailbox_user.name), "No/Such/Folder")
    with pytest.raises(PermanentError, match="cannot select"):
        await folder.open()


async def test_untrusted_certificate_is_refused(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    for security in ("tls", "starttls"):
        folder = folder_for(dovecot, mailbox_user, security, ca_file=None)
        with pytest.raises(TransientError, match="certificate"):
            await folder.open()
    # Switching verification off is possible, if unwise: it is logged.
    async with folder_for(dovecot, mailbox_user, ca_file=None, verify_tls=False) as folder:
        assert folder.is_open


async def test_plain_login_refused_off_loopback() -> None:
    settings = MailboxSettings(name="privacy", host="imap.example.com", port=143,
                               security="plain", username="u", password=Secret("p"))  # fmt: skip
    with pytest.raises(ConfigError, match="allow_plain_login"):
        await ImapFolder(settings, "INBOX").open()  # refused before any network traffic
    with pytest.raises(ConfigError, match="not an IMAP"):
        await ImapFolder(replace(settings, kind="maildir"), "INBOX").open()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("192.0.2.1") and not is_loopback("imap.example.com")


async def test_restart_raises_transient_then_reopens(
    dovecot_factory: Callable[..., Dovecot],
) -> None:
    server = dovecot_factory()
    user = server.users["privacy@example.com"]
    uid = await append(server, user)
    folder = folder_for(server, user)
    status = await folder.open()
    await asyncio.to_thread(server.restart)
    with pytest.raises(TransientError):
        await folder.fetch_after(0)
    assert not folder.is_open
    assert await folder.open() == status  # UIDVALIDITY survives a restart
    assert [m.uid for m in await folder.fetch_after(0)] == [uid]
    await folder.close()


async def test_crash_during_idle_then_down_then_up(
    dovecot_factory: Callable[..., Dovecot],
) -> None:
    server = dovecot_factory()
    folder = folder_for(server, server.users["privacy@example.com"], "starttls")
    await folder.open()
    waiter = asyncio.create_task(folder.wait_for_change(timeout=30))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await asyncio.to_thread(server.kill)
    with pytest.raises(TransientError):
        await waiter
    assert time.monotonic() - started < 3  # not a spin, not a 30 s hang
    with pytest.raises(TransientError, match="Connection refused"):
        await folder.open()
    await asyncio.to_thread(server.start)
    await folder.open()
    await folder.close()


async def test_new_uidvalidity_seen_on_reopen(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    uid = await append(dovecot, mailbox_user)
    async with folder_for(dovecot, mailbox_user) as folder:
        old = folder.status.uidvalidity
    await asyncio.to_thread(dovecot.set_uidvalidity, mailbox_user.name, old + 7)
    async with folder_for(dovecot, mailbox_user) as folder:
        assert folder.status.uidvalidity == old + 7
        [msg] = await folder.fetch_after(0)
        assert (msg.uid, msg.uidvalidity) == (uid, old + 7)
