"""The weekly digest to the DPO: what came in, what is due, what needs a look.

schedule.py says when (pure), data.py gathers what from the store (frozen dataclasses),
render.py writes it from prompts/digest/ (plain text and HTML), send.py queues it in the outbox
once per week, command.py is `inboxbot digest --preview/--send`.
"""

from inboxbot.digest.data import DigestData, collect
from inboxbot.digest.render import DigestRenderer, RenderedDigest, render
from inboxbot.digest.schedule import is_due, last_slot, week_key
from inboxbot.digest.send import queue_digest

__all__ = ["DigestData", "DigestRenderer", "RenderedDigest", "collect", "is_due", "last_slot",
           "queue_digest", "render", "week_key"]
