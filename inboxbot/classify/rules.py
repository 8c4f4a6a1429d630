"""RuleClassifier: automated-mail checks first, then the editable phrase lexicons.

How confidence is computed (so a DPO can predict it):

1. Automated mail (see automated.py) is `auto_reply` at 0.98, or 0.85 when only words said so
   (an out-of-office subject or text, a delivery-failure subject), no header or structure.
2. Otherwise every lexicon phrase found in "subject + new body" is a hit with its tier weight
   (strong 0.85, medium 0.6, weak 0.35). A negated hit ("I do NOT want my account deleted") keeps a
   quarter of its weight. Hits that overlap the same words count once (the heaviest).
3. An intent's score is the noisy-OR of its hits, 1 - (1 - w1)(1 - w2)..., capped at 0.97: one strong
   phrase gives 0.85, a strong and a weak one 0.90, a lone weak one 0.35, two weak ones 0.58.
4. The label is the highest score; within 0.1 of it, rights win over complaint, unsubscribe and
   general, since rights carry legal deadlines. Other intents join `intents` when they reach 0.5, i.e. at least one
   medium phrase or two weak ones, so a passing word does not add an intent. `general` is dropped
   when anything else was found. Verdict.confidence is the label's score.
5. A body that is only an unsubscribe word ("stop", "avregistrera", "baja") scores 0.95.
6. Nothing found: `general` at 0.2. Anything below `review_threshold` is flagged `needs_review`.

The detected language's lexicon is tried first; when it yields no hit of medium weight or more (or
the language is "und" or has no lexicon), every lexicon is tried, since language detection on a
two-line message is unreliable and people mix English into their own language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from inboxbot.classify.automated import AutomatedDetector, from_words_only
from inboxbot.classify.lexicon import BREACH, Hit, Lexicon, load_lexicons, normalise
from inboxbot.domain import Inbound, Intent, IntentScore, Verdict

AUTOMATED_CONFIDENCE = 0.98
SUBJECT_ONLY_AUTOMATED_CONFIDENCE = 0.85
SCORE_CAP = 0.97
LABEL_FLOOR = 0.3
SECONDARY_FLOOR = 0.5
LABEL_TIE = 0.1
BREACH_THRESHOLD = 0.55
ONEWORD_CONFIDENCE = 0.95
NO_MATCH_CONFIDENCE = 0.2
REFERENCE_REASON = "reference in subject"

# Tie-break order: rights first (they run on the legal clock), then the rest.
PRIORITY: tuple[Intent, ...] = (
    Intent.ERASURE,
    Intent.ACCESS,
    Intent.OBJECTION,
    Intent.CONSENT_WITHDRAWAL,
    Intent.RESTRICTION,
    Intent.PORTABILITY,
    Intent.RECTIFICATION,
    Intent.COMPLAINT,
    Intent.UNSUBSCRIBE,
    Intent.GENERAL,
)
REFERENCE = re.compile(r"\b[A-Z][A-Z0-9]{1,11}-\d{4}-\d{3,8}\b")
_REPLY_PREFIX = re.compile(r"^\s*((re|sv|aw|wg|fw|fwd|vs|tr|rv|odp|res|antw)\s*(\[\d+\])?\s*:\s*)+", re.I)
_MAX_REASONS = 8


def find_reference(subject: str) -> str | None:
    """A ticket reference such as PRIV-2026-000123 in a subject: a follow-up hint."""
    match = REFERENCE.search(subject)
    return match.group(0) if match else None


def _score(hits: list[Hit]) -> tuple[float, list[Hit]]:
    """Noisy-OR of the hits, the heaviest of any overlapping ones counted once."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: -h.weight):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    miss = 1.0
    for hit in kept:
        miss *= 1.0 - hit.weight
    return min(SCORE_CAP, 1.0 - miss), kept


# What the rules make of one message: their verdict and the raw lexicon scores it came from.
Reading = tuple[Verdict, dict[str, float]]


class RuleClassifier:
    """The Classifier protocol over automated.py and the lexicons in `lexicon_dir`; a
    ReadsAhead classifier whose second step has nothing left to do."""

    def __init__(self, lexicon_dir: Path, review_threshold: float = 0.55) -> None:
        self._lexicons: dict[str, Lexicon] = load_lexicons(lexicon_dir)
        self._automated_detector = AutomatedDetector(self._lexicons)
        self._threshold = review_threshold

    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]:
        """One Verdict per message, in order."""
        return [self.classify_one(msg) for msg in messages]

    def read(self, messages: Sequence[Inbound]) -> list[Reading]:
        return [self.classify_scored(msg) for msg in messages]

    def classify_read(self, messages: Sequence[Inbound], readings: Sequence[Reading]) -> list[Verdict]:
        return [verdict for verdict, _ in readings]

    def classify_one(self, msg: Inbound) -> Verdict:
        """Classify one message; see the module docstring for how confidence is reached."""
        return self.classify_scored(msg)[0]

    def classify_scored(self, msg: Inbound) -> Reading:
        """The verdict and the raw lexicon scores it came from (empty for automated mail):
        the learned classifier uses both, and the lexicons are the costly part, so once."""
        auto = self._automated_detector.reasons(msg)
        if auto:
            return self._automated(msg, auto), {}
        scores, described, hits = self._analyse(msg)
        raw_scores = dict(scores)
        breach_score = scores.pop(BREACH, 0.0)
        breach = breach_score >= BREACH_THRESHOLD
        intents = [
            IntentScore(i, round(scores[i.value], 3), described[i.value][0])
            for i in self._rank(scores)
        ]
        if intents:
            label, confidence = intents[0].intent, intents[0].confidence
        else:
            label = Intent.GENERAL
            confidence = breach_score if breach else NO_MATCH_CONFIDENCE
            why = "breach reported, no request" if breach else "no lexicon match"
            intents = [IntentScore(Intent.GENERAL, round(confidence, 3), why)]
            described.setdefault("general", []).insert(0, why)
        # reasons: the label's phrases first, then the other intents', then the rest (negated, weak)
        order = [s.intent.value for s in intents] + [BREACH] + sorted(described)
        reasons = list(dict.fromkeys(r for sec in order for r in described.get(sec, [])))
        reasons = reasons[:_MAX_REASONS]
        reference = find_reference(msg.subject)
        if reference:
            reasons.append(f"{REFERENCE_REASON}: {reference}")
        return Verdict(
            label=label,
            confidence=round(confidence, 3),
            intents=tuple(intents),
            automated=False,
            language=self._language(msg.language, hits),
            reasons=tuple(reasons),
            needs_review=confidence < self._threshold,
            breach_reported=breach,
        ), raw_scores

    def intent_scores(self, msg: Inbound) -> dict[str, float]:
        """Raw lexicon score per section (intents and "breach"), before ranking: the rule
        features the learned head is trained on."""
        return self._analyse(msg)[0]

    def _analyse(self, msg: Inbound) -> tuple[dict[str, float], dict[str, list[str]], list[Hit]]:
        subject = _REPLY_PREFIX.sub("", msg.subject)
        text = normalise(f"{subject}\n\n{msg.body}")
        hits = self._hits(text, msg.language)
        by_section: dict[str, list[Hit]] = {}
        for hit in hits:
            by_section.setdefault(hit.section, []).append(hit)
        scores: dict[str, float] = {}
        described: dict[str, list[str]] = {}
        for section, group in by_section.items():
            scores[section], kept = _score(group)
            described[section] = self._describe(kept)
        oneword = self._oneword(msg.body if msg.body.strip() else subject)
        if oneword is not None:
            lang, word = oneword
            scores["unsubscribe"] = max(scores.get("unsubscribe", 0.0), ONEWORD_CONFIDENCE)
            described["unsubscribe"] = [f"lexicon {lang} unsubscribe_oneword: '{word}'"]
        return scores, described, hits

    def _automated(self, msg: Inbound, reasons: list[str]) -> Verdict:
        words_only = from_words_only(reasons)  # no header or structure: subject or body words
        confidence = SUBJECT_ONLY_AUTOMATED_CONFIDENCE if words_only else AUTOMATED_CONFIDENCE
        return Verdict(
            label=Intent.AUTO_REPLY,
            confidence=confidence,
            intents=(IntentScore(Intent.AUTO_REPLY, confidence, reasons[0]),),
            automated=True,
            language=msg.language,
            reasons=tuple(reasons),
        )

    def _hits(self, text: str, language: str) -> list[Hit]:
        first = self._lexicons.get(language)
        hits = first.find(text) if first is not None else []
        if any(h.weight >= 0.6 and not h.negated for h in hits):
            return hits
        for lang, lexicon in self._lexicons.items():
            if lexicon is not first:
                hits.extend(lexicon.find(text))
        return hits

    def _oneword(self, text: str) -> tuple[str, str] | None:
        norm = normalise(text)
        for lang, lexicon in self._lexicons.items():
            word = lexicon.is_oneword(norm)
            if word is not None:
                return lang, word
        return None

    @staticmethod
    def _rank(scores: dict[str, float]) -> list[Intent]:
        """The label (highest score) and the other intents strong enough to stand beside it."""
        ranked = sorted(
            (Intent(s) for s, v in scores.items() if v >= LABEL_FLOOR),
            key=lambda i: (-scores[i.value], PRIORITY.index(i)),
        )
        keep = ranked[:1] + [i for i in ranked[1:] if scores[i.value] >= SECONDARY_FLOOR]
        if len(keep) > 1:
            keep = [i for i in keep if i is not Intent.GENERAL]
        # a near-tie goes to the intent with the legal clock: "delete my data and stop the
        # newsletter" is an erasure request first, whichever phrase happened to score higher
        if keep:
            top = scores[keep[0].value]
            label = min((i for i in keep if scores[i.value] >= top - LABEL_TIE), key=PRIORITY.index)
            keep = [label] + [i for i in keep if i is not label]
        return keep

    @staticmethod
    def _describe(hits: list[Hit]) -> list[str]:
        return [
            f"lexicon {h.language} {h.section}: '{h.text}'" + (" negated" if h.negated else "")
            for h in hits
        ]

    @staticmethod
    def _language(detected: str, hits: list[Hit]) -> str:
        if detected != "und":
            return detected
        positive = [h for h in hits if not h.negated]
        return max(positive, key=lambda h: h.weight).language if positive else "und"
