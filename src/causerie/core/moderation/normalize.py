"""From what a reader typed to the tokens a word list is matched against.

The pipeline, per character then per token:

1. NFKC (full-width letters, ligatures), casefold, accents stripped (NFKD without
   combining marks), a few letters NFKD leaves alone (œ, æ, ø, ł…) and the Cyrillic
   and Greek look-alikes of Latin letters folded to Latin; zero-width characters
   and soft hyphens dropped. Every folded character remembers where it came from,
   so a match can be reported (and masked) as a span of the original text.
2. Tokens are runs of letters, digits and the symbols people use as letters
   (``@ $ € ! | * +``). Symbols at either end of a token are punctuation
   (``*connard*``, ``con!``); inside, they are leetspeak (``s@lope``) or, for ``*``,
   a wildcard (``f*ck``).
3. Leetspeak is read only in tokens that hold a letter: ``c0nnard`` is ``connard``,
   ``2024`` stays ``2024``. Ambiguous symbols give several spellings (``1`` is i or l).
4. Runs of three or more single characters separated by spaces or dots are one
   word (``c o n n a r d``, ``f.d.p``).
5. A token stretched by a run of three or more identical letters (``connnnard``) is
   also compared with its letters deduplicated; so are long words (see ``collapse``).

Pure and total: any string folds and tokenizes without raising.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

_EXTRA_FOLD: Final[dict[str, str]] = {
    "œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ŀ": "l", "ı": "i",
    "þ": "th", "ħ": "h", "ŧ": "t",
    "’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'",
    # Cyrillic and Greek letters that look Latin: the homoglyphs of evasion
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w",
}  # fmt: skip
_DROPPED: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")

#: Symbols read as letters inside a word; the first spelling is the usual one.
LEET: Final[dict[str, tuple[str, ...]]] = {
    "0": ("o",), "1": ("i", "l"), "3": ("e",), "4": ("a",), "5": ("s",), "6": ("g",),
    "7": ("t",), "8": ("b",), "9": ("g",), "@": ("a",), "$": ("s",), "€": ("e",),
    "!": ("i", "l"), "|": ("l", "i"), "+": ("t",),
}  # fmt: skip
_SYMBOLS: Final = "@$€!|*+"
_TOKEN: Final = re.compile(r"(?:[^\W_]|[@$€!|*+])+")
_SINGLE_GAP: Final = re.compile(r"[\s.\-_/·•,:~']{1,3}")
_WILDCARD_MIN_LETTERS: Final = 2
_REPEATS: Final = re.compile(r"(.)\1+")
_DOUBLE: Final = re.compile(r"(.)\1")
_STRETCH: Final = re.compile(r"(.)\1\1")
_STRETCHED_RUN: Final = re.compile(r"(.)\1\1+")
_MAX_SPELLINGS: Final = 4


@lru_cache(maxsize=8192)
def fold_char(char: str) -> str:
    """One character folded (may be empty, or several characters: œ → oe)."""
    if char in _DROPPED:
        return ""
    out: list[str] = []
    for part in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char).casefold()):
        if unicodedata.combining(part):
            continue
        out.append(_EXTRA_FOLD.get(part, part))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Folded:
    """Folded text, and for each of its characters the index it came from."""

    text: str
    origin: tuple[int, ...]  # len(text) + 1 entries: the last one is len(original)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of folded[start:end]."""
        return self.origin[start], self.origin[end - 1] + 1 if end > start else self.origin[start]


def fold(text: str) -> Folded:
    if text.isascii():  # the common case: one lower-case character per character
        return Folded(text.lower(), tuple(range(len(text) + 1)))
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char.lower() if char.isascii() else fold_char(char)
        chars.append(folded)
        origin.extend([index] * len(folded))
    origin.append(len(text))
    return Folded("".join(chars), tuple(origin))


def fold_plain(text: str) -> str:
    """Just the folded text (for word lists and comparisons)."""
    if text.isascii():
        return text.lower()
    return "".join(char.lower() if char.isascii() else fold_char(char) for char in text)


def collapse(word: str) -> str:
    """Runs of one letter reduced to one: connnnard, connard → conard."""
    if _DOUBLE.search(word) is None:  # most words: nothing to collapse, one quick scan
        return word
    return _REPEATS.sub(_first_letter, word)


def _first_letter(match: re.Match[str]) -> str:
    return match.group(1)


def is_stretched(word: str) -> bool:
    """Holds a run of three identical letters (no French or English word does)."""
    return _STRETCH.search(word) is not None


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the message: its possible spellings and its span in the original text."""

    spellings: tuple[str, ...]
    start: int
    end: int
    folded_start: int = 0
    folded_end: int = 0

    @property
    def plain(self) -> str:
        return self.spellings[0]


def _spellings(core: str) -> tuple[str, ...]:
    if core.isdigit():
        return (core,)
    if core.isalpha():
        return _unstretched(core) if _STRETCH.search(core) else (core,)
    if not any(char.isalpha() for char in core):
        return (core,)
    spellings = [""]
    for char in core:
        options = LEET.get(char, (char,))
        spellings = [prefix + option for prefix in spellings for option in options]
        del spellings[_MAX_SPELLINGS:]
    first = spellings[0]
    if _STRETCH.search(first):  # a$$$hole, fuuuuck
        spellings[1:1] = _unstretched(first)[1:]
        del spellings[_MAX_SPELLINGS:]
    return tuple(dict.fromkeys(spellings))


def _unstretched(word: str) -> tuple[str, ...]:
    """A stretched word (``fuuuuck``, ``connnnard``) and the words it may stand for:
    runs of three or more letters read as two letters, then as one (phrases compare
    spellings exactly: ``fuuuuck you`` is ``fuck you``)."""
    double = _STRETCHED_RUN.sub(r"\1\1", word)
    return tuple(dict.fromkeys((word, _STRETCHED_RUN.sub(r"\1", word), double)))


def tokenize(folded: Folded) -> list[Token]:
    """The tokens of a folded text, with spaced-out words (c o n n a r d) joined."""
    return _join_singles(raw_tokens(folded), folded.text)


def is_single(token: Token) -> bool:
    """A token that may be one letter of a spaced-out word ("c", "ccc")."""
    return len(set(token.plain)) == 1 and token.folded_end - token.folded_start <= 5


def raw_tokens(folded: Folded) -> list[Token]:
    """The tokens of a folded text, spaced-out words not joined yet."""
    tokens: list[Token] = []
    text = folded.text
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        while start < end and text[start] in _SYMBOLS:
            start += 1
        while end > start and text[end - 1] in _SYMBOLS:
            end -= 1
        if start == end:
            continue
        if start > match.start() and text[match.start()] in "$@" and text[start].isalpha():
            start -= 1  # $alope, @ssh0le: a leading $ or @ is a letter
        begin, finish = folded.span(start, end)
        tokens.append(Token(_spellings(text[start:end]), begin, finish, start, end))
    return tokens


def _join_singles(tokens: list[Token], text: str) -> list[Token]:
    out: list[Token] = []
    run: list[Token] = []

    def flush() -> None:
        if len(run) >= 3:
            word = "".join(token.plain[0] for token in run)
            if any(char.isalpha() for char in word):  # c 0 n n a r d
                word = "".join(LEET.get(char, (char,))[0] for char in word)
            out.append(
                Token((word,), run[0].start, run[-1].end, run[0].folded_start, run[-1].folded_end)
            )
        else:
            out.extend(run)
        run.clear()

    for token in tokens:
        if is_single(token):  # "c", "ccc"
            if run and not _SINGLE_GAP.fullmatch(text, run[-1].folded_end, token.folded_start):
                flush()
            run.append(token)
        else:
            flush()
            out.append(token)
    flush()
    return out


def wildcard_pattern(spelling: str) -> re.Pattern[str] | None:
    """``f*ck`` → a pattern where each ``*`` stands for one letter, or None if too vague."""
    if "*" not in spelling or sum(char.isalpha() for char in spelling) < _WILDCARD_MIN_LETTERS:
        return None
    return re.compile("".join("[a-z]" if char == "*" else re.escape(char) for char in spelling))
