"""evaluate.score(): how verdicts are counted against gold labels (shared by `inboxbot eval` and
the training script's cross-validation)."""

from __future__ import annotations

import pytest

from inboxbot.corpus import Example
from inboxbot.domain import Intent, IntentScore, Verdict
from inboxbot.evaluate import score
from tests.helpers_inbound import make_inbound


def _example(eid: str, lang: str, labels: tuple[str, ...], automated: bool = False) -> Example:
    return Example(eid, lang, labels, "heldout", automated, make_inbound("text"))


def _verdict(label: Intent, *, automated: bool = False, review: bool = False) -> Verdict:
    return Verdict(label, 0.9, (IntentScore(label, 0.9, "test"),), automated, "sv", (), review)


def test_a_second_gold_label_counts_as_right_and_misses_go_to_the_main_intent() -> None:
    examples = [
        _example("sv-erasure-001", "sv", ("erasure", "unsubscribe")),
        _example("sv-complaint-001", "sv", ("complaint",)),
        _example("fi-access-001", "fi", ("access",)),
        _example("automated/x.eml", "en", ("auto_reply",), automated=True),
    ]
    verdicts = [
        _verdict(Intent.UNSUBSCRIBE),
        _verdict(Intent.GENERAL, review=True),
        _verdict(Intent.ACCESS),
        _verdict(Intent.AUTO_REPLY, automated=True),
    ]
    report = score(examples, verdicts)
    assert report.total == 4 and report.correct == 3
    assert report.tp["unsubscribe"] == 1 and report.fn["complaint"] == 1 and report.fp["general"] == 1
    assert report.by_language["sv"] == [1, 2] and report.by_language["fi"] == [1, 1]
    assert report.needs_review == 1 and report.review_fp["general"] == 1
    assert report.f1("general")[0] == 0.0 and report.decided_precision("general") == 0.0  # no tp either way
    assert (report.automated_precision, report.automated_recall) == (1.0, 1.0)
    assert report.errors == [("sv-complaint-001", "complaint", "general")]
    assert report.f1("complaint") == (0.0, 0.0, 0.0)


def test_verdicts_must_match_examples_one_to_one() -> None:
    with pytest.raises(ValueError):
        score([_example("sv-access-001", "sv", ("access",))], [])


def test_review_flagged_mistakes_are_set_aside_only_in_decided_precision() -> None:
    examples = [
        _example("sv-general-001", "sv", ("general",)),
        _example("sv-erasure-002", "sv", ("erasure",)),
        _example("sv-access-003", "sv", ("access",)),
    ]
    verdicts = [_verdict(Intent.GENERAL), _verdict(Intent.GENERAL, review=True), _verdict(Intent.GENERAL)]
    report = score(examples, verdicts)
    assert report.f1("general")[0] == pytest.approx(1 / 3)
    assert report.decided_precision("general") == pytest.approx(1 / 2)  # the unflagged miss still counts
    assert report.fn["erasure"] == 1 and report.review_fp["general"] == 1


def test_second_intents_are_counted_only_on_letters_whose_label_is_right() -> None:
    examples = [
        _example("sv-erasure-001", "sv", ("erasure", "unsubscribe")),  # second found
        _example("sv-erasure-002", "sv", ("erasure", "objection")),  # second missed, a wrong one added
        _example("sv-access-003", "sv", ("access", "rectification")),  # label wrong: not counted here
    ]
    both = Verdict(Intent.ERASURE, 0.9, (IntentScore(Intent.ERASURE, 0.9, "t"),
                                         IntentScore(Intent.UNSUBSCRIBE, 0.7, "t")), False, "sv", (), False)
    wrong_extra = Verdict(Intent.ERASURE, 0.9, (IntentScore(Intent.ERASURE, 0.9, "t"),
                                                IntentScore(Intent.COMPLAINT, 0.7, "t")), False, "sv", (), False)
    report = score(examples, [both, wrong_extra, _verdict(Intent.PORTABILITY)])
    assert (report.extra_tp, report.extra_fp, report.extra_fn) == (1, 1, 1)
    assert report.extra_precision == 0.5 and report.extra_recall == 0.5
