"""The weekly digest to the DPO: what came in, what is due, what needs a look.

schedule.py says when (pure); data.py is what it says (frozen dataclasses); collect.py gathers
that from the store; render.py writes it from prompts/digest/ (plain text and HTML); send.py
queues it in the outbox once per week; command.py is `inboxbot digest --preview/--send`.
"""

from inboxbot.digest.collect import collect
from inboxbot.digest.data import DigestData
from inboxbot.digest.render import DigestRenderer, RenderedDigest, render
from inboxbot.digest.schedule import is_due, last_slot, week_key
from inboxbot.digest.send import queue_digest

__all__ = ["DigestData", "DigestRenderer", "RenderedDigest", "collect", "is_due", "last_slot",
           "queue_digest", "render", "week_key"]
