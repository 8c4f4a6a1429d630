"""Mail that lands between the worker's last command and the start of IDLE, against a real Dovecot.

Dovecot answers IDLE with "+ idling" and, in the same packet, the EXISTS for such mail. The
client library reads that packet whole but parses only the "+" line; a wait that only polls
the socket for more saw nothing until the next packet, i.e. until more mail, the server's
keepalive or the IDLE timeout (bench (d): one message in ten waited out idle_timeout).
The timeouts here are long, so "before the timeout" is unambiguous on a loaded machine.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from inboxbot.source.imap import ImapFolder
from rig import Dovecot, MailUser, make_message

pytestmark = pytest.mark.integration

IDLE_TIMEOUT = 20.0  # seconds: what a missed announcement costs; a wait well short of it missed nothing


def folder_for(dovecot: Dovecot, user: MailUser, security: str) -> ImapFolder:
    return ImapFolder(dovecot.mailbox_settings(user.name, security, idle_timeout=IDLE_TIMEOUT), "INBOX")


async def append(dovecot: Dovecot, user: MailUser, subject: str) -> int:
    return await asyncio.to_thread(dovecot.append, user.name, make_message(subject))


@pytest.mark.parametrize("security", ["tls", "plain"])
async def test_mail_landing_just_before_idle_ends_the_wait(
    dovecot: Dovecot, mailbox_user: MailUser, security: str
) -> None:
    async with folder_for(dovecot, mailbox_user, security) as folder:
        assert await folder.fetch_after(0) == []  # our last command before IDLE: nothing new
        uid = await append(dovecot, mailbox_user, "landed before IDLE")
        started = time.monotonic()
        assert await folder.wait_for_change() is True
        assert time.monotonic() - started < IDLE_TIMEOUT / 2, "the announcement waited for IDLE's timeout"
        assert [m.uid for m in await folder.fetch_after(0)] == [uid]


async def test_each_round_of_fetch_then_idle_sees_mail_that_landed_in_between(
    dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    # The worker's loop: fetch what is new, then IDLE; each time a message lands in between.
    async with folder_for(dovecot, mailbox_user, "tls") as folder:
        after = 0
        for n in range(3):
            assert await folder.fetch_after(after) == []
            uid = await append(dovecot, mailbox_user, f"round {n}")
            started = time.monotonic()
            assert await folder.wait_for_change() is True
            assert time.monotonic() - started < IDLE_TIMEOUT / 2, f"round {n} waited for IDLE's timeout"
            assert [m.uid for m in await folder.fetch_after(after)] == [uid]
            after = uid


async def test_idle_still_waits_when_nothing_is_new(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    # The check for news already read must not mistake an empty buffer for news.
    async with folder_for(dovecot, mailbox_user, "tls") as folder:
        assert await folder.fetch_after(0) == []
        started = time.monotonic()
        assert await folder.wait_for_change(timeout=1.5) is False
        assert time.monotonic() - started >= 1.4
        assert await folder.fetch_after(0) == []  # the connection is fine after IDLE


async def test_news_read_with_idles_start_is_not_reported_again(dovecot: Dovecot, mailbox_user: MailUser) -> None:
    # The announcement read at DONE is answered by this wait's True; the next wait, with
    # nothing new since, must IDLE rather than wake at once on the same announcement.
    async with folder_for(dovecot, mailbox_user, "tls") as folder:
        assert await folder.fetch_after(0) == []
        uid = await append(dovecot, mailbox_user, "landed before IDLE")
        assert await folder.wait_for_change() is True
        assert [m.uid for m in await folder.fetch_after(0)] == [uid]
        started = time.monotonic()
        assert await folder.wait_for_change(timeout=1.5) is False
        assert time.monotonic() - started >= 1.4
