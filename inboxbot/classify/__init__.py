"""Classification: rules first, a learned model where rules are unsure.

Every classifier takes parsed messages and returns one Verdict per message, in order.
Classification is CPU work: callers run it off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from inboxbot.domain import Inbound, Verdict

if TYPE_CHECKING:
    from inboxbot.classify.rules import Reading
    from inboxbot.config import Settings


class Classifier(Protocol):
    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]:
        """One Verdict per message, in the same order."""
        ...


@runtime_checkable
class ReadsAhead(Protocol):
    """A classifier in two steps, `classify` being both in one call: `read` (the rules: headers
    and lexicons, no model) and `classify_read` (the model, for what the rules leave open). The
    worker runs `read` in its parse thread, so that the model's thread, the pipeline's slowest
    stage, runs nothing but the model."""

    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]: ...

    def read(self, messages: Sequence[Inbound]) -> list[Reading]: ...

    def classify_read(self, messages: Sequence[Inbound], readings: Sequence[Reading]) -> list[Verdict]: ...


_LOADED: dict[tuple[str, ...], Classifier] = {}


def make_classifier(settings: Settings, *, worker: bool = False) -> Classifier:
    """The classifier the configuration asks for, loaded once per process (the model takes
    seconds to load and is read-only afterwards). Heavy imports happen only here. `worker`: for
    the long-running worker, whose encoder runs in a process of its own unless
    `classifier.encoder_process` is off (see inboxbot.classify.encoder_process); one-off
    commands keep it in their own process. `close_classifiers` ends such processes."""
    from inboxbot.classify.rules import RuleClassifier
    from inboxbot.errors import ConfigError

    c = settings.classifier
    lexicons = settings.prompts_dir / "lexicon"
    own_process = worker and c.encoder_process
    key = (c.kind, str(lexicons), str(c.model_path), str(c.head_path), str(c.review_threshold), c.runtime,
           str(c.threads), str(own_process))
    if key in _LOADED:
        return _LOADED[key]
    classifier: Classifier
    if c.kind == "rules":
        classifier = RuleClassifier(lexicons, review_threshold=c.review_threshold)
    else:
        if not (c.model_path / "config.json").is_file():
            raise ConfigError(
                f"classifier.model_path: no encoder at {c.model_path}; build it with "
                "`python scripts/build_encoder.py` (scripts/setup.sh does), or set "
                'classifier.kind = "rules"'
            )
        if not c.head_path.is_file():
            raise ConfigError(f"classifier.head_path: no trained head at {c.head_path}; "
                              "train one with `python scripts/train_classifier.py`")
        try:
            from inboxbot.classify.model import load_model_classifier
        except ImportError as exc:
            raise ConfigError(f'classifier.kind = "model" needs its runtime ({exc}); '
                              'install with scripts/setup.sh, or set classifier.kind = "rules"') from None
        classifier = load_model_classifier(c.model_path, c.head_path, lexicons, c.review_threshold,
                                           c.runtime, c.threads, own_process=own_process)
    _LOADED[key] = classifier
    return classifier


def close_classifiers() -> None:
    """End the encoder processes of the classifiers loaded so far (they load again on demand)."""
    for key, classifier in list(_LOADED.items()):
        close = getattr(classifier, "close", None)
        if close is not None:
            close()
            del _LOADED[key]
