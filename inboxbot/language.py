"""Which EU language a message is written in: py3langid plus a stop-word vote.

py3langid is good on paragraphs but short texts fool it, and it mixes up Swedish, Danish and
Norwegian. Requests are often one line ("Radera mina uppgifter tack"), so a small vote over
words that only one of those languages (or English) uses settles the close cases.
"""

from __future__ import annotations

import re
import threading
from typing import Any

# The languages we answer in. py3langid labels Norwegian "no" (Bokmål) and "nn" (Nynorsk).
LANGUAGES: tuple[str, ...] = ("sv", "en", "de", "fr", "es", "it", "nl", "da", "no", "fi", "pl", "pt")
_MODEL_LABELS: tuple[str, ...] = LANGUAGES + ("nn",)
_ALIASES: dict[str, str] = {"nb": "no", "nn": "no"}
UNDETERMINED = "und"

# Common words that mark one of the four languages py3langid confuses on short texts. A word
# listed under two languages counts for neither, so only the telling ones vote.
STOP_WORDS: dict[str, frozenset[str]] = {
    "sv": frozenset(
        "jag och inte mina mitt min mig att är det vill radera uppgifter tack hej för av på "
        "med som om har kan vänligen ni er ert också från till någon några nu eller vad hur "
        "personuppgifter ta bort skulle få ut alla era hos behandlar utdrag önskar begär "
        "hälsningar mvh snälla sluta skicka mejl e-post ändra rätta".split()
    ),
    "da": frozenset(
        "jeg og ikke mine mit min mig at er det vil slet slette oplysninger tak hej for af på "
        "med som om har kan venligst i jer også fra til nogen nogle nu eller hvad hvordan "
        "personoplysninger fjern skulle få alle hos behandler ønsker anmoder hilsen "
        "stop send e-mail ændre ret mere af".split()
    ),
    "no": frozenset(
        "jeg og ikke mine mitt min meg at er det vil slett slette opplysninger takk hei for av "
        "på med som om har kan vennligst dere også fra til noen nå eller hva hvordan "
        "personopplysninger fjern skulle få alle hos behandler ønsker ber hilsen "
        "stopp send e-post endre rett mer".split()
    ),
    "en": frozenset(
        "i my the and of please delete remove personal information you your "
        "would like want is are have not this that with for about all request stop "
        "send email emails thanks thank hi hello can could what which".split()
    ),
}
_VOTE_LANGS = tuple(STOP_WORDS)
_DISTINCT: dict[str, frozenset[str]] = {
    lang: words - frozenset().union(*(w for other, w in STOP_WORDS.items() if other != lang))
    for lang, words in STOP_WORDS.items()
}

# Texts shorter than this are mostly decided by the vote; longer ones mostly by the model.
_SHORT_CHARS = 160
_MAX_CHARS = 4000  # the model's answer does not change after a few paragraphs
_MIN_LETTERS = 3

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)?")
_NOISE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")

_identifier: Any = None
_lock = threading.Lock()


def _model() -> Any:
    """The py3langid identifier, loaded once (about half a second) on first use."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                ident.set_languages(list(_MODEL_LABELS))
                _identifier = ident
    return _identifier


def load_in_background() -> None:
    """Start loading the identifier in a thread, so that a worker's first message does not wait
    for it (it loads while the store and the classifier are opened; the first detect_language
    then waits only for what is left). Harmless when it is loaded already or loading."""
    if _identifier is None:
        threading.Thread(target=_model, name="language-model-load", daemon=True).start()


def _model_scores(text: str) -> dict[str, float]:
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for label, prob in _model().rank(text):
        lang = _ALIASES.get(label, label)
        if lang in scores:
            scores[lang] += float(prob)
    return scores


def _votes(words: list[str]) -> dict[str, int]:
    return {lang: sum(1 for w in words if w in _DISTINCT[lang]) for lang in _VOTE_LANGS}


def detect_language(text: str, *, hint: str | None = None) -> str:
    """ISO 639-1 code of `text` among LANGUAGES, or "und" when there is too little to tell.

    `hint` (a Content-Language value, the language of an earlier message in the thread) is
    returned when the text itself says nothing, and tips the balance in a close call.
    """
    hint_lang = _ALIASES.get((hint or "").strip().lower()[:2], (hint or "").strip().lower()[:2])
    hint_lang = hint_lang if hint_lang in LANGUAGES else ""
    clean = _NOISE.sub(" ", text[:_MAX_CHARS]).lower()
    words = _WORD.findall(clean)
    if sum(len(w) for w in words) < _MIN_LETTERS:
        return hint_lang or UNDETERMINED

    scores = _model_scores(_NOISE.sub(" ", text[:_MAX_CHARS]))
    votes = _votes(words)
    total_votes = sum(votes.values())
    if total_votes:
        # Each telling word moves the score by its share of the text, so one stray "me" in a
        # Spanish paragraph barely counts while "Radera mina uppgifter" counts in full. On a
        # long text the model is reliable and the vote only separates close Scandinavian calls.
        weight = 1.0 if len(clean) < _SHORT_CHARS else 0.5
        for lang, n in votes.items():
            scores[lang] += weight * n / len(words)
    if hint_lang:
        scores[hint_lang] += 0.05
    best = max(scores, key=lambda lang: scores[lang])
    return best
