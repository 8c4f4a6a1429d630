"""Poison messages: one that makes a stage raise is set aside whole, the rest flow on, and
`inboxbot deadletters list | show | retry` replays it after a fix without duplicates.

The classifier that raises is a small test stand-in: the point is the pipeline's handling of a
failing stage over the real store, not classification."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from pathlib import Path

import pytest

from inboxbot.classify import ReadsAhead, make_classifier
from inboxbot.classify.encoder_process import EncoderProcess, EncoderUnavailable
from inboxbot.classify.rules import Reading
from inboxbot.cli import main
from inboxbot.config import Settings, load_settings
from inboxbot.deadletters import retry_many
from inboxbot.domain import Inbound, RawMessage, Verdict
from inboxbot.pipeline import Processor
from inboxbot.store import close_store, open_store
from inboxbot.store.models import DeadLetter, OutboxItem, ProcessedMessage, Ticket
from tests.encoder_fakes import load_missing, load_tripped
from tests.helpers_pipeline import poison_acknowledgements

CONFIG = """
[organisation]
domain = "example.com"
reply_from = "privacy@example.com"
dpo_email = "dpo@example.com"

[store]
state_dir = "state"
"""


class PoisonedClassifier:
    """The real rules, except that a message with POISON in its subject makes it raise."""

    def __init__(self, settings: Settings) -> None:
        self.inner = make_classifier(settings)

    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]:
        if any("POISON" in m.subject for m in messages):
            raise ValueError("classifier bug triggered")
        return self.inner.classify(messages)


class PoisonedReader(PoisonedClassifier):
    """A two-step classifier (ReadsAhead) that raises on POISON in the step named `fails`: the
    rules' reading (the worker's parse thread) or the model's step (its classify thread)."""

    def __init__(self, settings: Settings, fails: str) -> None:
        super().__init__(settings)
        self.fails = fails

    def read(self, messages: Sequence[Inbound]) -> list[Reading]:
        if self.fails == "read":
            self.classify(messages)
        return self.inner.read(messages)  # type: ignore[attr-defined, no-any-return]

    def classify_read(self, messages: Sequence[Inbound], readings: Sequence[Reading]) -> list[Verdict]:
        if self.fails == "classify_read":
            self.classify(messages)
        return self.inner.classify_read(messages, readings)  # type: ignore[attr-defined, no-any-return]


def mail(n: int, subject: str) -> RawMessage:
    raw = (
        f"From: Olle Holm <olle.{n}@example.org>\r\nTo: privacy@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <dl-{n}@example.org>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hello, please erase all my personal data under Article 17 GDPR.\r\n"
    ).encode()
    return RawMessage("privacy", "INBOX", 7, n, raw, None)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "inboxbot.toml"
    path.write_text(CONFIG)
    return path


def run(coro_fn, config: Path):  # type: ignore[no-untyped-def]
    """Run `coro_fn(settings)` with the store open, in a fresh event loop (as the CLI does)."""
    settings = load_settings(config)

    async def go():  # type: ignore[no-untyped-def]
        await open_store(settings.db_url)
        try:
            return await coro_fn(settings)
        finally:
            await close_store()

    return asyncio.run(go())


async def counts(_: Settings) -> tuple[int, int, int, int]:
    return (await ProcessedMessage.all().count(), await Ticket.all().count(),
            await OutboxItem.filter(purpose="ack").count(), await DeadLetter.all().count())


def test_poison_is_set_aside_and_replayed_once_after_the_fix(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = [mail(1, "Delete my data"), mail(2, "POISON Delete my data"), mail(3, "Delete my data")]

    async def first(settings: Settings):  # type: ignore[no-untyped-def]
        return await Processor(settings, PoisonedClassifier(settings)).process(batch, track_cursor=True)

    outcomes = run(first, config)
    assert [o.outcome for o in outcomes] == ["ticket", "dead_letter", "ticket"]  # the rest flowed on
    assert run(counts, config) == (2, 2, 2, 1)

    async def letters(_: Settings) -> list[DeadLetter]:
        return await DeadLetter.all()

    [letter] = run(letters, config)
    assert (letter.stage, letter.status, letter.uid) == ("classify", "new", 2)
    assert bytes(letter.raw_bytes) == batch[1].raw  # kept whole, byte for byte
    assert "classifier bug triggered" in letter.error

    assert main(["-c", str(config), "deadletters", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{letter.id:>5}  new" in out and "classify" in out
    assert "olle.2@example.org" not in out and "o***@example.org" in out  # redacted in listings
    assert main(["-c", str(config), "deadletters", "show", str(letter.id)]) == 0
    out = capsys.readouterr().out
    assert "POISON Delete my data" in out and "<dl-2@example.org>" in out
    assert main(["-c", str(config), "deadletters", "show", str(letter.id), "--raw"]) == 0
    assert capsys.readouterr().out == batch[1].raw.decode()

    # The fix is deployed (the CLI uses the configured, working classifier): replay it.
    assert main(["-c", str(config), "deadletters", "retry", str(letter.id)]) == 0
    out = capsys.readouterr().out
    assert "resolved: ticket PRIV-" in out and "acknowledgement queued" in out
    assert run(counts, config) == (3, 3, 3, 1)
    assert [d.status for d in run(letters, config)] == ["resolved"]

    # Again, by id and with --all: nothing more happens.
    assert main(["-c", str(config), "deadletters", "retry", str(letter.id)]) == 0
    assert "resolved: duplicate" in capsys.readouterr().out
    assert main(["-c", str(config), "deadletters", "retry", "--all"]) == 0
    assert "nothing to retry" in capsys.readouterr().out
    assert run(counts, config) == (3, 3, 3, 1)
    assert main(["-c", str(config), "deadletters", "list"]) == 0
    assert "no dead letters" in capsys.readouterr().out
    assert main(["-c", str(config), "deadletters", "list", "--status", "all"]) == 0
    assert "resolved" in capsys.readouterr().out


@pytest.mark.parametrize("fails", ["read", "classify_read"])
def test_a_two_step_classifier_failing_in_either_step_sets_aside_only_the_poison(config: Path, fails: str) -> None:
    batch = [mail(1, "Delete my data"), mail(2, "POISON Delete my data"), mail(3, "Delete my data")]

    async def first(settings: Settings):  # type: ignore[no-untyped-def]
        classifier = PoisonedReader(settings, fails)
        assert isinstance(classifier, ReadsAhead)
        processor = Processor(settings, classifier)
        read = await processor.parse(batch)
        assert (read.readings is None) == (fails == "read")  # a failed reading is redone whole
        return await processor.store(await processor.classify(batch, read), track_cursor=True)

    outcomes = run(first, config)
    assert [o.outcome for o in outcomes] == ["ticket", "dead_letter", "ticket"]
    assert run(counts, config) == (2, 2, 2, 1)


class EncoderBackedRules:
    """The real rules, behind an encoder process that reads each subject first: a stand-in for
    the model classifier whose encoder runs in a child (tests/encoder_fakes.py says how it fails)."""

    def __init__(self, settings: Settings, encoder: EncoderProcess) -> None:
        self.inner = make_classifier(settings)
        self.encoder = encoder

    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]:
        self.encoder.embed([m.subject for m in messages])
        return self.inner.classify(messages)


def test_a_message_that_kills_the_encoder_process_becomes_the_only_dead_letter(config: Path) -> None:
    batch = [mail(1, "Delete my data"), mail(2, "CRASH Delete my data"), mail(3, "Delete my data")]

    async def first(settings: Settings):  # type: ignore[no-untyped-def]
        encoder = EncoderProcess(functools.partial(load_tripped, None))
        try:
            return await Processor(settings, EncoderBackedRules(settings, encoder)).process(batch, track_cursor=True)
        finally:
            encoder.close()

    outcomes = run(first, config)
    assert [o.outcome for o in outcomes] == ["ticket", "dead_letter", "ticket"]
    assert run(counts, config) == (2, 2, 2, 1)

    async def letters(_: Settings) -> list[DeadLetter]:
        return await DeadLetter.all()

    [letter] = run(letters, config)
    assert (letter.stage, letter.uid) == ("classify", 2) and "died twice" in letter.error


def test_an_encoder_process_that_cannot_load_holds_the_batch_back_whole(config: Path) -> None:
    batch = [mail(1, "Delete my data"), mail(2, "Delete my data")]

    async def first(settings: Settings):  # type: ignore[no-untyped-def]
        encoder = EncoderProcess(load_missing)
        try:
            await Processor(settings, EncoderBackedRules(settings, encoder)).process(batch, track_cursor=True)
        finally:
            encoder.close()

    with pytest.raises(EncoderUnavailable, match="could not load the model"):
        run(first, config)
    assert run(counts, config) == (0, 0, 0, 0)  # no dead letters: the worker retries the batch


def test_a_retry_that_fails_again_keeps_one_dead_letter(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def setup(settings: Settings):  # type: ignore[no-untyped-def]
        processor = Processor(settings, PoisonedClassifier(settings))
        await processor.process([mail(5, "POISON again")], track_cursor=False)
        return await retry_many(processor, [], all_open=True)  # the bug is not fixed yet

    [result] = run(setup, config)
    assert result.status == "retried" and "ValueError" in result.error
    assert run(counts, config) == (0, 0, 0, 1)
    assert main(["-c", str(config), "deadletters", "list"]) == 0
    assert "retried" in capsys.readouterr().out
    assert main(["-c", str(config), "deadletters", "retry", "99"]) == 1
    assert main(["-c", str(config), "deadletters", "retry"]) == 2  # IDs or --all, say which


def test_a_stage_after_classify_raising_is_a_dead_letter_too(config: Path) -> None:
    """A message that breaks the act stage (here: a template that cannot render) is kept whole,
    its half-done effects rolled back; the next message is handled normally."""

    async def go(settings: Settings):  # type: ignore[no-untyped-def]
        processor = Processor(settings, make_classifier(settings))
        poison_acknowledgements(processor)
        return await processor.process([mail(8, "POISON Delete my data"), mail(9, "Delete my data")],
                                       track_cursor=False)

    outcomes = run(go, config)
    assert [o.outcome for o in outcomes] == ["dead_letter", "ticket"]
    assert run(counts, config) == (1, 1, 1, 1)  # no ticket left behind by the failed one
