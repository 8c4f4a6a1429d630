"""A wakeup that comes while the outbox deliverer is busy is not lost.

The pipeline sets `outbox_wakeup` after a batch commits. If that happens while a delivery round
is running (after its SELECT found nothing new), the deliverer must go round again at once;
clearing the event after the round wiped that wakeup, and the acknowledgement waited for
`outbox_interval` (the IDLE latency's p95 was exactly that). Here the round itself raises the
wakeup, as a commit racing it would; with an interval of an hour, only a kept wakeup can bring
the second round."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import inboxbot.chores as chores_module
from inboxbot.classify import make_classifier
from inboxbot.config import ClassifierSettings, Settings
from inboxbot.pipeline import Processor
from inboxbot.worker import Worker


@pytest.mark.parametrize("loop", ["outbox", "pushes"])
async def test_a_wakeup_during_a_round_brings_another_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loop: str
) -> None:
    settings = Settings(state_dir=tmp_path, classifier=ClassifierSettings(kind="rules"),
                        outbox_interval=3600.0)
    worker = Worker(settings, Processor(settings, make_classifier(settings)), transport=None,  # type: ignore[arg-type]
                    targets=[object()])  # type: ignore[list-item]
    rounds: list[datetime] = []
    second = asyncio.Event()

    async def a_round(*args: Any, **kwargs: Any) -> Any:
        rounds.append(datetime.now())
        if len(rounds) == 1:  # a batch commits while this round runs
            (worker.chores.outbox_wakeup if loop == "outbox" else worker.chores.push_wakeup).set()
        else:
            second.set()
        if loop == "outbox":
            return 0, 0

        class Nothing:
            sent = 0
        return Nothing()

    monkeypatch.setattr(chores_module, "deliver_due", a_round)
    monkeypatch.setattr(chores_module, "deliver_pushes", a_round)
    task = asyncio.create_task(worker.chores.deliver_forever() if loop == "outbox" else worker.chores.push_forever())
    try:
        await asyncio.wait_for(second.wait(), 60)  # an hour without the fix
    finally:
        worker.stop.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(rounds) >= 2
