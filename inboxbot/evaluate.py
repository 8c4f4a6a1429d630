"""Measure a classifier on a labelled corpus: per-intent precision/recall/F1, per-language
accuracy, automated-mail precision/recall, a confusion matrix and throughput.

How a prediction counts: the predicted label is right when it is one of the message's gold
labels (a letter asking for erasure and an end to the newsletter is rightly "erasure" or
"unsubscribe"); for the per-intent figures a right label is credited to itself, a wrong one is
a false positive for the predicted intent and a false negative for the gold main intent.

Mail flagged for review is labelled `general` and counted as such above, so an unsure erasure
letter is a miss (it was not handled as an erasure) and a false `general`. The report also gives
general's precision with flagged mail set aside (`review_fp`): the flag hands the letter to a
person rather than calling it general, so that figure says how often a confident "general" is
wrong, while the headline keeps the stricter count.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from inboxbot.classify import Classifier
from inboxbot.corpus import Example
from inboxbot.domain import Intent, Verdict

LABELS: tuple[str, ...] = tuple(i.value for i in Intent)


def _share(part: float, whole: float) -> float:
    """part / whole, and 0.0 where there is nothing to divide (no predictions, no gold)."""
    return part / whole if whole else 0.0


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    by_language: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    auto_tp: int = 0
    auto_fp: int = 0
    auto_fn: int = 0
    needs_review: int = 0
    review_fp: Counter[str] = field(default_factory=Counter)  # false positives flagged for review
    seconds: float = 0.0
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # id, gold, predicted
    # Intents beyond the label (a letter that asks for erasure and objects to marketing): counted
    # on letters whose label is right, so a wrong label is not counted twice.
    extra_tp: int = 0
    extra_fp: int = 0
    extra_fn: int = 0

    def f1(self, label: str) -> tuple[float, float, float]:
        tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
        p, r = _share(tp, tp + fp), _share(tp, tp + fn)
        return p, r, _share(2 * p * r, p + r)

    def decided_precision(self, label: str) -> float:
        """Precision of `label` with review-flagged mistakes set aside (see the module docstring)."""
        tp, fp = self.tp[label], self.fp[label] - self.review_fp[label]
        return _share(tp, tp + fp)

    @property
    def macro_f1(self) -> float:
        present = [lab for lab in LABELS if self.tp[lab] + self.fn[lab] > 0]
        return sum(self.f1(lab)[2] for lab in present) / len(present) if present else 0.0

    @property
    def extra_precision(self) -> float:
        return _share(self.extra_tp, self.extra_tp + self.extra_fp)

    @property
    def extra_recall(self) -> float:
        return _share(self.extra_tp, self.extra_tp + self.extra_fn)

    @property
    def accuracy(self) -> float:
        return _share(self.correct, self.total)

    @property
    def automated_precision(self) -> float:
        return _share(self.auto_tp, self.auto_tp + self.auto_fp)

    @property
    def automated_recall(self) -> float:
        return _share(self.auto_tp, self.auto_tp + self.auto_fn)


def evaluate(classifier: Classifier, examples: Sequence[Example], batch: int = 64) -> Report:
    start = time.perf_counter()
    verdicts: list[Verdict] = []
    for i in range(0, len(examples), batch):
        verdicts.extend(classifier.classify([e.message for e in examples[i:i + batch]]))
    return score(examples, verdicts, time.perf_counter() - start)


def score(examples: Sequence[Example], verdicts: Sequence[Verdict], seconds: float = 0.0) -> Report:
    """Compare verdicts with the gold labels (also used by the training script's cross-validation)."""
    report = Report(seconds=seconds)
    for ex, v in zip(examples, verdicts, strict=True):
        predicted = v.label.value
        gold_main = ex.labels[0]
        right = predicted in ex.labels
        report.total += 1
        report.correct += right
        lang = report.by_language[ex.lang]
        lang[0] += right
        lang[1] += 1
        report.needs_review += v.needs_review
        if right:
            report.tp[predicted] += 1
            report.confusion[(predicted, predicted)] += 1
            found = {i.intent.value for i in v.intents} - {predicted}
            wanted = set(ex.labels) - {predicted}
            report.extra_tp += len(found & wanted)
            report.extra_fp += len(found - wanted)
            report.extra_fn += len(wanted - found)
        else:
            report.fp[predicted] += 1
            report.review_fp[predicted] += v.needs_review
            report.fn[gold_main] += 1
            report.confusion[(gold_main, predicted)] += 1
            report.errors.append((ex.id, ",".join(ex.labels), predicted))
        if v.automated and ex.automated:
            report.auto_tp += 1
        elif v.automated:
            report.auto_fp += 1
        elif ex.automated:
            report.auto_fn += 1
    return report


def format_report(report: Report, title: str) -> str:
    lines = [f"# {title}", "",
             f"messages {report.total}, accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}, "
             f"needs review {report.needs_review}",
             f"flagged for review and not general letters: {report.review_fp['general']}; "
             f"general precision without them {report.decided_precision('general'):.3f}",
             f"automated mail: precision {report.automated_precision:.3f}, recall {report.automated_recall:.3f} "
             f"(tp {report.auto_tp}, fp {report.auto_fp}, fn {report.auto_fn})",
             f"second intents (on letters labelled right): precision {report.extra_precision:.3f}, "
             f"recall {report.extra_recall:.3f} (tp {report.extra_tp}, fp {report.extra_fp}, "
             f"fn {report.extra_fn})",
             f"throughput: {report.total / report.seconds:.1f} messages/s" if report.seconds else "", "",
             f"{'intent':<20} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}"]
    for label in LABELS:
        n = report.tp[label] + report.fn[label]
        if n == 0 and report.fp[label] == 0:
            continue
        p, r, f = report.f1(label)
        lines.append(f"{label:<20} {p:>6.3f} {r:>6.3f} {f:>6.3f} {n:>5}")
    lines += ["", f"{'language':<10} {'accuracy':>8} {'n':>5}"]
    for lang in sorted(report.by_language):
        ok, n = report.by_language[lang]
        lines.append(f"{lang:<10} {ok / n:>8.3f} {n:>5}")
    present = [lab for lab in LABELS if any(lab in pair for pair in report.confusion)]
    short = {lab: lab[:5] for lab in present}
    lines += ["", "confusion (rows gold, columns predicted)",
              " " * 20 + "".join(f"{short[c]:>6}" for c in present)]
    for g in present:
        lines.append(f"{g:<20}" + "".join(f"{report.confusion[(g, c)] or '.':>6}" for c in present))
    return "\n".join(lines)


def format_errors(report: Report) -> str:
    """The misclassified messages, one line each (`--errors`)."""
    return "\n".join(["", "misclassified (id, gold, predicted):",
                      *("  " + "  ".join(row) for row in report.errors)])
