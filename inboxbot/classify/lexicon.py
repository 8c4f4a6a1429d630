"""Intent phrase lists a DPO can read and edit: one TOML file per language in prompts/lexicon/.

File format (see prompts/lexicon/en.toml for a full example)::

    language = "en"                      # must equal the file name (en.toml)

    [negation]
    cues = ["not", "never", "\\w*n't"]   # a cue shortly before a phrase weakens it
    breaks = ["but", "instead"]          # a new clause starts here; cues before it do not count

    [erasure]                            # any Intent except auto_reply, or "breach"
    strong = ["delete my account", ...]  # weight 0.85: one is enough for a confident label
    medium = [...]                       # weight 0.6
    weak = [...]                         # weight 0.35: suggestive, never enough on its own
    # an entry may also be an inline table: { pattern = "...", weight = 0.7 }

    [unsubscribe_oneword]                # a body that is only one of these is an unsubscribe
    words = ["unsubscribe", "stop"]
    polite = ["please", "thanks"]        # may surround the word without changing anything

    [out_of_office]                      # read by automated.py, not scored as an intent
    subject = ["out of office", ...]     # markers that open an auto-reply's subject
    declaration = ["this is an automatic reply", ...]  # the mail says it is a machine's
    absence = ["i am out of the office {words}until", ...]  # the writer is away (till a date)
    notice = ["no access to (my )?e-?mail", ...]  # auto-reply boilerplate: not forwarded, urgent
    request = ["please delete", ...]     # a person asking for something: vetoes a weak OOO signal

In `[out_of_office]` patterns, `{words}` stands for up to six words of any kind ("until 28.08.",
"bis einschließlich 28.08."), so a phrase reads like the sentence it matches.

Phrases are Python regular expressions, matched case-insensitively on whole words against the
subject and new body text, after whitespace is collapsed (so line wrapping does not matter).
Loading compiles every pattern once and raises LexiconError naming the file and key on any fault.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inboxbot.domain import Intent
from inboxbot.errors import ConfigError

TIER_WEIGHTS: dict[str, float] = {"strong": 0.85, "medium": 0.6, "weak": 0.35}
BREACH = "breach"
INTENT_SECTIONS = frozenset(i.value for i in Intent if i is not Intent.AUTO_REPLY) | {BREACH}
OUT_OF_OFFICE = "out_of_office"
OOO_KINDS: tuple[str, ...] = ("subject", "declaration", "absence", "notice", "request")
_SPECIAL = frozenset({"negation", "unsubscribe_oneword", OUT_OF_OFFICE})
_WORDS = "(?:\\S+ ){0,6}?"  # what "{words}" stands for in an out_of_office pattern
_NEGATION_WINDOW = 60  # characters before a phrase searched for a negation cue
_NEGATION_WORDS = 5  # ... of which only the last few words count


class LexiconError(ConfigError):
    """A lexicon file is malformed; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Phrase:
    section: str  # an Intent value or "breach"
    weight: float
    source: str  # the pattern as written, for messages
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase found in a text."""

    language: str
    section: str
    weight: float  # the phrase's weight, already reduced when negated
    text: str  # the words matched, lower-cased
    negated: bool
    start: int  # where in the normalised text, so overlapping hits are not counted twice
    end: int


@dataclass(frozen=True, slots=True)
class OooPhrase:
    """One `[out_of_office]` pattern: `kind` is one of OOO_KINDS."""

    language: str
    kind: str
    source: str  # the pattern as written, for messages
    pattern: str  # the pattern with {words} expanded, not yet fenced to whole words
    regex: re.Pattern[str]  # the pattern fenced to whole words, compiled


@dataclass(frozen=True, slots=True)
class Lexicon:
    language: str
    phrases: tuple[Phrase, ...]
    negation: re.Pattern[str] | None
    breaks: re.Pattern[str] | None
    oneword: frozenset[str]
    polite: frozenset[str]
    out_of_office: tuple[OooPhrase, ...] = ()
    # Searching for every phrase on its own was most of the rules' time. One alternation per
    # run of PHRASE_GROUP phrases tells which runs need searching phrase by phrase: a text holds
    # few phrases of its own language and mostly none of the others' (the rules try every
    # lexicon when the message's own finds nothing strong), and one group's search costs about
    # what one phrase's does. A group is None where its phrases cannot be joined (_any_of).
    phrase_groups: tuple[tuple[re.Pattern[str] | None, int, int], ...] = field(
        default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.phrase_groups:
            runs = range(0, len(self.phrases), PHRASE_GROUP)
            object.__setattr__(self, "phrase_groups", tuple(
                (_any_of(self.phrases[i:i + PHRASE_GROUP]), i, i + PHRASE_GROUP) for i in runs))

    def find(self, text: str) -> list[Hit]:
        """Every phrase in `text` (already normalised), one hit per phrase: the first unnegated one."""
        hits: list[Hit] = []
        for group, start, end in self.phrase_groups:
            if group is not None and group.search(text) is None:
                continue  # none of these phrases matches
            for phrase in self.phrases[start:end]:
                best = self._first(phrase, text)
                if best is not None:
                    hits.append(best)
        return hits

    def _first(self, phrase: Phrase, text: str) -> Hit | None:
        """The phrase's first unnegated match in `text`, else its last negated one."""
        best: Hit | None = None
        for m in phrase.regex.finditer(text):
            negated = self._negated(text, m.start(), m.end())
            weight = phrase.weight * (NEGATED_FACTOR if negated else 1.0)
            best = Hit(
                self.language, phrase.section, weight, m.group(0)[:60], negated, m.start(), m.end()
            )
            if not negated:
                break
        return best

    def _negated(self, text: str, start: int, end: int) -> bool:
        if self.negation is None:
            return False
        before = text[max(0, start - _NEGATION_WINDOW) : start]
        # only the current clause counts: cut at punctuation or a clause word like "but"
        before = re.split(r"[.!?;:,\n]", before)[-1]
        if self.breaks is not None:
            before = self.breaks.split(before)[-1]
        # and only the last few words: "if I don't hear back within a week I will complain"
        before = " ".join(before.split()[-_NEGATION_WORDS:])
        if self.negation.search(before):
            return True
        # verb-second languages negate right after the verb: "radera inte", "löschen Sie nicht"
        word = re.match(r" (\S+)", text[end : end + 24])
        return word is not None and self.negation.fullmatch(word.group(1)) is not None

    def is_oneword(self, text: str) -> str | None:
        """The unsubscribe word when `text` says nothing but it (polite words aside)."""
        words = re.sub(r"[^\w\s'-]", " ", text).split()
        if not words or len(words) > 6:
            return None
        core = " ".join(w for w in words if w not in self.polite)
        return core if core in self.oneword else None


_FENCE = (r"(?<!\w)(?:", r")(?!\w)")  # how _compile wraps a phrase to whole words
PHRASE_GROUP = 16  # phrases per group in Lexicon.find (8 to 32 do about as well)


def _any_of(phrases: tuple[Phrase, ...]) -> re.Pattern[str] | None:
    """One pattern that matches where any of `phrases` matches, or None where that cannot be
    promised. The phrases share the whole-word fence, so it is put once around their
    alternation (which lets the engine skip ahead to where a phrase can start); backtracking
    tries every alternative, and the fence after each, at every position, so the alternation
    matches exactly where one phrase does. Numbered or named groups would change meaning when
    the patterns are joined: such lexicons get no shortcut."""
    if not phrases or any(p.regex.flags != phrases[0].regex.flags for p in phrases):
        return None
    inner = []
    for p in phrases:
        pattern = p.regex.pattern
        if not (pattern.startswith(_FENCE[0]) and pattern.endswith(_FENCE[1])):
            return None
        inner.append(pattern[len(_FENCE[0]):-len(_FENCE[1])])
    if any(re.search(r"\\\d|\(\?P|\(\?\(|\\g<", p) for p in inner):
        return None
    try:
        return re.compile(_FENCE[0] + "|".join(f"(?:{p})" for p in inner) + _FENCE[1],
                          phrases[0].regex.flags)
    except re.error:
        return None


NEGATED_FACTOR = 0.25  # a negated phrase keeps a quarter of its weight: seen, but not believed


def normalise(text: str) -> str:
    """Lower-case, unify apostrophes, keep paragraph breaks as sentence ends, collapse spaces."""
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\n[ \t]*\n", " . ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def _fail(path: Path, key: str, why: str) -> LexiconError:
    return LexiconError(f"{path.name}: [{key}] {why}")


def _compile(path: Path, key: str, pattern: str, *, whole_words: bool = True) -> re.Pattern[str]:
    wrapped = rf"(?<!\w)(?:{pattern})(?!\w)" if whole_words else pattern
    try:
        return re.compile(wrapped, re.IGNORECASE)
    except re.error as exc:
        raise _fail(path, key, f"bad regular expression {pattern!r}: {exc}") from None


def _alternation(path: Path, key: str, items: Any) -> re.Pattern[str] | None:
    if not items:
        return None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise _fail(path, key, "expected a list of strings")
    return _compile(path, key, "|".join(f"(?:{i})" for i in items))


def _phrases(path: Path, section: str, table: Any) -> list[Phrase]:
    if not isinstance(table, dict):
        raise _fail(path, section, "expected a table with strong/medium/weak lists")
    out: list[Phrase] = []
    for tier, entries in table.items():
        key = f"{section}.{tier}"
        if tier not in TIER_WEIGHTS:
            raise _fail(path, key, f"unknown tier; expected one of {sorted(TIER_WEIGHTS)}")
        if not isinstance(entries, list):
            raise _fail(path, key, "expected a list")
        for i, entry in enumerate(entries):
            weight = TIER_WEIGHTS[tier]
            if isinstance(entry, dict):
                pattern, weight = entry.get("pattern"), entry.get("weight", weight)
                if not isinstance(weight, (int, float)) or not 0 < weight < 1:
                    raise _fail(path, f"{key}[{i}]", "weight must be a number between 0 and 1")
            else:
                pattern = entry
            if not isinstance(pattern, str) or not pattern.strip():
                raise _fail(path, f"{key}[{i}]", "expected a non-empty pattern string")
            out.append(Phrase(section, float(weight), pattern, _compile(path, key, pattern)))
    return out


def _out_of_office(path: Path, language: str, table: Any) -> tuple[OooPhrase, ...]:
    if not isinstance(table, dict):
        raise _fail(path, OUT_OF_OFFICE, f"expected a table with lists {list(OOO_KINDS)}")
    out: list[OooPhrase] = []
    for kind, items in table.items():
        key = f"{OUT_OF_OFFICE}.{kind}"
        if kind not in OOO_KINDS:
            raise _fail(path, key, f"unknown list; expected one of {list(OOO_KINDS)}")
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise _fail(path, key, "expected a list of non-empty strings")
        for pattern in items:
            expanded = pattern.replace("{words}", _WORDS)
            out.append(OooPhrase(language, kind, pattern, expanded, _compile(path, key, expanded)))
    return tuple(out)


def load_lexicon(path: Path) -> Lexicon:
    """Read, validate and compile one language file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LexiconError(f"{path.name}: cannot read: {exc}") from None
    language = data.pop("language", None)
    if language != path.stem:
        raise _fail(path, "language", f"must be {path.stem!r} (the file name), got {language!r}")
    negation = data.pop("negation", {})
    oneword = data.pop("unsubscribe_oneword", {})
    ooo = _out_of_office(path, str(language), data.pop(OUT_OF_OFFICE, {}))
    phrases: list[Phrase] = []
    for section, table in data.items():
        if section not in INTENT_SECTIONS:
            allowed = sorted(INTENT_SECTIONS | _SPECIAL)
            raise _fail(path, section, f"unknown section; expected one of {allowed}")
        phrases.extend(_phrases(path, section, table))
    words = oneword.get("words", [])
    polite = oneword.get("polite", [])
    for key, items in (("words", words), ("polite", polite)):
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _fail(path, f"unsubscribe_oneword.{key}", "expected a list of strings")
    return Lexicon(
        language=language,
        phrases=tuple(phrases),
        negation=_alternation(path, "negation.cues", negation.get("cues")),
        breaks=_alternation(path, "negation.breaks", negation.get("breaks")),
        oneword=frozenset(normalise(w) for w in words),
        polite=frozenset(word for p in polite for word in normalise(p).split()),
        out_of_office=ooo,
    )


# Loaded lexicons by their files' identity. A worker loads the same directory twice (the rules,
# and the automated-mail detector that tells bounces apart), and compiling some thousand
# patterns costs a fifth of a second each time. Lexicons are immutable, so one load can serve
# both; files whose names or contents differ are loaded anew.
_LOADED: dict[tuple[tuple[str, bytes], ...], dict[str, Lexicon]] = {}


def load_lexicons(directory: Path) -> dict[str, Lexicon]:
    """Every `{lang}.toml` in `directory`, by language code."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise LexiconError(f"{directory}: no lexicon files (*.toml)")
    key = tuple((str(f.resolve()), hashlib.sha256(f.read_bytes()).digest()) for f in files)
    loaded = _LOADED.get(key)
    if loaded is None:
        loaded = {lex.language: lex for lex in map(load_lexicon, files)}
        if len(_LOADED) >= 8:
            _LOADED.clear()
        _LOADED[key] = loaded
    return dict(loaded)
