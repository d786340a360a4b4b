"""Word lists, as data: how an entry is written, and the indexes built from them.

A list is text, one entry a line; ``#`` starts a comment. An entry is:

- a word: ``connard`` (matched as a whole token, after folding: accents, case and
  leetspeak do not matter, so ``enculé`` is written once);
- a stem: ``encul*`` (any token that starts with it: enculé, enculés, enculeur);
- a phrase: ``ferme ta gueule`` (consecutive tokens). In a phrase, ``a|b`` is a choice
  of words (one word each: a choice never holds a space), ``?a|b`` an optional word,
  ``...`` lets up to two other words sit there (not a negation: "je ne vais *pas* te
  tuer" is not "je vais te tuer"), apostrophes and hyphens separate words (``t'es`` is
  ``t es``), and a word may be a stem. A phrase that starts with ``^`` must open the
  message or a clause (after , ; : . ! ?): ``^ va crever`` is an order, "il va crever
  de faim" is not; one that ends with ``$`` must close it: "I'll find you." is a
  threat, "I'll find you the link" is not. A phrase followed by a negation (``pas``,
  ``jamais``, ``not``) does not match: "je te tue pas"; nor one right after a negation:
  "we can't *let them drown*".
- a set name, in a phrase: ``@groupes`` stands for every word of the set (``sets.txt``:
  lines ``@groupes juifs musulmans roms…``), so that one phrase covers every group:
  ``@groupes ... sont ... @animaux``.

Marker lists (``markers.txt``) take a window after the phrase: ``t es 3`` means "a
targeted word up to 3 tokens after *t es*". A marker aims only the targeted words of
its own language (the folder of both files): the French *t'es en retard* does not aim
the English *retard*. Lists outside a language folder aim and are aimed by all.

The caller reads the files (``causerie.moderation_data``); this module only parses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Generic, TypeVar

from causerie.core.moderation.normalize import collapse, fold_plain

P = TypeVar("P")

GAP: Final = "..."
OPEN: Final = "^"
OPTIONAL: Final = "?"
CLOSE: Final = "$"
MAX_GAP: Final = 2
#: Words that may not fill a ``...`` gap: they turn a threat into its negation.
NEGATIONS: Final = frozenset(
    {"pas", "ne", "n", "jamais", "not", "never", "dont", "don", "won", "wont", "t", "no", "nt"}
)
_STRETCHED: Final = re.compile(r"(.)\1\1")
_COLLAPSE_MIN: Final = 5  # below this, deduplicated letters collide with ordinary words


class Category(StrEnum):
    """What a message was found to hold. The first five are "toxic"."""

    INSULT = "insult"
    HARASSMENT = "harassment"
    THREAT = "threat"
    HATE = "hate"
    SEXUAL = "sexual"
    SPAM = "spam"
    PERSONAL_DATA = "personal_data"


TOXIC: Final = frozenset(
    {Category.INSULT, Category.HARASSMENT, Category.THREAT, Category.HATE, Category.SEXUAL}
)


def parse_list(text: str) -> tuple[str, ...]:
    """The entries of a list file: stripped lines, without comments and blank lines."""
    entries: list[str] = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """All the word lists, parsed. Built by the caller from data files; merged with ``+``.

    ``terms``: per toxic category, words, stems and phrases that are toxic wherever
    they appear. ``targeted``: insults only when aimed at a person (idiot, stupid),
    i.e. after a ``markers`` phrase. ``allow``: words that never match (Scunthorpe).
    ``bait`` and ``calls``: spam vocabulary (money, crypto…) and calls to action.
    ``domains``: link domains allowed (with their subdomains); ``blocked_domains``:
    domains that make a message spam (URL shorteners, invitation links). ``sets``:
    named sets of words for phrases (``@groupes juifs musulmans``).
    ``mild``: insults that a joke softens (``nul``, ``muppet``): a message whose only
    toxic findings are mild insults is allowed when it also holds a ``jokes`` entry (a
    word such as ``mdr``, or a symbol such as ``😂``, matched anywhere).
    ``targeted_langs`` and ``markers_langs``: the language of each targeted word and
    marker, in order ("" or missing: any language).
    """

    terms: Mapping[Category, tuple[str, ...]] = field(default_factory=dict)
    targeted: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    bait: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    mild: tuple[str, ...] = ()
    jokes: tuple[str, ...] = ()
    targeted_langs: tuple[str, ...] = ()
    markers_langs: tuple[str, ...] = ()

    def __add__(self, other: Lexicon) -> Lexicon:
        terms = {cat: self.terms.get(cat, ()) + other.terms.get(cat, ()) for cat in Category}
        return Lexicon(
            terms={cat: entries for cat, entries in terms.items() if entries},
            targeted=self.targeted + other.targeted,
            markers=self.markers + other.markers,
            targeted_langs=_langs(self.targeted, self.targeted_langs)
            + _langs(other.targeted, other.targeted_langs),
            markers_langs=_langs(self.markers, self.markers_langs)
            + _langs(other.markers, other.markers_langs),
            sets=self.sets + other.sets,
            allow=self.allow + other.allow,
            bait=self.bait + other.bait,
            calls=self.calls + other.calls,
            domains=self.domains + other.domains,
            blocked_domains=self.blocked_domains + other.blocked_domains,
            mild=self.mild + other.mild,
            jokes=self.jokes + other.jokes,
        )

    @classmethod
    def from_files(cls, files: Mapping[str, str]) -> Lexicon:
        """A lexicon from list files by name: ``{"fr/insult.txt": text, "allow.txt": …}``.

        The name's last part says what the list is (``insult``, ``harassment``,
        ``threat``, ``hate``, ``sexual``, ``targeted``, ``markers``, ``allow``, ``bait``,
        ``calls``, ``domains``, ``blocked_domains``, ``sets``, ``mild``, ``jokes``);
        the folder, if any, is
        the language (it matters to ``targeted`` and ``markers``).
        Unknown names raise ValueError, so that a misspelt publisher file is not
        silently ignored.
        """
        terms: dict[Category, list[str]] = {}
        other: dict[str, list[str]] = {}
        langs: dict[str, list[str]] = {"targeted": [], "markers": []}
        for name, text in sorted(files.items()):
            parts = name.replace("\\", "/").rsplit("/", 1)
            kind = parts[-1].removesuffix(".txt")
            lang = parts[0].rsplit("/", 1)[-1] if len(parts) > 1 else ""
            entries = parse_list(text)
            if kind in _TOXIC_FILES:
                terms.setdefault(Category(kind), []).extend(entries)
            elif kind in _OTHER_FILES:
                other.setdefault(kind, []).extend(entries)
                if kind in langs:
                    langs[kind].extend([lang] * len(entries))
            else:
                raise ValueError(f"unknown word list {name!r}")
        return cls(
            terms={cat: tuple(entries) for cat, entries in terms.items()},
            targeted_langs=tuple(langs["targeted"]),
            markers_langs=tuple(langs["markers"]),
            **{kind: tuple(entries) for kind, entries in other.items()},
        )

    def with_langs(self, kind: str) -> list[tuple[str, str]]:
        """(entry, language) of the ``targeted`` or ``markers`` list."""
        entries: tuple[str, ...] = getattr(self, kind)
        return list(zip(entries, _langs(entries, getattr(self, f"{kind}_langs")), strict=True))

    def expander(self) -> Callable[[str], str]:
        """A function that writes an entry's ``@set`` names as their words (``a|b|c``).
        ValueError names an entry that uses an unknown set."""
        words: dict[str, list[str]] = {}
        for line in self.sets:
            name, *members = line.split()
            if not name.startswith("@") or len(name) < 2:
                raise ValueError(f"a set line starts with @name: {line!r}")
            words.setdefault(name[1:].casefold(), []).extend(
                member for item in members for member in item.split("|") if member
            )
        choices = {name: "|".join(dict.fromkeys(members)) for name, members in words.items()}

        def expand(entry: str) -> str:
            if "@" not in entry:
                return entry

            def one(match: re.Match[str]) -> str:
                name = match.group(1).casefold()
                if name not in choices:
                    raise ValueError(f"unknown set @{match.group(1)} in {entry!r}")
                return choices[name]

            return _SET_NAME.sub(one, entry)

        return expand


def _langs(entries: tuple[str, ...], langs: tuple[str, ...]) -> tuple[str, ...]:
    """One language per entry: those given, then "" (any) for the rest."""
    return langs[: len(entries)] + ("",) * (len(entries) - len(langs))


_SET_NAME: Final = re.compile(r"(?<![\w@])@(\w+)")


_TOXIC_FILES: Final = frozenset(category.value for category in TOXIC)
_OTHER_FILES: Final = frozenset(
    {
        "targeted", "markers", "allow", "bait", "calls", "domains", "blocked_domains", "sets",
        "mild", "jokes",
    }
)  # fmt: skip


# --- compiled indexes ----------------------------------------------------------------------


def entry_words(entry: str) -> list[str]:
    """An entry split into folded words (apostrophes and hyphens separate words)."""
    return re.sub(r"['’\-]", " ", fold_plain(entry)).split()


@dataclass(frozen=True, slots=True)
class Step:
    """One word of a phrase: its choices, its stems, how many words may precede it, and
    whether it may be left out (``?des|tous``)."""

    words: frozenset[str]
    stems: tuple[str, ...]
    gap: int
    optional: bool = False

    def accepts(self, spellings: Iterable[str]) -> bool:
        words, stems = self.words, self.stems
        for spelling in spellings:  # a loop: cheaper than any() on one or two spellings
            if spelling in words or (stems and spelling.startswith(stems)):
                return True
        return False


def _step(item: str, gap: int) -> Step:
    optional = item.startswith(OPTIONAL)
    choices = [choice for choice in item.removeprefix(OPTIONAL).split("|") if choice]
    words = frozenset(choice for choice in choices if not choice.endswith("*"))
    stems = tuple(choice[:-1] for choice in choices if choice.endswith("*") and len(choice) > 1)
    return Step(words, stems, gap, optional)


@dataclass(frozen=True, slots=True)
class Phrase(Generic[P]):
    steps: tuple[Step, ...]
    entry: str
    payload: P
    anchored: bool = False  # must open the message or a clause
    closed: bool = False  # must close the message or a clause


def parse_phrase(entry: str, payload: P) -> Phrase[P] | None:
    """A phrase entry compiled, or None if it holds no word."""
    steps: list[Step] = []
    gap = 0
    words = entry_words(entry)
    anchored = bool(words) and words[0] == OPEN
    closed = len(words) > anchored and words[-1] == CLOSE
    for item in words[anchored : len(words) - closed]:
        if item == GAP:
            gap = MAX_GAP
            continue
        if not steps:
            item = item.removeprefix(OPTIONAL)  # the first word is the phrase's key
        steps.append(_step(item, gap if steps else 0))
        gap = 0
    return Phrase(tuple(steps), entry, payload, anchored, closed) if steps else None


class WordIndex(Generic[P]):
    """Words, stems and phrases with a payload each (a category, a marker window…)."""

    def __init__(self, entries: Iterable[tuple[str, P]]) -> None:
        self.words: dict[str, tuple[str, P]] = {}
        self.collapsed: dict[str, tuple[str, P]] = {}
        self.stems: dict[str, tuple[str, P]] = {}
        self.stem_lengths: tuple[int, ...] = ()
        self.collapsed_stems: dict[str, tuple[str, P]] = {}
        collapsed_lengths: set[int] = set()
        self.phrases: dict[str, list[Phrase[P]]] = {}
        self.stem_phrases: list[Phrase[P]] = []
        lengths: set[int] = set()
        for entry, payload in entries:
            words = entry_words(entry)
            if len(words) == 1 and "|" not in words[0] and words[0] not in (GAP, OPEN, CLOSE):
                word = words[0]
                if word.endswith("*"):
                    if len(word) > 2:
                        self.stems.setdefault(word[:-1], (entry, payload))
                        lengths.add(len(word) - 1)
                        squeezed = collapse(word[:-1])
                        self.collapsed_stems.setdefault(squeezed, (entry, payload))
                        collapsed_lengths.add(len(squeezed))
                else:
                    self.words.setdefault(word, (entry, payload))
                    self.collapsed.setdefault(collapse(word), (entry, payload))
                continue
            phrase = parse_phrase(entry, payload)
            if phrase is None:
                continue
            first = phrase.steps[0]
            if first.stems:
                self.stem_phrases.append(phrase)
            for word in first.words:
                self.phrases.setdefault(word, []).append(phrase)
        self.stem_lengths = tuple(sorted(lengths))
        self.collapsed_stem_lengths = tuple(sorted(collapsed_lengths))

    def word(self, spelling: str) -> tuple[str, P] | None:
        """The entry a single token spelling matches: a word, a stem, then the same with
        repeated letters deduplicated (stretched tokens, or long enough not to collide)."""
        hit = self.words.get(spelling)
        if hit is not None:
            return hit
        hit = self._stem(spelling)
        if hit is not None:
            return hit
        stretched = _STRETCHED.search(spelling) is not None
        if len(spelling) >= _COLLAPSE_MIN or stretched:
            squeezed = collapse(spelling)
            hit = self.collapsed.get(squeezed)
            if hit is not None and (len(squeezed) >= _COLLAPSE_MIN - 1 or stretched):
                return hit
            if stretched:
                return self._stem(squeezed, self.collapsed_stems, self.collapsed_stem_lengths)
        return None

    def _stem(
        self,
        spelling: str,
        stems: dict[str, tuple[str, P]] | None = None,
        lengths: tuple[int, ...] | None = None,
    ) -> tuple[str, P] | None:
        stems = self.stems if stems is None else stems
        for length in self.stem_lengths if lengths is None else lengths:
            if length > len(spelling):
                break
            hit = stems.get(spelling[:length])
            if hit is not None:
                return hit
        return None

    def vocabulary(self) -> set[str]:
        """Every plain word of the index (words and phrase words), for wildcards."""
        words = set(self.words) | set(self.stems)
        for phrases in (self.phrases.values(), [self.stem_phrases]):
            for group in phrases:
                for phrase in group:
                    for step in phrase.steps:
                        words.update(step.words)
        return words

    def phrases_from(self, spellings: Sequence[str]) -> list[Phrase[P]]:
        found: list[Phrase[P]] = []
        for spelling in spellings:
            found.extend(self.phrases.get(spelling, ()))
        found.extend(p for p in self.stem_phrases if p.steps[0].accepts(spellings))
        return found
