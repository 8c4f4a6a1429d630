"""source -> parse -> classify: a batch of raw messages made ready for the store, no database.

Two steps, so that the worker can run them in different threads, each on its own batch:
`parse_and_read` (the parser, and the rules' reading where the classifier reads ahead) and
`classify_parsed` (the model, for what the rules leave open). A message the parser or the
classifier raises on comes out as a Ready with the stage and the error, and becomes a dead
letter when stored; a TransientError (the encoder's process down) is raised instead, because it
says nothing about the messages: the batch waits and is fetched again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from inboxbot.classify import Classifier, ReadsAhead
from inboxbot.classify.listunsub import apply_list_unsubscribe
from inboxbot.classify.rules import Reading
from inboxbot.domain import Inbound, RawMessage, Verdict
from inboxbot.errors import TransientError
from inboxbot.parse import parse

log = logging.getLogger(__name__)


# A parsed message, or what the parser raised on it (the message becomes a dead letter).
Parsed = Inbound | BaseException


def parse_all(raws: Sequence[RawMessage]) -> list[Parsed]:
    parsed: list[Parsed] = []
    for raw in raws:
        try:
            parsed.append(parse(raw.raw, received_at=raw.internaldate))
        except Exception as exc:  # noqa: BLE001 - any parser failure makes a dead letter
            parsed.append(exc)
    return parsed


@dataclass(frozen=True)
class ParsedBatch:
    """A batch after the parse step: each message parsed, or what its parser raised; and, from
    a ReadsAhead classifier, its first step's readings of the parsed ones, in order (None: that
    step raised, or the classifier has none, and the classify step does the whole)."""

    items: list[Parsed]
    readings: list[Reading] | None = None

    @property
    def good(self) -> list[Inbound]:
        return [m for m in self.items if isinstance(m, Inbound)]


def parse_and_read(raws: Sequence[RawMessage], classifier: Classifier) -> ParsedBatch:
    parsed = ParsedBatch(parse_all(raws))
    if not isinstance(classifier, ReadsAhead):
        return parsed
    try:
        return ParsedBatch(parsed.items, classifier.read(parsed.good))
    except Exception:  # noqa: BLE001 - the classify step redoes it, one by one if need be
        log.warning("reading a batch ahead failed; it is classified whole")
        return parsed


@dataclass(frozen=True)
class Ready:
    """One message after `prepare`: parsed and classified, or the stage that failed and why."""

    raw: RawMessage
    msg: Inbound | None = None
    verdict: Verdict | None = None
    failed: str = ""  # parse or classify, when `error` is set
    error: BaseException | None = None


def classify_parsed(classifier: Classifier, unsubscribe_to: Sequence[str], raws: Sequence[RawMessage],
                    parsed: ParsedBatch) -> list[Ready]:
    """One Ready per raw message, in order, for what `parse_and_read` made of the same `raws`.
    `unsubscribe_to`: our own List-Unsubscribe addresses (classify.listunsub)."""
    good = parsed.good
    verdicts = iter([
        apply_list_unsubscribe(m, v, unsubscribe_to) if isinstance(v, Verdict) else v
        for m, v in zip(good, _classify(classifier, good, parsed.readings))
    ])
    ready: list[Ready] = []
    for raw, item in zip(raws, parsed.items, strict=True):
        if isinstance(item, BaseException):
            ready.append(Ready(raw, failed="parse", error=item))
            continue
        verdict = next(verdicts)
        if isinstance(verdict, BaseException):
            ready.append(Ready(raw, item, failed="classify", error=verdict))
        else:
            ready.append(Ready(raw, item, verdict))
    return ready


def _classify(classifier: Classifier, messages: list[Inbound],
              readings: list[Reading] | None) -> list[Verdict | BaseException]:
    if not messages:
        return []
    try:
        if readings is not None and isinstance(classifier, ReadsAhead):
            return list(classifier.classify_read(messages, readings))
        return list(classifier.classify(messages))
    except TransientError:
        raise  # not the messages' fault (the encoder's process is down): the batch waits
    except Exception:  # noqa: BLE001 - find the one message that breaks the classifier
        log.warning("batch classification failed; classifying one by one")
    results: list[Verdict | BaseException] = []
    for m in messages:
        try:
            results.append(classifier.classify([m])[0])
        except TransientError:
            raise
        except Exception as exc:  # noqa: BLE001
            results.append(exc)
    return results
