"""The moderation policy: what a message holds, and what the site does about it.

``Policy.check(text, context=…, history=…)`` runs, in order:

1. the word lists (insults, harassment, threats, hate, sexual solicitation) on the
   folded tokens (``normalize``), with words aimed at a person (``idiot``) counted only
   after a second-person marker (``t'es``, ``you're``, ``espèce de``);
2. the spam rules: links to domains neither allowed nor the site's, blocked domains
   (shorteners, invitation links), money or crypto bait with a call to action or a
   contact, the same message again and again (``history``);
3. personal data: phone numbers, e-mail addresses, social handles;
4. the site's classifier, if any, with a threshold per category;

then picks the most severe action among the categories found (per context, from the
site's ``PolicyConfig``), masks the spans whose action is MASK, and says why.

Pure: no I/O, no clock, no randomness. Deterministic: the same text, context and
history always give the same verdict. Cost: linear in the text, well under a
millisecond for a chat message; every list is compiled once, in ``Policy()``.
Failure modes: a classifier that raises is the caller's fault (its exception goes
through); an unknown language is passed to the classifier as is (the word lists hold
both languages and are always all applied).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import chain, islice
from types import MappingProxyType
from typing import Final, Generic, NamedTuple, Protocol, TypeVar

from causerie.core.moderation.lexicon import (
    NEGATIONS,
    TOXIC,
    Category,
    Lexicon,
    Phrase,
    Step,
    WordIndex,
    entry_words,
)
from causerie.core.moderation.normalize import (
    Token,
    fold,
    fold_plain,
    is_single,
    raw_tokens,
    tokenize,
    wildcard_pattern,
)


class Action(StrEnum):
    """What happens to a message, least severe first."""

    ALLOW = "allow"  # delivered or published as is
    MASK = "mask"  # delivered with the offending spans replaced
    HOLD = "hold"  # comments: kept for a moderator (in the chat: same as refuse)
    REFUSE = "refuse"  # not delivered; the author is told why


SEVERITY: Final = {Action.ALLOW: 0, Action.MASK: 1, Action.HOLD: 2, Action.REFUSE: 3}


class Context(StrEnum):
    CHAT = "chat"
    COMMENT = "comment"


class Reason(StrEnum):
    """Stable codes of a verdict that is not a plain ALLOW (sent to the author)."""

    INSULT = "moderation_insult"
    HARASSMENT = "moderation_harassment"
    THREAT = "moderation_threat"
    HATE = "moderation_hate"
    SEXUAL = "moderation_sexual"
    SPAM = "moderation_spam"
    PERSONAL_DATA = "moderation_personal_data"
    PREMODERATION = "moderation_premoderation"


MESSAGES: Final[Mapping[Reason, tuple[str, str]]] = MappingProxyType({
    Reason.INSULT: (
        "Votre message contient une insulte. Vous pouvez être en désaccord sans viser "
        "personne : reformulez-le.",
        "Your message contains an insult. You can disagree without attacking anyone: "
        "please rephrase it.",
    ),
    Reason.HARASSMENT: (
        "Votre message s'en prend à une personne. Ce n'est pas accepté ici.",
        "Your message goes after a person. That is not accepted here.",
    ),
    Reason.THREAT: (
        "Votre message contient une menace. Ce n'est pas accepté ici.",
        "Your message contains a threat. That is not accepted here.",
    ),
    Reason.HATE: (
        "Votre message contient des propos haineux ou discriminatoires.",
        "Your message contains hateful or discriminatory language.",
    ),
    Reason.SEXUAL: (
        "Les sollicitations sexuelles ne sont pas acceptées ici.",
        "Sexual solicitation is not accepted here.",
    ),
    Reason.SPAM: (
        "Votre message ressemble à du spam (lien inconnu, publicité ou message répété).",
        "Your message looks like spam (unknown link, advertising or repeated message).",
    ),
    Reason.PERSONAL_DATA: (
        "Par prudence, les coordonnées (téléphone, e-mail, pseudo de réseau social) ont "
        "été masquées : ne les donnez pas à un inconnu.",
        "For your safety, contact details (phone, e-mail, social media handle) were "
        "masked: don't give them to a stranger.",
    ),
    Reason.PREMODERATION: (
        "Votre commentaire sera publié après relecture par la modération.",
        "Your comment will be published once a moderator has read it.",
    ),
})  # fmt: skip

_A, _M, _H, _R = Action.ALLOW, Action.MASK, Action.HOLD, Action.REFUSE
DEFAULT_CHAT_ACTIONS: Final[Mapping[Category, Action]] = MappingProxyType({
    Category.INSULT: _R, Category.HARASSMENT: _R, Category.THREAT: _R, Category.HATE: _R,
    Category.SEXUAL: _R, Category.SPAM: _R, Category.PERSONAL_DATA: _M,
})  # fmt: skip
DEFAULT_COMMENT_ACTIONS: Final[Mapping[Category, Action]] = MappingProxyType({
    Category.INSULT: _R, Category.HARASSMENT: _R, Category.THREAT: _H, Category.HATE: _H,
    Category.SEXUAL: _R, Category.SPAM: _H, Category.PERSONAL_DATA: _M,
})  # fmt: skip
#: When two categories call for the same action, the reason given is the first here.
PRIORITY: Final = (
    Category.THREAT, Category.HATE, Category.HARASSMENT, Category.SEXUAL, Category.INSULT,
    Category.SPAM, Category.PERSONAL_DATA,
)  # fmt: skip


class Classifier(Protocol):
    """A site's own offline model, consulted after the rules on every message.

    Contract: ``scores`` returns, for the categories it knows, a probability-like
    score in [0, 1]; a category it omits counts as 0. It must be pure from the
    policy's point of view (same text, same scores), fast (it runs on the event
    loop: a few milliseconds at most) and must not fetch anything at run time:
    load the model when the site starts. ``lang`` is the language the message is
    believed to be in ("fr", "en", …), a hint only.
    """

    def scores(self, text: str, lang: str) -> Mapping[Category, float]: ...


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """A site's choices. ``site_domains``: link domains of the site itself (allowed,
    with their subdomains, besides the lexicon's ``domains``). ``repeat_limit``: a
    message equal or nearly equal to this many of the author's recent ones is spam.
    ``thresholds``: a classifier score at or above which a category is found.
    ``veto``: when a classifier scores every toxic category it knows below this, a
    word-list finding of insult, harassment or sexual talk is dismissed (the model is
    sure the words are not aimed: "ta gueule le réveil", a quoted insult); hate and
    threats never are. 0 turns it off; without a classifier it does nothing."""

    chat_actions: Mapping[Category, Action] = field(default_factory=lambda: DEFAULT_CHAT_ACTIONS)
    comment_actions: Mapping[Category, Action] = field(
        default_factory=lambda: DEFAULT_COMMENT_ACTIONS
    )
    premoderation: bool = False
    site_domains: tuple[str, ...] = ()
    repeat_limit: int = 2
    thresholds: Mapping[Category, float] = field(default_factory=dict)
    veto: float = 0.1
    mask: str = "[masqué]"

    def action(self, context: Context, category: Category) -> Action:
        actions = self.chat_actions if context is Context.CHAT else self.comment_actions
        return actions.get(category, Action.ALLOW)


def parse_actions(
    text: str, base: PolicyConfig | None = None
) -> tuple[dict[Category, Action], dict[Category, Action]]:
    """Per-category actions from a publisher's ``actions.txt``: lines of
    ``context category action`` (``chat insult refuse``, ``comment spam hold``).
    Returns (chat, comment) actions, starting from ``base``'s. ValueError names the
    line of a malformed entry."""
    config = base or PolicyConfig()
    chat, comment = dict(config.chat_actions), dict(config.comment_actions)
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            context_name, category_name, action_name = fields
            context, category = Context(context_name), Category(category_name)
            action = Action(action_name)
        except ValueError as exc:
            raise ValueError(
                f"line {number}: expected 'chat|comment CATEGORY allow|mask|hold|refuse'"
            ) from exc
        (chat if context is Context.CHAT else comment)[category] = action
    return chat, comment


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason for a category: the list entry or rule that matched, and where."""

    category: Category
    term: str  # a list entry ("connard"), or a rule: "link:example.xyz", "repeat", "phone"…
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a message. ``text`` is what may be delivered (masked spans
    replaced); ``reason`` is None for a plain ALLOW."""

    action: Action
    findings: tuple[Finding, ...]
    text: str
    reason: Reason | None

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(finding.category for finding in self.findings)

    @property
    def toxic(self) -> bool:
        return not self.categories.isdisjoint(TOXIC)

    @property
    def message_fr(self) -> str:
        return MESSAGES[self.reason][0] if self.reason else ""

    @property
    def message_en(self) -> str:
        return MESSAGES[self.reason][1] if self.reason else ""


# --- the rules -------------------------------------------------------------------------------

_TLDS: Final = (
    "com|net|org|fr|io|xyz|info|biz|me|co|ly|be|ch|ca|uk|de|eu|ru|top|click|link|site|online|"
    "shop|store|app|gg|tk|ml|ga|cf|us|tv|cc|pro|club|vip|live|win|bet|to|ee|gl|gd|gov|edu|news|"
    "blog|ai|es|it|nl|cn|su|pw|ws|icu|buzz|fun|loan|money|cash|casino|cam|xxx|sex|porn|"
    "work|rest|bar|monster|cfd|sbs|quest|lol|mom|cyou|review|download|racing|party|stream|"
    "men|gq|trade|website|today|host|market|finance|tech|space"
)
_SPAMMY_TLDS: Final = frozenset({
    "xyz", "top", "click", "link", "site", "online", "shop", "store", "tk", "ml", "ga", "cf",
    "vip", "win", "bet", "icu", "buzz", "fun", "loan", "money", "cash", "casino", "cam", "xxx",
    "sex", "porn", "pw", "ws", "su", "club", "biz", "work", "rest", "bar", "monster", "cfd",
    "sbs", "quest", "lol", "mom", "cyou", "review", "download", "racing", "party", "stream",
    "men", "gq", "trade", "website", "today", "host", "market", "finance", "space",
})  # fmt: skip
_URL: Final = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'`]+")
_BARE_DOMAIN: Final = re.compile(
    rf"(?i)(?<![\w@.\-/])((?:[a-z0-9](?:[a-z0-9\-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS}))"
    r"(?![\w\-])(/[^\s<>\"'`]*)?"
)
_EMAIL: Final = re.compile(r"(?i)[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}")
_EMAIL_SPELT: Final = re.compile(
    r"(?i)\b[\w.+\-]+\s*(?:\[at\]|\(at\)|\{at\}|\s+arobase\s+|\s+at\s+(?=\w+\s+dot\s))\s*"
    r"[\w\-]+\s*(?:\[dot\]|\(dot\)|\s+dot\s+|\s+point\s+)\s*(?:com|fr|net|org|be|ch|ca)\b"
)
_PHONE_FR: Final = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?33\s?(?:\(0\)\s?)?[1-9]|0[1-9])(?:[\s.\-]?\d{2}){4}(?![\d])"
)
_PHONE_INTL: Final = re.compile(r"(?<![\w+])(?:\+|00)[1-9][\d\s.\-()]{6,20}\d(?![\d])")
_PHONE_NANP: Final = re.compile(r"(?<![\w+])\(?\d{3}\)?[\s.\-]\d{3}[\s.\-]\d{4}(?!\d)")
_PLATFORM: Final = (
    r"insta(?:gram)?|ig|snap(?:chat)?|sc|telegram|whatsapp|wa|discord|tiktok|kik|signal|"
    r"wechat|skype|onlyfans|twitter|facebook|fb"
)
_HANDLE_AFTER_PLATFORM: Final = re.compile(
    rf"(?i)\b(?:{_PLATFORM})\b\s*(?:(?P<sep>[:=]|->|c'est|c’est|is)\s*)?(?P<handle>@?[\w.]{{3,30}})"
)
_MENTION: Final = re.compile(r"(?<![\w.@])@[A-Za-z_][\w.]{1,29}")
_MONEY: Final = re.compile(
    r"(?:\d[\d\s.,]*\s?(?:€|\$|£|euros?|dollars?|k€|usd|eur|gbp)|(?:€|\$|£)\s?\d[\d.,]*k?)"
    r"\s*(?:/|par|per|a|an|each|chaque|every|pour chaque|for every)\s*"
    r"(?:jour|day|semaine|week|heure|hour|h|mois|month|j|sondage|survey|clic|click|video)\b"
)


P = TypeVar("P")


class _Tag(NamedTuple):
    kind: str  # "term", "targeted", "bait" or "call"
    category: Category | None = None
    langs: frozenset[str] = frozenset()  # targeted: the languages of the word (empty: any)


class _Aim(NamedTuple):
    """A marker's payload: how many tokens after it it reaches, in which languages."""

    window: int
    langs: frozenset[str]


class _Match(NamedTuple):
    entry: str
    first: int  # token indexes, inclusive
    last: int


def _phrase_end(
    steps: Sequence[Step], tokens: Sequence[Token], step: int, position: int, gap: int = 0
) -> int | None:
    """The index of the last token of ``steps[step:]`` after ``position``, or None.

    Backtracks: in "envoie-moi une photo nue", "moi" and "une" may both start a gap;
    an optional step is tried, then left out (its gap then goes to the next step).
    A phrase has a handful of steps and a gap is two words at most: cheap."""
    if step == len(steps):
        return position
    wanted = steps[step]
    gap = max(gap, wanted.gap)
    for index in range(position + 1, min(position + 2 + gap, len(tokens))):
        if wanted.accepts(tokens[index].spellings):
            end = _phrase_end(steps, tokens, step + 1, index)
            if end is not None:
                return end
        if tokens[index].plain in NEGATIONS:
            return None
    if wanted.optional:
        return _phrase_end(steps, tokens, step + 1, position, gap)
    return None


_PAUSE: Final = re.compile(r"[,;:!?.…\n]")
_AFTER_NEGATIONS: Final = frozenset({"pas", "jamais", "not", "never"})


def _negated_after(text: str, tokens: Sequence[Token], end: int) -> bool:
    """A negation ("je te tue pas") right after the phrase, in the same clause: no match."""
    if end + 1 >= len(tokens) or tokens[end + 1].plain not in _AFTER_NEGATIONS:
        return False
    return not _PAUSE.search(text, tokens[end].end, tokens[end + 1].start)


_BEFORE_NEGATIONS: Final = frozenset({"pas", "jamais", "not", "never", "dont", "cant", "wont"})
#: "don't", "can't": an English negation is two tokens ("t" alone is the French "t'").
_NT: Final = frozenset({"don", "can", "won", "didn", "shouldn", "wouldn", "couldn", "mustn"})


def _negated_before(text: str, tokens: Sequence[Token], start: int) -> bool:
    """A negation right before the phrase, in the same clause ("on ne peut pas *les
    laisser se noyer*", "don't *let them drown*"): no match."""
    if start == 0:
        return False
    before = tokens[start - 1].plain
    if before not in _BEFORE_NEGATIONS and not (
        before == "t" and start > 1 and tokens[start - 2].plain in _NT
    ):
        return False
    return not _PAUSE.search(text, tokens[start - 1].end, tokens[start].start)


def _opens_clause(text: str, tokens: Sequence[Token], position: int) -> bool:
    if position == 0:
        return True
    return bool(_PAUSE.search(text, tokens[position - 1].end, tokens[position].start))


def _closes_clause(text: str, tokens: Sequence[Token], position: int) -> bool:
    if position == len(tokens) - 1:
        return True
    return bool(_PAUSE.search(text, tokens[position].end, tokens[position + 1].start))


def _by_entry(
    entries: Iterable[tuple[str, str]], expand: Callable[[str], str]
) -> dict[str, frozenset[str]]:
    """Entries with the languages they come from (a word in both lists: both; a list
    outside a language folder: any, the empty set)."""
    langs: dict[str, set[str]] = {}
    for entry, lang in entries:
        langs.setdefault(expand(entry), set()).add(lang)
    return {
        entry: frozenset() if "" in found else frozenset(found) for entry, found in langs.items()
    }


class _Compiled(Generic[P]):
    """An index and its matching over a token list."""

    def __init__(self, entries: Iterable[tuple[str, P]], allow: frozenset[str]) -> None:
        self.index: WordIndex[P] = WordIndex(entries)
        self.allow = allow
        self.starts: dict[tuple[str, ...], _Start[P] | None] = {}

    def start(self, spellings: tuple[str, ...]) -> _Start[P] | None:
        """The phrases that may start at a token of these spellings, by second word
        (memoized: a handful of first words start most phrases)."""
        if spellings in self.starts:
            return self.starts[spellings]
        phrases = self.index.phrases_from(spellings)
        start: _Start[P] | None = None
        if phrases:
            seconds: dict[str, list[tuple[int, Phrase[P]]]] = {}
            always: list[tuple[int, Phrase[P]]] = []
            for order, phrase in enumerate(phrases):
                if len(phrase.steps) < 2 or phrase.steps[1].stems or phrase.steps[1].optional:
                    always.append((order, phrase))
                if len(phrase.steps) >= 2:
                    for word in phrase.steps[1].words:
                        seconds.setdefault(word, []).append((order, phrase))
            start = _Start(
                {word: tuple(group) for word, group in seconds.items()},
                tuple(always),
                max(phrase.steps[1].gap if len(phrase.steps) > 1 else 0 for phrase in phrases),
                any(len(phrase.steps) < 2 for phrase in phrases),
            )
        if len(self.starts) >= _MAX_STARTS:
            self.starts.clear()
        self.starts[spellings] = start
        return start

    def candidates(self, tokens: Sequence[Token], position: int) -> list[Phrase[P]]:
        """The phrases that may match from ``position``: their second word follows
        within its gap (or they have no plain second word), in list order."""
        start = self.start(tokens[position].spellings)
        if start is None:
            return []
        found = list(start.always)
        for following in tokens[position + 1 : position + 2 + start.gap]:
            for spelling in following.spellings:
                found += start.seconds.get(spelling, ())
        if len(found) > 1:
            unique = dict(found)  # by rank: a phrase may follow from two second words
            return [unique[rank] for rank in sorted(unique)]
        return [phrase for _, phrase in found]

    def matches(
        self, tokens: Sequence[Token], *, join: bool = False, text: str = ""
    ) -> list[tuple[_Match, P]]:
        found: list[tuple[_Match, P]] = []
        index = self.index
        for position, token in enumerate(tokens):
            spellings = token.spellings
            if not self.allow.intersection(spellings):
                for spelling in spellings:
                    hit = index.word(spelling)
                    if hit is not None:
                        found.append((_Match(hit[0], position, position), hit[1]))
                        break
            for phrase in self.candidates(tokens, position):
                if phrase.anchored and not _opens_clause(text, tokens, position):
                    continue
                end = _phrase_end(phrase.steps, tokens, 1, position)
                if (
                    end is not None
                    and not _negated_after(text, tokens, end)
                    and not _negated_before(text, tokens, position)
                    and (not phrase.closed or _closes_clause(text, tokens, end))
                ):
                    found.append((_Match(phrase.entry, position, end), phrase.payload))
            if join and position + 1 < len(tokens):
                joined = token.plain + tokens[position + 1].plain
                single = len(token.plain) == 1 and len(tokens[position + 1].plain) == 1
                if (len(joined) >= 6 or single) and joined not in self.allow:
                    hit = index.words.get(joined)
                    if hit is not None:
                        found.append((_Match(hit[0], position, position + 1), hit[1]))
        return found


def _domain_in(host: str, domains: frozenset[str]) -> bool:
    labels = host.split(".")
    return any(".".join(labels[index:]) in domains for index in range(len(labels)))


def _by_classifier(finding: Finding) -> bool:
    return finding.term.startswith(CLASSIFIER_TERM)


def _has_alnum(entry: str) -> bool:
    return any(char.isalnum() for char in entry)


_TRAILING: Final = ".,;!?)]}»”’'\""  # punctuation after a link, not part of its host


def _host(url: str) -> str:
    rest = re.sub(r"(?i)^(?:https?://)", "", url)
    host = re.split(r"[/?#:]", rest, maxsplit=1)[0].rstrip(_TRAILING).lower()
    return host.removeprefix("www.")


class Policy:
    """A site's moderation, compiled once from its ``PolicyConfig`` and ``Lexicon``."""

    def __init__(
        self,
        config: PolicyConfig,
        lexicon: Lexicon,
        classifier: Classifier | None = None,
    ) -> None:
        self.config = config
        self.classifier = classifier
        allow = frozenset(word for entry in lexicon.allow for word in entry_words(entry))
        expand = lexicon.expander()
        # One index for every list matched on each message: one pass over the tokens.
        entries: list[tuple[str, _Tag]] = [
            (expand(entry), _Tag("term", category))
            for category, category_entries in lexicon.terms.items()
            for entry in category_entries
        ]
        targeted = _by_entry(lexicon.with_langs("targeted"), expand)
        entries += [(entry, _Tag("targeted", None, langs)) for entry, langs in targeted.items()]
        # A word may be listed in several languages, as a word here and a stem there:
        # the languages of a one-word match are those of every list that knows it.
        by_lang: dict[str, list[tuple[str, None]]] = {}
        for entry, langs in targeted.items():
            for lang in langs or ("",):
                by_lang.setdefault(lang, []).append((entry, None))
        self._targeted_by_lang = tuple(
            (lang, WordIndex(lang_entries)) for lang, lang_entries in sorted(by_lang.items())
        )
        entries += [(expand(entry), _Tag("bait")) for entry in lexicon.bait]
        entries += [(expand(entry), _Tag("call")) for entry in lexicon.calls]
        self._lists: _Compiled[_Tag] = _Compiled(entries, allow)
        markers: dict[tuple[str, int], set[str]] = {}
        for entry, lang in lexicon.with_langs("markers"):
            markers.setdefault(_marker(expand(entry)), set()).add(lang)
        self._markers: _Compiled[_Aim] = _Compiled(
            (
                (phrase, _Aim(window, frozenset() if "" in langs else frozenset(langs)))
                for (phrase, window), langs in markers.items()
            ),
            frozenset(),
        )
        self._domains = frozenset(
            fold_plain(domain).removeprefix("www.")
            for domain in (*lexicon.domains, *config.site_domains)
        )
        self._blocked = frozenset(fold_plain(domain) for domain in lexicon.blocked_domains)
        # one-word lists, matched as the other lists are (stems, stretched letters)
        self._mild: WordIndex[None] = WordIndex((entry, None) for entry in lexicon.mild)
        self._jokes: WordIndex[None] = WordIndex(
            (entry, None) for entry in lexicon.jokes if _has_alnum(entry)
        )
        self._joke_symbols = tuple(entry for entry in lexicon.jokes if not _has_alnum(entry))
        vocabulary: set[str] = set(_WILDCARD_WORDS)
        vocabulary.update(self._lists.index.vocabulary())
        self._vocabulary: dict[int, tuple[str, ...]] = {}
        for word in sorted(vocabulary):
            self._vocabulary[len(word)] = (*self._vocabulary.get(len(word), ()), word)
        # The quick proof that a message is clean (``_clean``): per whitespace-free
        # chunk of text, what it could contribute to a finding, memoized.
        self._prefixes = frozenset(
            word[:length] for word in self._lists.index.words for length in range(1, len(word))
        )
        self._chunks: dict[str, _Chunk] = {}
        self._keys: dict[str, _Key] = {}  # the repeated-message rule's memo
        # Two adjacent tokens that read as a listed word ("con nard"), for ``_clean``:
        # every split of every word ``_joins`` would find.
        self._join_pairs = frozenset(
            (word[:cut], word[cut:])
            for word in self._lists.index.words
            if (len(word) >= 6 or len(word) == 2) and word not in self._lists.allow
            for cut in range(1, len(word))
            if len(word) >= 6 or cut == 1
        )

    def _unmask(self, tokens: list[Token]) -> list[Token]:
        """``f*ck``, ``c**nard``: each ``*`` stands for a letter of a word the lists know."""
        for position, token in enumerate(tokens):
            if "*" not in token.plain:
                continue
            pattern = wildcard_pattern(token.plain)
            if pattern is None:
                continue
            words = [w for w in self._vocabulary.get(len(token.plain), ()) if pattern.fullmatch(w)]
            if words:
                tokens[position] = replace(token, spellings=(*words[:4], *token.spellings))
        return tokens

    # -- the decision ---------------------------------------------------------------------

    def check(
        self,
        text: str,
        *,
        context: Context | str = Context.COMMENT,
        history: Sequence[str] = (),
        lang: str = "fr",
    ) -> Verdict:
        """The verdict on ``text`` sent in ``context``. ``history``: the author's recent
        messages in this context, most recent last (the caller bounds it; only the last
        20 are read)."""
        if context.__class__ is not Context:
            context = Context(context)
        if self._clean(text, history):
            # Proven: no list, link, spam or personal-data rule can find anything.
            if self.classifier is None:
                if context is Context.COMMENT and self.config.premoderation:
                    return self._decide(text, context, [])
                return Verdict(Action.ALLOW, (), text, None)
            return self._decide(
                text, context, _unique(self._classified(self.classifier, text, lang))
            )
        folded = fold(text)
        tokens = tokenize(folded)
        if self.config.repeat_limit > 0:  # before wildcards are read, as for any history text
            self._remember(text, tuple(token.plain for token in tokens))
        tokens = self._unmask(tokens)
        matches: dict[str, list[tuple[_Match, _Tag]]] = {
            "term": [], "targeted": [], "bait": [], "call": []
        }  # fmt: skip
        for match, tag in self._lists.matches(tokens, join=True, text=text):
            matches[tag.kind].append((match, tag))
        findings = self._toxic(text, tokens, matches["term"], matches["targeted"])
        if findings:
            findings = self._softened(text, tokens, findings)
        personal = self._personal_data(text, context)
        findings += personal
        findings += self._spam(
            text, folded.text, tokens, history, matches["bait"], matches["call"],
            has_contact=bool(personal),
        )  # fmt: skip
        if self.classifier is not None:
            scores = self.classifier.scores(text, lang)
            findings = self._vetoed(findings, scores)
            classified = self._from_scores(scores, text)
            if personal:  # the contact is already masked or held: not spam for that
                classified = [f for f in classified if f.category is not Category.SPAM]
            findings += classified
        return self._decide(text, context, _unique(findings))

    def _softened(
        self, text: str, tokens: Sequence[Token], findings: list[Finding]
    ) -> list[Finding]:
        """No finding when every one is a mild insult and the message jokes ("t'es nul
        😂", "you muppet lol"): see ``Lexicon.mild`` and ``Lexicon.jokes``."""
        if all(self._is_mild(finding, tokens) for finding in findings) and (
            any(self._jokes.word(token.plain) is not None for token in tokens)
            or any(symbol in text for symbol in self._joke_symbols)
        ):
            return []
        return findings

    def _is_mild(self, finding: Finding, tokens: Sequence[Token]) -> bool:
        """An insult whose last word is a mild one (``t'es nul``, ``you muppet``)."""
        if finding.category is not Category.INSULT:
            return False
        inside = [t for t in tokens if finding.start <= t.start and t.end <= finding.end]
        return bool(inside) and self._mild.word(inside[-1].plain) is not None

    # -- the quick proof of a clean message ----------------------------------------------------

    def _clean(self, text: str, history: Sequence[str]) -> bool:
        """True only if the rules (lists, links, spam, personal data) find nothing in
        ``text``; False when unsure. Works on the whitespace-separated chunks of the
        text, each analysed once (``_chunk``): folding is per character and whitespace
        folds to a separator, so the tokens of the text are those of its chunks, unless
        spaced-out letters are joined (three single-letter tokens in a row: then the
        text is tokenized as ``check`` does)."""
        chunks = self._chunks
        pairs = self._join_pairs
        flags = digits = run = 0
        joined = phrased = False
        last = ""
        infos: list[_Chunk] = []
        for chunk in text.split():
            info = chunks.get(chunk)
            if info is None:
                info = self._chunk(chunk)
            if info.loud:
                return False
            flags |= info.flags
            digits += info.digits
            first = info.first
            if first is None:
                continue
            if (last, first) in pairs:  # "con nard": two tokens that read as a listed word
                return False
            infos.append(info)
            phrased = phrased or bool(info.starts)
            if info.lead == info.size:
                run += info.size
            else:
                joined = joined or info.joined or run + info.lead >= 3
                run = info.trail
            joined = joined or run >= 3
            last = info.last
        if (
            digits >= 9  # a phone number
            or flags & _MONEY_HINT == _MONEY_HINT
            or flags & _SPELT_HINT == _SPELT_HINT
        ):
            return False
        if joined:
            # The chunks' tokens are not the text's: check the text's tokens themselves.
            tokens = tokenize(fold(text))
            if not self._tokens_clean(tokens):
                return False
            words = tuple(token.plain for token in tokens)
        else:
            if phrased and self._phrase_in(infos):
                return False
            words = tuple(chain.from_iterable([info.plains for info in infos]))
        if self.config.repeat_limit > 0:
            self._remember(text, words)  # the next checks read it as history
            if (
                history
                and len(words) >= 3
                and self._repeats(text, words, history) >= self.config.repeat_limit
            ):
                return False
        return True

    def _phrase_in(self, infos: Sequence[_Chunk]) -> bool:
        """A listed phrase starts at one of the chunks' tokens (anchors and negations
        not considered: they only turn a match down)."""
        tokens = [token for info in infos for token in info.tokens]
        offset = 0
        for info in infos:
            for position, start in info.starts:
                position += offset
                candidates = list(start.always)
                for following in tokens[position + 1 : position + 2 + start.gap]:
                    for spelling in following.spellings:
                        candidates += start.seconds.get(spelling, ())
                for _, phrase in candidates:
                    if _phrase_end(phrase.steps, tokens, 1, position) is not None:
                        return True
            offset += info.size
        return False

    def _joins(self, first: str, second: str) -> bool:
        """Two adjacent tokens that read as a listed word (``matches(join=True)``)."""
        joined = first + second
        single = len(first) == 1 and len(second) == 1
        return (
            (len(joined) >= 6 or single)
            and joined not in self._lists.allow
            and joined in self._lists.index.words
        )

    def _token_loud(self, token: Token) -> bool:
        """A token that may be a listed word (or a ``f*ck`` that ``_unmask`` reads)."""
        spellings = token.spellings
        return "*" in token.plain or (
            not self._lists.allow.intersection(spellings)
            and any(self._lists.index.word(spelling) is not None for spelling in spellings)
        )

    def _phrase_at(self, tokens: Sequence[Token], position: int) -> bool:
        """A listed phrase starts at ``position`` (anchors and negations after it not
        considered: they only turn a match down)."""
        return any(
            _phrase_end(phrase.steps, tokens, 1, position) is not None
            for phrase in self._lists.index.phrases_from(tokens[position].spellings)
        )

    def _tokens_clean(self, tokens: Sequence[Token]) -> bool:
        """No word, joined pair or phrase of the lists in these tokens."""
        for position, token in enumerate(tokens):
            if (
                self._token_loud(token)
                or (
                    position > 0
                    and tokens[position - 1].plain in self._prefixes
                    and self._joins(tokens[position - 1].plain, token.plain)
                )
                or self._phrase_at(tokens, position)
            ):
                return False
        return True

    def _chunk(self, chunk: str) -> _Chunk:
        """What a whitespace-free piece of text may contribute to a finding."""
        folded = fold(chunk)
        tokens = raw_tokens(folded)
        dotted = "." in chunk  # every link holds a "." (or "://")
        loud = (
            "@" in chunk  # e-mail, mention, leetspeak a
            or ((dotted or ":" in chunk) and _URL.search(chunk) is not None)
            or (dotted and _BARE_DOMAIN.search(chunk) is not None)
            or _PLATFORM_WORD.search(chunk) is not None
        )
        starts: list[tuple[int, _Start[_Tag]]] = []
        for position, token in enumerate(tokens):
            # The phrases that start here, by their second word: only those whose
            # second word follows closely can match.
            start = self._lists.start(token.spellings)
            if start is not None:
                if start.single:
                    loud = True
                    break
                starts.append((position, start))
            if self._token_loud(token) or (
                position > 0
                and tokens[position - 1].plain in self._prefixes
                and self._joins(tokens[position - 1].plain, token.plain)
            ):
                loud = True
                break
        singles = [is_single(token) for token in tokens]
        lead = next((i for i, single in enumerate(singles) if not single), len(singles))
        trail = next((i for i, single in enumerate(reversed(singles)) if not single), len(singles))
        run = longest = 0
        for single in singles:
            run = run + 1 if single else 0
            longest = max(longest, run)
        flags = (
            (_HAS_DIGIT if _DIGIT.search(folded.text) else 0)
            | (_HAS_CURRENCY if _CURRENCY.search(folded.text) else 0)
            | (_HAS_AT if _SPELT_AT.search(chunk) else 0)
            | (_HAS_DOT if _SPELT_DOT.search(chunk) else 0)
        )
        info = _Chunk(
            loud=loud,
            flags=flags,
            digits=sum(map(len, _PHONE_DIGITS.findall(chunk))),
            tokens=tuple(tokens),
            plains=tuple(token.plain for token in tokens),
            starts=tuple(starts),
            first=tokens[0].plain if tokens else None,
            last=tokens[-1].plain if tokens else "",
            size=len(tokens),
            lead=lead,
            trail=trail,
            joined=longest >= 3,
        )
        if len(self._chunks) >= _MAX_CHUNKS:
            self._chunks.clear()
        self._chunks[chunk] = info
        return info

    def _repeats(self, text: str, mine: tuple[str, ...], history: Sequence[str]) -> int:
        """How many of the last 20 texts of ``history`` equal ``text`` or nearly (the
        same words, token Jaccard ≥ 0.8). Each earlier text is normalized once: its
        words are remembered (``_key``), most often from its own check."""
        low, high = 0.7 * len(text), 1.3 * len(text)
        count = 0
        keys = self._keys
        bag = frozenset(mine)
        size = len(bag)
        for earlier in history[-20:]:
            if earlier == text:
                count += 1
            elif low <= len(earlier) <= high:  # cheap: unlike lengths differ
                key = keys.get(earlier)
                if key is None:
                    key = self._remember(earlier, _words(earlier))
                words, other = key
                if words == mine:
                    count += 1
                # Jaccard ≥ 0.8 with three distinct words at least; |a ∩ b| / |a ∪ b| is
                # at most min / max of the sizes: most pairs are told apart by sizes alone.
                elif size >= 3 and 4 * size <= 5 * len(other) and 4 * len(other) <= 5 * size:
                    common = len(bag & other)
                    if common / (size + len(other) - common) >= 0.8:
                        count += 1
        return count

    def _remember(self, text: str, words: tuple[str, ...]) -> _Key:
        """The words of ``text`` (before wildcards are read), remembered: a chat checks
        each text once as a message, then up to 20 times as history."""
        key = self._keys.get(text)
        if key is None:
            key = _Key(words, frozenset(words))
            if len(self._keys) >= _MAX_KEYS:
                # Forget the older half, never all: the texts in readers' histories are
                # the recent ones, and recomputing all of them at once (as a clear() did)
                # stalled the event loop for a second under load (p99 140 ms on the bench).
                for old in list(islice(self._keys, _MAX_KEYS // 2)):
                    del self._keys[old]
            self._keys[text] = key
        return key

    def _decide(self, text: str, context: Context, findings: list[Finding]) -> Verdict:
        action, reason = Action.ALLOW, None
        # The lists' findings first: at equal severity, their precise reason ("insult")
        # explains better than the classifier's generic one.
        for by_classifier in (False, True):
            for category in PRIORITY:
                if any(
                    finding.category is category and _by_classifier(finding) is by_classifier
                    for finding in findings
                ):
                    wanted = self.config.action(context, category)
                    if SEVERITY[wanted] > SEVERITY[action]:
                        action, reason = wanted, Reason[category.name]
        masked = [
            (finding.start, finding.end)
            for finding in findings
            if self.config.action(context, finding.category) is Action.MASK
        ]
        if masked and action is not Action.REFUSE:
            text = _mask(text, masked, self.config.mask)
        if context is Context.COMMENT and self.config.premoderation and SEVERITY[action] < 2:
            action, reason = Action.HOLD, Reason.PREMODERATION
        return Verdict(action, tuple(findings), text, reason)

    # -- toxic language ---------------------------------------------------------------------

    def _toxic(
        self,
        text: str,
        tokens: Sequence[Token],
        terms: list[tuple[_Match, _Tag]],
        targeted: list[tuple[_Match, _Tag]],
    ) -> list[Finding]:
        """Words and phrases of the lists. Between quotation marks, a threat or harassment
        is reported speech ("the suspect shouted « je vais te tuer »"), and any word is
        mentioned, not used, when the message says so (*le mot « nègre »*, *ceux qui
        écrivent « rentre dans ton pays »*, *les « salauds de pauvres » de Gabin*): see
        ``_mentioned``."""
        quotes = (
            [match.span() for match in _QUOTE.finditer(text)] if _QUOTE_MARK.search(text) else []
        )
        mentioned = self._mentioned(text, tokens, quotes) if quotes else []
        findings: list[Finding] = []
        for match, tag in terms:
            category = tag.category
            if category is None:
                continue
            start, end = tokens[match.first].start, tokens[match.last].end
            if _quoted(mentioned, start, end) or (
                category in _REPORTABLE and _quoted(quotes, start, end)
            ):
                continue
            if category is Category.THREAT and _played(text, tokens, match.last):
                continue  # "je vais te défoncer à FIFA ce soir"
            findings.append(Finding(category, match.entry, start, end))
        if targeted:
            markers = self._markers.matches(tokens, text=text)
            aimed = {match.first for match, _ in targeted}
            if _insults_only(tokens, targeted):  # "ugly old hag", "loser virgin incel"
                for match, _ in targeted:
                    start, end = tokens[match.first].start, tokens[match.last].end
                    findings.append(Finding(Category.INSULT, match.entry, start, end))
                return findings
            for match, tag in targeted:
                langs = tag.langs
                if match.first == match.last and len(self._targeted_by_lang) > 1:
                    langs = self._langs_of(tokens[match.first])
                if _quoted(mentioned, tokens[match.first].start, tokens[match.last].end):
                    continue
                if _vocative(text, tokens, match.first, match.last, markers) or any(
                    marker.last < match.first <= marker.last + aim.window
                    and (not aim.langs or not langs or not aim.langs.isdisjoint(langs))
                    and _only_fillers(tokens, marker.last + 1, match.first, aimed)
                    for marker, aim in markers
                ):
                    start, end = tokens[match.first].start, tokens[match.last].end
                    findings.append(Finding(Category.INSULT, match.entry, start, end))
        return findings

    def _langs_of(self, token: Token) -> frozenset[str]:
        """The languages whose targeted lists know this token (empty: any)."""
        langs = {
            lang
            for lang, index in self._targeted_by_lang
            if any(index.word(spelling) is not None for spelling in token.spellings)
        }
        return frozenset() if "" in langs else frozenset(langs)

    def _mentioned(
        self, text: str, tokens: Sequence[Token], quotes: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """The quotes that name words rather than aim them: the message talks about words
        (a cue outside the quotes: *mot*, *écrivent*, *traité de*, *said*, *slur*…), or
        the quote is a name after a definite article (*les « salauds de pauvres »*).
        Never a quote aimed at the reader (*t'es un « connard »*: a marker just before)."""
        outside = [
            index
            for index, token in enumerate(tokens)
            if not any(left <= token.start < right for left, right in quotes)
        ]
        cue = any(
            tokens[index].plain in _MENTION_WORDS or tokens[index].plain.startswith(_MENTION_STEMS)
            for index in outside
        )
        aimed = {marker.last for marker, _ in self._markers.matches(tokens, text=text)}
        found: list[tuple[int, int]] = []
        for left, right in quotes:
            # what stands before the quote, outside any quote: « sale pute », « rentre
            # chez toi » lists two quotes, the first does not aim the second
            before = [index for index in outside if tokens[index].end <= left]
            last = before[-1] if before else None
            if last is not None and (last in aimed or (last - 1) in aimed):
                continue  # t'es un « connard »
            if cue or (last is not None and tokens[last].plain in _DEFINITE):
                found.append((left, right))
        return found

    # -- personal data ---------------------------------------------------------------------

    def _personal_data(self, text: str, context: Context) -> list[Finding]:
        findings: list[Finding] = []
        taken: list[tuple[int, int]] = []

        def add(term: str, start: int, end: int) -> None:
            if not any(start < other_end and other_start < end for other_start, other_end in taken):
                taken.append((start, end))
                findings.append(Finding(Category.PERSONAL_DATA, term, start, end))

        # Each pattern is tried only if the text holds what it needs ("@", "dot"…).
        has_at = "@" in text
        if has_at:
            for match in _EMAIL.finditer(text):
                add("email", *match.span())
        if _SPELT_DOT.search(text):
            for match in _EMAIL_SPELT.finditer(text):
                add("email", *match.span())
        if len(_DIGIT.findall(text)) >= 9:
            for pattern in (_PHONE_FR, _PHONE_INTL, _PHONE_NANP):
                for match in pattern.finditer(text):
                    digits = sum(char.isdigit() for char in match.group())
                    if 9 <= digits <= 15:
                        add("phone", *match.span())
        for match in _HANDLE_AFTER_PLATFORM.finditer(text):
            handle = match.group("handle")
            if (
                match.group("sep")
                or handle.startswith("@")
                or any(char.isdigit() or char in "_." for char in handle.rstrip("."))
            ):
                add("handle", match.start("handle"), match.end("handle"))
        if context is Context.CHAT and has_at:
            for match in _MENTION.finditer(text):
                add("handle", *match.span())
        return findings

    # -- spam --------------------------------------------------------------------------------

    def _spam(
        self,
        text: str,
        folded: str,
        tokens: Sequence[Token],
        history: Sequence[str],
        bait_matches: list[tuple[_Match, _Tag]],
        calls: list[tuple[_Match, _Tag]],
        *,
        has_contact: bool,
    ) -> list[Finding]:
        findings: list[Finding] = []
        links = 0
        for start, end, host, bare_without_path in self._links(text):
            unknown = not _domain_in(host, self._domains)
            links += unknown  # a link to a known site makes no bait a spam
            labels = host.split(".")
            spammy = labels[-1] in _SPAMMY_TLDS or (
                # "promo-france24.com": a made-up name, not a company's
                len(labels) >= 2 and any(char == "-" or char.isdigit() for char in labels[-2])
            )
            # A bare "amazon.com" names a company; with a path, a scheme, a spammy
            # top-level domain or a made-up name, it is a link to follow.
            if _domain_in(host, self._blocked) or (unknown and (not bare_without_path or spammy)):
                findings.append(Finding(Category.SPAM, f"link:{host}", start, end))
        bait = {match.entry: match for match, _ in bait_matches}
        money = _MONEY.search(folded)
        if (bait or money) and not _warns(tokens):
            strength = len(bait) + (1 if money else 0)
            if calls or has_contact or links or strength >= 3:
                for entry, match in bait.items():
                    start, end = tokens[match.first].start, tokens[match.last].end
                    findings.append(Finding(Category.SPAM, entry, start, end))
                if money:
                    findings.append(Finding(Category.SPAM, "money", 0, len(text)))
        if self.config.repeat_limit > 0 and len(tokens) >= 3 and history:
            mine = tuple(token.plain for token in tokens)
            if self._repeats(text, mine, history) >= self.config.repeat_limit:
                findings.append(Finding(Category.SPAM, "repeat", 0, len(text)))
        return findings

    def _links(self, text: str) -> Iterable[tuple[int, int, str, bool]]:
        """(start, end, host, is a bare domain without a path) of each link."""
        if "." not in text and "://" not in text:
            return  # every link holds one or the other
        emails = [match.span() for match in _EMAIL.finditer(text)] if "@" in text else []
        taken: list[tuple[int, int]] = []
        for match in _URL.finditer(text):
            taken.append(match.span())
            yield match.start(), match.end(), _host(match.group()), False
        for match in _BARE_DOMAIN.finditer(text) if "." in text else ():
            start, end = match.span()
            if any(s <= start < e for s, e in (*taken, *emails)):
                continue
            path = match.group(2)
            yield start, end, _host(match.group(1)), not path or path == "/"

    # -- classifier ----------------------------------------------------------------------------

    def _classified(self, classifier: Classifier, text: str, lang: str) -> list[Finding]:
        return self._from_scores(classifier.scores(text, lang), text)

    def _vetoed(self, findings: list[Finding], scores: Mapping[Category, float]) -> list[Finding]:
        """The findings, without the vetoable ones if the classifier is sure the text is
        not toxic: it scores at least one toxic category, all below ``config.veto``."""
        toxic = [score for category, score in scores.items() if category in TOXIC]
        if not toxic or max(toxic) >= self.config.veto:
            return findings
        return [finding for finding in findings if finding.category not in VETOABLE]

    def _from_scores(self, scores: Mapping[Category, float], text: str) -> list[Finding]:
        return [
            Finding(category, f"{CLASSIFIER_TERM}{score:.2f}", 0, len(text))
            for category, score in sorted(scores.items())
            if score >= self.config.thresholds.get(category, DEFAULT_THRESHOLD)
        ]


DEFAULT_THRESHOLD: Final = 0.8
CLASSIFIER_TERM: Final = "classifier:"  # the term of a classifier's finding: classifier:0.93
_QUOTE: Final = re.compile(r"«[^«»]{1,300}»|\"[^\"]{1,300}\"|“[^“”]{1,300}”|‘[^‘’]{1,300}’")
_REPORTABLE: Final = frozenset({Category.THREAT, Category.HARASSMENT})
#: What a classifier's veto may dismiss: never hate nor threats.
VETOABLE: Final = frozenset({Category.INSULT, Category.HARASSMENT, Category.SEXUAL})
_QUOTE_MARK: Final = re.compile(r"[«\"“‘]")
#: Words by which a message talks about words (stems, then whole words): what is
#: between its quotes is mentioned, not said to anyone.
_MENTION_STEMS: Final = (
    "insult", "injur", "slur", "qualifi", "surnom", "nickname", "ecri", "write", "wrote",
    "written", "repond", "reply", "repli", "shout", "yell", "scand", "chant", "slogan",
    "graffiti", "banderole", "banner", "pancarte", "titre", "title", "intitul", "chanson",
    "replique", "citation", "quot", "traite", "traitai", "traitan", "menac", "threat",
    "accus", "hurl",
    # court and news reporting: "le tribunal l'a condamné pour « sale juif »"
    "tribunal", "condamn", "prevenu", "temoin", "plaint", "poursuiv", "proces", "juge",
    "judge", "court", "trial", "convict", "prosecut", "testif", "witness", "jury",
    "enquet", "investig", "polic", "gendarm", "tweet", "tatou", "tattoo", "theori",
    "theory", "complot", "conspira", "headline", "spray", "paint",
)  # fmt: skip
_MENTION_WORDS: Final = frozenset({
    "mot", "mots", "terme", "termes", "expression", "word", "words", "term", "terms", "dit",
    "dits", "dite", "dites", "disent", "disait", "disaient", "dire", "said", "say", "says",
    "saying", "told", "tell", "crie", "criait", "crient", "criaient", "cried", "film",
    "livre", "book", "roman", "novel", "song", "cite", "cites", "lu", "read", "entendu",
    "heard", "appele", "appelee", "appeles", "called", "calling", "tag", "tags",
    "barre", "audience", "affaire", "relaxe", "mythe", "myth", "charged", "article",
})  # fmt: skip
_DEFINITE: Final = frozenset({"le", "la", "les", "l", "the", "ce", "ces", "cette", "du", "des"})


def _quoted(quotes: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(left < start and end < right for left, right in quotes)


#: Words of a message that warns about a scam rather than runs one ("my gran lost £5k
#: to a crypto scam on WhatsApp"); money and crypto bait then make no spam.
_WARNING_STEMS: Final = (
    "scam", "fraud", "beware", "warn", "arnaqu", "escro", "mefie", "ponzi",
)  # fmt: skip
_WARNING_NEGATIONS: Final = frozenset({
    "no", "not", "pas", "aucune", "aucun", "sans", "zero", "jamais", "never", "nothing",
})  # fmt: skip


#: Games and sports: a threat "at" one of them is banter ("je vais te tuer au tennis").
_GAMES: Final = frozenset({
    "fifa", "pes", "mario", "mariokart", "kart", "tennis", "echecs", "foot", "basket",
    "poker", "belote", "tarot", "scrabble", "fortnite", "valorant", "minecraft", "jeu",
    "jeux", "ping", "badminton", "padel", "petanque", "billard", "babyfoot", "karaoke",
    "monopoly", "uno", "smash", "ps5", "xbox", "console", "quiz", "chess", "pool", "darts",
    "golf", "squash", "cards", "cartes", "bowling", "cod", "warzone", "tekken", "sudoku",
    "wordle", "trivial", "cluedo", "game", "games",
})  # fmt: skip
_AT_GAME: Final = frozenset({"a", "au", "aux", "en", "at", "in", "on"})


def _played(text: str, tokens: Sequence[Token], last: int) -> bool:
    """A game or sport named right after the threat, behind "à", "au", "at"…, in the
    same clause."""
    for index in range(last + 1, min(last + 4, len(tokens) - 1)):
        if _closes_clause(text, tokens, index - 1):
            return False
        if tokens[index].plain in _AT_GAME and tokens[index + 1].plain in _GAMES:
            return True
    return False


def _warns(tokens: Sequence[Token]) -> bool:
    """A warning word not negated ("not a scam", "pas une arnaque" are the scammer's)."""
    for index, token in enumerate(tokens):
        if token.plain.startswith(_WARNING_STEMS) and not any(
            tokens[before].plain in _WARNING_NEGATIONS for before in range(max(0, index - 2), index)
        ):
            return True
    return False


#: Swear words not in any list (interjections) that ``f*ck you`` must still read.
_WILDCARD_WORDS: Final = ("fuck", "shit", "merde", "putain", "bitch", "cunt", "dick")


#: What may sit between a marker and the word it aims: "t'es *vraiment un gros* con",
#: "you're *such a fucking* idiot"; any other word means the marker aims elsewhere
#: ("tu es *passé devant un* clochard").
_FILLERS: Final = frozenset({
    "un", "une", "des", "de", "d", "du", "le", "la", "les", "l", "qu", "que", "vraiment",
    "trop", "tellement", "si", "completement", "grave", "juste", "bien", "tous", "toutes",
    "vrai", "vraie", "veritable", "sacre", "sacree", "putain", "gros", "grosse", "petit",
    "petite", "sale", "sales", "pauvre", "espece", "vieux", "vieille", "rien", "plus",
    "meme", "encore", "toujours", "mais", "quel", "quelle", "ptit", "ptite",
    "sombre", "triple", "bande", "immense", "enorme", "total", "totalement", "franchement",
    "a", "an", "the", "so", "such", "fucking", "fuckin", "really", "complete", "completely",
    "totally", "absolute", "absolutely", "utter", "utterly", "big", "little", "fat",
    "stupid", "dumb", "ugly", "bloody", "damn", "dirty", "filthy", "pathetic", "worthless",
    "just", "all", "like", "most", "biggest", "fkn", "fking", "very", "massive", "sad",
    "old", "lying", "useless", "as", "being", "literally", "clearly", "obviously",
    "also", "still", "too", "ur", "re", "r", "lazy", "brainless", "spineless", "smelly",
    "clueless", "mindless", "gutless", "disgusting", "vile", "inutile", "degueulasse",
    "nothing", "but",
})  # fmt: skip


#: Words that make a two-word message an exclamation about something, not a vocative.
_INTENSIFIERS: Final = frozenset({
    "trop", "tres", "vraiment", "si", "tellement", "super", "assez", "plutot", "hyper",
    "so", "very", "too", "really", "totally", "quite", "pretty", "how", "extremely",
})  # fmt: skip


def _only_fillers(tokens: Sequence[Token], start: int, end: int, aimed: set[int]) -> bool:
    """Between a marker and its word, only fillers or other aimed words."""
    return all(tokens[index].plain in _FILLERS or index in aimed for index in range(start, end))


#: What may follow an insult opening a message and still belong to it ("crétin fini").
_AFTER_INSULTS: Final = frozenset({
    "fini", "finie", "finis", "profond", "profonde", "congenital", "congenitale",
    "integral", "integrale", "patente", "patentee",
})  # fmt: skip

#: Words of a clause that speak to the reader ("tu", "your"…).
_SECOND_PERSON: Final = frozenset({
    "tu", "te", "toi", "ton", "ta", "tes", "vous", "votre", "vos", "tas",
    "you", "your", "youre", "yourself", "u", "ur", "ya",
})  # fmt: skip

#: Imperatives that open a clause said to the reader ("Abruti, apprends à lire").
_IMPERATIVES: Final = frozenset({
    "apprends", "apprenez", "relis", "relisez", "lis", "lisez", "arrete", "arretez",
    "ferme", "fermez", "retourne", "retournez", "rentre", "rentrez", "tais", "taisez",
    "degage", "degagez", "reflechis", "reflechissez", "renseigne", "renseignez", "informe",
    "sors", "sortez", "casse", "cassez", "va", "vas", "allez", "occupe", "occupez",
    "bouge", "fous", "foutez", "calme", "calmez", "essaie", "essaye", "ecoute",
    "learn", "read", "go", "get", "shut", "stop", "grow", "educate", "quit", "piss",
    "sod", "bugger", "touch", "log", "crawl",
})  # fmt: skip

#: Verbs that ask the reader's opinion about what the opening word judges.
_OPINION_VERBS: Final = frozenset({
    "trouves", "trouvez", "penses", "pensez", "crois", "croyez", "dis", "dites",
    "think", "reckon", "agree", "say", "mean",
})  # fmt: skip

#: Words that open a message as an exclamation about something, not a vocative
#: ("Nul, tu trouves pas ?", "Pathetic, isn't it?").
_EXCLAMATIONS: Final = frozenset({
    "nul", "nulle", "nuls", "nulles", "pathetique", "pathetiques", "minable", "minables",
    "ridicule", "moche", "laid", "laide", "naze", "stupide", "pathetic", "lame", "sad",
    "ugly", "gross", "stupid", "dumb", "ridiculous",
})  # fmt: skip


def _speaks_to_someone(tokens: Sequence[Token], start: int) -> bool:
    """The clause from ``start`` speaks to the reader: a second-person word among its
    first words, or an imperative first."""
    if start >= len(tokens):
        return False
    if tokens[start].plain in _IMPERATIVES:
        return True
    following = [token.plain for token in tokens[start : start + 4]]
    if not _OPINION_VERBS.isdisjoint(following):
        return False  # "Débile, tu trouves pas ?" asks for an opinion
    for index in range(start, min(start + 4, len(tokens))):
        plain = tokens[index].plain
        if plain in _SECOND_PERSON or (
            plain == "t" and index + 1 < len(tokens) and tokens[index + 1].plain in ("es", "as")
        ):
            return True
    return False


def _insults_only(tokens: Sequence[Token], targeted: Sequence[tuple[_Match, _Tag]]) -> bool:
    """Three to five words, all insults or fillers ("ugly old hag"), none an intensifier
    ("vraiment trop nul" is an opinion)."""
    if not 3 <= len(tokens) <= 5:
        return False
    covered: set[int] = set()
    for match, _ in targeted:
        covered.update(range(match.first, match.last + 1))
    return all(
        index in covered or token.plain in _FILLERS for index, token in enumerate(tokens)
    ) and not any(token.plain in _INTENSIFIERS for token in tokens)


def _vocative(
    text: str,
    tokens: Sequence[Token],
    first: int,
    last: int,
    markers: Sequence[tuple[_Match, _Aim]] = (),
) -> bool:
    """A word said to someone: the whole message ("Abruti !"), its close after a comma
    ("Relis l'article, crétin."), or its opening before a pause or a "va" that closes
    the clause when the message speaks to someone ("Abruti, t'es trop bête", "Triso
    va"); "Stupide, ce projet de loi." speaks to no one."""
    if len(tokens) <= 2 and (first == 0 or last == len(tokens) - 1):
        # "Abruti !", "crétin va"; but "Trop tard", "So gross": an exclamation.
        return not any(token.plain in _INTENSIFIERS for token in tokens)
    following = last + 1
    if (
        following < len(tokens)
        and tokens[following].plain in ("va", "vas")
        and _closes_clause(text, tokens, following)
        and _opens_clause(text, tokens, first)
    ):
        return True
    if first == 0:
        if following < len(tokens) and tokens[following].plain in _AFTER_INSULTS:
            last = following  # "crétin fini, tu comprends rien"
            following += 1
        if (
            tokens[first].plain not in _EXCLAMATIONS
            and _closes_clause(text, tokens, last)
            and (markers or _speaks_to_someone(tokens, following))
        ):
            return True
    if last != len(tokens) - 1 or first == 0:
        return False
    before = text[tokens[first - 1].end : tokens[first].start]
    return "," in before


def _marker(entry: str) -> tuple[str, int]:
    """``t es 3`` → ("t es", 3); the window defaults to 3 tokens."""
    words = entry.split()
    if len(words) > 1 and words[-1].isdigit():
        return " ".join(words[:-1]), int(words[-1])
    return entry, 3


class _Key(NamedTuple):
    """The words of a text, in order and as a set (the repeated-message rule)."""

    words: tuple[str, ...]
    bag: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Start(Generic[P]):
    """The phrases that start at a token, each with its rank in the list: by second
    word; those always tried (second step with stems, optional, or none); how many
    tokens may come before a second word; whether a one-word phrase starts here."""

    seconds: Mapping[str, tuple[tuple[int, Phrase[P]], ...]]
    always: tuple[tuple[int, Phrase[P]], ...]
    gap: int
    single: bool


class _Chunk(NamedTuple):
    loud: bool  # may hold a listed word, a link, an e-mail, a handle…
    flags: int  # _HAS_* hints: rules that need other chunks to match
    digits: int  # decimal digits that may belong to a phone number (see _PHONE_DIGITS)
    tokens: tuple[Token, ...]  # spaced-out letters not joined
    plains: tuple[str, ...]  # their plain spellings
    starts: tuple[tuple[int, _Start[_Tag]], ...]  # tokens that start phrases
    first: str | None  # first token (None: no token)
    last: str  # last token
    size: int  # tokens
    lead: int  # single-letter tokens at the start
    trail: int  # and at the end
    joined: bool  # three single-letter tokens in a row


_MAX_CHUNKS: Final = 50_000
_MAX_STARTS: Final = 20_000
_MAX_KEYS: Final = 20_000  # texts remembered for the repeated-message rule
_HAS_DIGIT, _HAS_CURRENCY, _HAS_AT, _HAS_DOT = 1, 2, 4, 8
_MONEY_HINT: Final = _HAS_DIGIT | _HAS_CURRENCY
_SPELT_HINT: Final = _HAS_AT | _HAS_DOT
_DIGIT: Final = re.compile(r"\d")
#: The digits a phone number may hold: a phone pattern never starts after a letter or a
#: digit and holds no letter, so digits after a letter in the same word ("t2024…",
#: "A380") are never part of one.
_PHONE_DIGITS: Final = re.compile(r"(?<!\w)\d+")
#: What _MONEY needs besides a digit: a currency after a digit, a space, "." or ",".
_CURRENCY: Final = re.compile(r"[€$£]|(?:^|[\d\s.,])(?:eur|dollar|usd|gbp)")
#: What _EMAIL_SPELT needs: an "at" and a "dot" (or "point").
_SPELT_AT: Final = re.compile(r"(?i)\[at\]|\(at\)|\{at\}|arobase|^at$")
_SPELT_DOT: Final = re.compile(r"(?i)dot|point")
#: What _HANDLE_AFTER_PLATFORM needs.
_PLATFORM_WORD: Final = re.compile(rf"(?i)\b(?:{_PLATFORM})\b")


def _words(text: str) -> tuple[str, ...]:
    """The plain tokens of a text, as ``check`` reads them before wildcards."""
    return tuple(token.plain for token in tokenize(fold(text)))


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _mask(text: str, spans: list[tuple[int, int]], mask: str) -> str:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + mask + text[end:]
    return text
