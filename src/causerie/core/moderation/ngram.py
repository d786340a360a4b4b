"""A small offline text classifier: hashed character and word n-grams, two logistic models.

It plugs into the policy as its ``Classifier`` (``NgramClassifier``), to catch what the
word lists cannot: contempt, dehumanisation, threats without a swear word, spam whose
link is not known yet. Its answer is a probability, not a rule: it is a second opinion
after the lists, never a replacement for them.

Features (``features``): the words of the text as the word lists read them (``fold``
then ``tokenize``: lower case, accents stripped, homoglyphs and leetspeak read as
letters, spaced-out letters joined: ``C 0 N N A R D`` is ``connard``), each with its
runs of one letter collapsed (``connnnard`` and ``connard`` are both ``conard``), so
that an obfuscation and its plain spelling share their features; per word, its
character n-grams of 2 to 5 letters with a space on either side (`` con``, ``ard ``);
the words themselves and each pair of neighbouring words.
Each feature is hashed with CRC-32 (stable across runs and machines, unlike ``hash``)
into ``BUCKETS`` buckets; a text is the count of each of its buckets divided by the
square root of its number of features (a long text does not score higher for being
long, and a score stays a sum over the words: ``NgramModel.probabilities`` memoizes
each word's share).

Models (``NgramModel``): one binary logistic regression for ``toxic`` and one for
``spam``, each a sparse map bucket → weight plus a bias, and the thresholds chosen at
training time. ``train_logistic`` fits one with AdaGrad and L2 on the weights a message
touches; it is deterministic: the caller passes the generator that orders the examples
(``random.Random(seed)``), so that core owns no randomness.

Pure: no I/O, no clock, no global randomness (bounded memos of words, chunks and word
pairs are its only state). Cost: a message of known words costs its chunks' memo
look-ups, its word pairs and a few additions (about 20 µs for 160 characters); a new
word costs its n-grams once. Failure modes: any string is scored without raising; a text with
no letter or digit scores the biases alone; ``model_from_json`` raises ValueError on a
malformed document (the file's fault).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice, pairwise
from types import MappingProxyType
from typing import Final, Protocol

from causerie.core.moderation.lexicon import Category
from causerie.core.moderation.normalize import collapse, fold, is_single, raw_tokens, tokenize

BUCKETS: Final = 2**18
MIN_CHARS: Final = 2
MAX_CHARS: Final = 5
#: The policy's default threshold: ``NgramClassifier`` rescales its scores so that a
#: probability at the model's own threshold becomes exactly this.
POLICY_CUT: Final = 0.8
#: Words whose shares of the score a model memoizes (about 100 bytes each).
MEMO_WORDS: Final = 65_536
#: The policy's default veto (``PolicyConfig.veto``): the model's own veto maps onto it.
VETO_CUT: Final = 0.1
FORMAT: Final = "causerie-ngram-3"


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) % BUCKETS


def words(text: str) -> list[str]:
    """The words the model reads: the tokens' usual spellings, runs of a letter collapsed.

    The same as tokenizing the whole text (``tokenize(fold(text))``), faster: tokens
    never span whitespace, so the words are those of the whitespace-separated chunks,
    memoized; only spaced-out letters (three single-letter tokens in a row:
    ``c o n``) join across chunks, and then the whole text is tokenized."""
    out: list[str] = []
    run = 0
    for chunk in text.split():
        for word, single in _chunk_words(chunk):
            run = run + 1 if single else 0
            if run >= 3:
                return [collapse(token.plain) for token in tokenize(fold(text))]
            out.append(word)
    return out


@lru_cache(maxsize=65_536)
def _chunk_words(chunk: str) -> tuple[tuple[str, bool], ...]:
    """The words of one chunk of text without whitespace, each with whether its token
    may be one letter of a spaced-out word (``is_single``)."""
    return tuple((collapse(token.plain), is_single(token)) for token in raw_tokens(fold(chunk)))


@lru_cache(maxsize=65_536)
def _pair_bucket(first: str, second: str) -> int:
    return _bucket(f"b:{first} {second}")


def _word_names(word: str) -> list[str]:
    """The features of one word: its padded character n-grams, then the word itself."""
    padded = f" {word} "
    size = len(padded)
    names = [
        "c:" + padded[start : start + length]
        for length in range(MIN_CHARS, MAX_CHARS + 1)
        for start in range(size - length + 1)
    ]
    names.append("w:" + word)
    return names


@lru_cache(maxsize=65_536)
def _word_buckets(word: str) -> tuple[int, ...]:
    """The buckets of one word's features, memoized: chat words repeat, and hashing
    their n-grams is most of the cost of scoring a message."""
    return tuple(_bucket(name) for name in _word_names(word))


def feature_names(text: str) -> list[str]:
    """The features of a text before hashing (for tests and for reading a model):
    ``c:`` character n-grams and ``w:`` words, word by word, then ``b:`` word pairs."""
    words_ = words(text)
    names = [name for word in words_ for name in _word_names(word)]
    names.extend(f"b:{first} {second}" for first, second in pairwise(words_))
    return names


def features(text: str) -> dict[int, float]:
    """The hashed feature vector of a text: bucket → count / sqrt(number of features)
    (the buckets of ``feature_names``). Dividing by the square root of the length, not
    by the vector's own norm, keeps a score a sum over the words: ``NgramModel`` adds
    each word's memoized share instead of hashing its n-grams again."""
    return _vector(words(text))


def _vector(words_: Sequence[str]) -> dict[int, float]:
    counts: dict[int, int] = {}
    for word in words_:
        for bucket in _word_buckets(word):
            counts[bucket] = counts.get(bucket, 0) + 1
    for first, second in pairwise(words_):
        bucket = _pair_bucket(first, second)
        counts[bucket] = counts.get(bucket, 0) + 1
    if not counts:
        return {}
    norm = math.sqrt(sum(counts.values()))
    return {bucket: count / norm for bucket, count in counts.items()}


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class Linear:
    """One binary logistic model: sparse weights (bucket → weight) and a bias."""

    weights: Mapping[int, float]
    bias: float

    def probability(self, vector: Mapping[int, float]) -> float:
        weights = self.weights
        z = self.bias
        for bucket, value in vector.items():
            weight = weights.get(bucket)
            if weight is not None:
                z += weight * value
        return _sigmoid(z)


@dataclass(frozen=True, slots=True)
class NgramModel:
    """The two models, and the probabilities at or above which each verdict is given."""

    toxic: Linear
    spam: Linear
    toxic_threshold: float = 0.5
    spam_threshold: float = 0.5
    #: Below this p_toxic, the model is confident the text is not toxic: the policy may
    #: dismiss a word-list finding (``PolicyConfig.veto``). 0: never.
    toxic_veto: float = 0.0

    #: word → (its features' toxic weights summed, spam weights summed, feature count)
    _shares: dict[str, tuple[float, float, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def probabilities(self, text: str) -> tuple[float, float]:
        """(p_toxic, p_spam) of a text, each in [0, 1]: the same as the two models'
        ``probability(features(text))`` (to rounding), computed as a sum of memoized
        per-word shares plus the word pairs, over sqrt(number of features)."""
        words_ = words(text)
        if not words_:
            return _sigmoid(self.toxic.bias), _sigmoid(self.spam.bias)
        toxic_weights, spam_weights = self.toxic.weights, self.spam.weights
        shares = self._shares
        toxic = spam = 0.0
        count = 0
        for word in words_:
            share = shares.get(word)
            if share is None:
                share = self._share(word)
            toxic += share[0]
            spam += share[1]
            count += share[2]
        for first, second in pairwise(words_):
            bucket = _pair_bucket(first, second)
            toxic += toxic_weights.get(bucket, 0.0)
            spam += spam_weights.get(bucket, 0.0)
            count += 1
        norm = math.sqrt(count)
        return (
            _sigmoid(self.toxic.bias + toxic / norm),
            _sigmoid(self.spam.bias + spam / norm),
        )

    def _share(self, word: str) -> tuple[float, float, int]:
        buckets = _word_buckets(word)
        toxic_weights, spam_weights = self.toxic.weights, self.spam.weights
        share = (
            sum(toxic_weights.get(bucket, 0.0) for bucket in buckets),
            sum(spam_weights.get(bucket, 0.0) for bucket in buckets),
            len(buckets),
        )
        shares = self._shares
        if len(shares) >= MEMO_WORDS:  # forget the older half (dicts keep insertion order)
            for old in list(islice(shares, MEMO_WORDS // 2)):
                del shares[old]
        shares[word] = share
        return share


def rescale(
    probability: float,
    threshold: float,
    cut: float = POLICY_CUT,
    veto: float = 0.0,
    veto_cut: float = VETO_CUT,
) -> float:
    """A probability in [0, 1] mapped onto [0, 1] so that ``threshold`` (in (0, 1]) lands
    on ``cut`` and, if given, ``veto`` (in (0, threshold)) on ``veto_cut``; piecewise
    linear and increasing: below the threshold, strictly below the cut; at or above it,
    at or above the cut; below the veto, strictly below the veto cut."""
    if probability >= threshold:
        if threshold >= 1.0:
            return cut
        return min(1.0, cut + (1.0 - cut) * (probability - threshold) / (1.0 - threshold))
    if 0.0 < veto < threshold:
        if probability < veto:
            return min(max(0.0, veto_cut * probability / veto), math.nextafter(veto_cut, 0.0))
        scaled = veto_cut + (cut - veto_cut) * (probability - veto) / (threshold - veto)
        return min(scaled, math.nextafter(cut, 0.0))
    return min(max(0.0, cut * probability / threshold), math.nextafter(cut, 0.0))


class NgramClassifier:
    """The policy's ``Classifier``: the toxic verdict as HARASSMENT (its message, "s'en
    prend à une personne", fits a generic toxic verdict) and the spam verdict as SPAM.

    Scores are calibrated: the model's own thresholds map to ``cut`` (the policy's
    default 0.8) and its veto to ``VETO_CUT`` (the policy's default veto, 0.1), so a
    site needs no ``PolicyConfig.thresholds`` for it. ``lang`` is ignored: one model
    reads both languages."""

    __slots__ = ("cut", "model")

    def __init__(self, model: NgramModel, cut: float = POLICY_CUT) -> None:
        self.model = model
        self.cut = cut

    def scores(self, text: str, lang: str) -> Mapping[Category, float]:
        toxic, spam = self.model.probabilities(text)
        return {
            Category.HARASSMENT: rescale(
                toxic, self.model.toxic_threshold, self.cut, self.model.toxic_veto
            ),
            Category.SPAM: rescale(spam, self.model.spam_threshold, self.cut),
        }


# --- training -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    """AdaGrad on the logistic loss with an L2 penalty. ``positive_weight`` multiplies the
    loss of positive examples (the rarer class)."""

    epochs: int = 20
    learning_rate: float = 0.5
    l2: float = 1e-4
    positive_weight: float = 1.0


class Shuffler(Protocol):
    """What orders the examples of each epoch: ``random.Random(seed)`` does."""

    def shuffle(self, x: list[int], /) -> None: ...


def train_logistic(
    vectors: Sequence[Mapping[int, float]],
    labels: Sequence[bool],
    rng: Shuffler,
    options: TrainingOptions = TrainingOptions(),
) -> Linear:
    """One binary logistic model fitted on ``vectors`` (from ``features``).

    Deterministic: the same vectors, labels, options and a generator in the same state
    give the same weights, bit for bit (``rng`` shuffles the visiting order). The L2
    penalty is applied to the weights a message touches, when it touches them (the
    usual sparse approximation). Raises ValueError if the lengths differ."""
    if len(vectors) != len(labels):
        raise ValueError(f"{len(vectors)} vectors but {len(labels)} labels")
    order = list(range(len(vectors)))
    weights: dict[int, float] = {}
    squares: dict[int, float] = {}
    bias, bias_square = 0.0, 0.0
    rate, l2 = options.learning_rate, options.l2
    for _ in range(options.epochs):
        rng.shuffle(order)
        for index in order:
            vector = vectors[index]
            z = bias
            for bucket, value in vector.items():
                z += weights.get(bucket, 0.0) * value
            label = labels[index]
            error = _sigmoid(z) - (1.0 if label else 0.0)
            if label:
                error *= options.positive_weight
            for bucket, value in vector.items():
                weight = weights.get(bucket, 0.0)
                gradient = error * value + l2 * weight
                square = squares.get(bucket, 0.0) + gradient * gradient
                squares[bucket] = square
                if square > 0.0:
                    weights[bucket] = weight - rate * gradient / math.sqrt(square)
            bias_square += error * error
            if bias_square > 0.0:
                bias -= rate * error / math.sqrt(bias_square)
    return Linear(MappingProxyType(dict(sorted(weights.items()))), bias)


def pruned(linear: Linear, minimum: float) -> Linear:
    """The model without its weights smaller than ``minimum`` in absolute value."""
    kept = {bucket: weight for bucket, weight in linear.weights.items() if abs(weight) >= minimum}
    return Linear(MappingProxyType(kept), linear.bias)


# --- the stored form ------------------------------------------------------------------------


def _linear_json(linear: Linear, digits: int) -> dict[str, object]:
    return {
        "bias": round(linear.bias, digits),
        "weights": {
            str(bucket): round(weight, digits) for bucket, weight in linear.weights.items()
        },
    }


def model_to_json(
    model: NgramModel, extra: Mapping[str, object] | None = None, digits: int = 4
) -> dict[str, object]:
    """The JSON document of a model (weights rounded to ``digits`` decimals); ``extra``
    (training figures…) is stored under ``"training"``, never read back."""
    return {
        "format": FORMAT,
        "buckets": BUCKETS,
        "chars": [MIN_CHARS, MAX_CHARS],
        "thresholds": {
            "toxic": model.toxic_threshold,
            "spam": model.spam_threshold,
            "veto": model.toxic_veto,
        },
        "toxic": _linear_json(model.toxic, digits),
        "spam": _linear_json(model.spam, digits),
        "training": dict(extra or {}),
    }


def _linear_from_json(document: object, name: str) -> Linear:
    if not isinstance(document, dict):
        raise ValueError(f"{name}: expected an object")
    bias, weights = document.get("bias"), document.get("weights")
    if not isinstance(bias, int | float) or not isinstance(weights, dict):
        raise ValueError(f"{name}: expected 'bias' (a number) and 'weights' (an object)")
    parsed: dict[int, float] = {}
    for key, weight in weights.items():
        if not isinstance(key, str) or not key.isdigit() or not isinstance(weight, int | float):
            raise ValueError(f"{name}: bad weight {key!r}: {weight!r}")
        bucket = int(key)
        if bucket >= BUCKETS:
            raise ValueError(f"{name}: bucket {bucket} out of range")
        parsed[bucket] = float(weight)
    return Linear(MappingProxyType(parsed), float(bias))


def model_from_json(document: object) -> NgramModel:
    """The model of a document from ``model_to_json``; ValueError if malformed or made
    with other feature settings (its weights would be meaningless here)."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} document")
    if document.get("buckets") != BUCKETS or document.get("chars") != [MIN_CHARS, MAX_CHARS]:
        raise ValueError("the model was trained with other feature settings")
    thresholds = document.get("thresholds")
    if not isinstance(thresholds, dict):
        raise ValueError("thresholds: expected an object")
    veto = thresholds.get("veto", 0.0)
    toxic = _threshold(thresholds.get("toxic"), "toxic")
    if not isinstance(veto, int | float) or not 0.0 <= veto < toxic:
        raise ValueError("thresholds.veto: expected a number in [0, thresholds.toxic)")
    return NgramModel(
        _linear_from_json(document.get("toxic"), "toxic"),
        _linear_from_json(document.get("spam"), "spam"),
        toxic,
        _threshold(thresholds.get("spam"), "spam"),
        float(veto),
    )


def _threshold(value: object, name: str) -> float:
    if not isinstance(value, int | float) or not 0.0 < value <= 1.0:
        raise ValueError(f"thresholds.{name}: expected a number in (0, 1]")
    return float(value)
