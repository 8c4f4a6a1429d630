"""The learned classifier: rules in front, a multilingual encoder plus a trained head behind.

Rules decide what rules do best and say why: automated mail (headers), one-word unsubscribe
replies. Everything else is embedded by the encoder (multilingual-e5-small through transformers)
and scored by a logistic head trained on the embeddings and the rules' own phrase scores, so the
lexicons still count where they are precise and the model covers the phrasings they miss.

Calibration: the head's probabilities are per intent. An intent is taken when its probability
reaches ACCEPT (0.5); when none does, or the best is below the review threshold, the message is
`general` with `needs_review`, and the candidates are listed in the reasons for the DPO. So an
erasure the model is unsure of is never acted on as if certain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from inboxbot.classify.head import LinearHead
from inboxbot.classify.rules import ONEWORD_CONFIDENCE, RuleClassifier
from inboxbot.domain import Inbound, Intent, IntentScore, Verdict

ACCEPT = 0.5
RULE_SECTIONS: tuple[str, ...] = tuple(i.value for i in Intent if i != Intent.AUTO_REPLY) + ("breach",)
MAX_CHARS = 600  # subject and the first lines carry the intent; more only costs time


class Embedder(Protocol):
    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def model_text(msg: Inbound) -> str:
    """What the encoder reads: the subject and the start of the new text."""
    body = " ".join(msg.body.split())
    return f"{msg.subject.strip()}\n{body}"[:MAX_CHARS]


def features(embedder: Embedder, rules: RuleClassifier, messages: Sequence[Inbound]) -> np.ndarray:
    """Embedding and rule scores side by side: (messages, dim + len(RULE_SECTIONS))."""
    emb = embedder.embed([model_text(m) for m in messages])
    scores = np.array([[rules.intent_scores(m).get(s, 0.0) for s in RULE_SECTIONS] for m in messages],
                      dtype=np.float32).reshape(len(messages), len(RULE_SECTIONS))
    return np.hstack([emb, scores])


class ModelClassifier:
    def __init__(self, rules: RuleClassifier, embedder: Embedder, head: LinearHead,
                 review_threshold: float = 0.55) -> None:
        self.rules = rules
        self.embedder = embedder
        self.head = head
        self.threshold = review_threshold

    def classify(self, messages: Sequence[Inbound]) -> list[Verdict]:
        verdicts = self.rules.classify(messages)
        todo = [i for i, v in enumerate(verdicts) if not self._rules_suffice(v)]
        if todo:
            probs = self.head.predict_proba(features(self.embedder, self.rules, [messages[i] for i in todo]))
            for row, i in zip(probs, todo):
                verdicts[i] = self._verdict(row, verdicts[i])
        return verdicts

    @staticmethod
    def _rules_suffice(v: Verdict) -> bool:
        return v.automated or (v.label == Intent.UNSUBSCRIBE and v.confidence >= ONEWORD_CONFIDENCE
                               and len(v.intents) == 1)

    def _verdict(self, probs: np.ndarray, rules_verdict: Verdict) -> Verdict:
        ranked = sorted(zip(self.head.labels, probs.tolist()), key=lambda lp: -lp[1])
        accepted = [(lab, p) for lab, p in ranked if p >= ACCEPT]
        top_label, top_p = ranked[0]
        model_reason = "model: " + ", ".join(f"{lab} {p:.2f}" for lab, p in ranked[:3])
        rule_reasons = tuple(r for r in rules_verdict.reasons if r.startswith(("lexicon", "reference")))
        if not accepted or top_p < self.threshold:
            intents = (IntentScore(Intent.GENERAL, round(top_p, 3), "model unsure"),)
            return replace(rules_verdict, label=Intent.GENERAL, confidence=round(top_p, 3), intents=intents,
                           needs_review=True, reasons=("model unsure: " + model_reason,) + rule_reasons)
        intents = tuple(IntentScore(Intent(lab), round(p, 3), "model") for lab, p in accepted)
        if len(intents) > 1:  # general beside a real request adds nothing
            intents = tuple(s for s in intents if s.intent != Intent.GENERAL) or intents
        label = intents[0]
        return replace(rules_verdict, label=label.intent, confidence=label.confidence, intents=intents,
                       needs_review=False, reasons=(model_reason,) + rule_reasons)


def load_model_classifier(model_path: Path, head_path: Path, lexicon_dir: Path,
                          review_threshold: float) -> ModelClassifier:
    from inboxbot.classify.encoder import Encoder

    head = LinearHead.load(head_path)
    encoder = Encoder.load(model_path, max_tokens=int(head.meta.get("max_tokens", "64")))
    return ModelClassifier(RuleClassifier(lexicon_dir, review_threshold), encoder, head, review_threshold)
