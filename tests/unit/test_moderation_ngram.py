"""core/moderation/ngram: hashed n-gram features, deterministic training, calibrated
scores, the stored form, and the packaged model as the policy's classifier
(``CAUSERIE_CLASSIFIER=causerie.moderation_model:ngram_classifier``)."""

from __future__ import annotations

import math
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.core.moderation import Action, Category, Context, Policy, PolicyConfig
from causerie.core.moderation.ngram import (
    BUCKETS,
    FORMAT,
    POLICY_CUT,
    VETO_CUT,
    Linear,
    NgramClassifier,
    NgramModel,
    feature_names,
    features,
    model_from_json,
    model_to_json,
    pruned,
    rescale,
    train_logistic,
    words,
)
from causerie.core.moderation.normalize import collapse, fold, tokenize
from causerie.moderation_data import load_classifier, load_lexicon
from causerie.moderation_model import ngram_classifier

CLASSIFIER = ngram_classifier()
POLICY = Policy(PolicyConfig(), load_lexicon(), classifier=CLASSIFIER)

TOY = (
    ("tu es un déchet, personne ne veut de toi", True),
    ("les gens comme toi devraient disparaître", True),
    ("tu ne sers à rien, va te cacher", True),
    ("you are worthless and everyone hates you", True),
    ("merci pour l'article, très clair", False),
    ("je ne suis pas d'accord avec le maire", False),
    ("thanks for the link, interesting read", False),
    ("le match était génial hier soir", False),
)


def toy_model(seed: int = 7) -> Linear:
    vectors = [features(text) for text, _ in TOY]
    return train_logistic(vectors, [label for _, label in TOY], random.Random(seed))


# --- features --------------------------------------------------------------------------------


def test_feature_names_are_char_ngrams_words_and_word_pairs_of_the_folded_text() -> None:
    names = feature_names("Ça VA")
    assert names[:4] == ["c: c", "c:ca", "c:a ", "c: ca"]  # padded words, folded, lower case
    assert "c: ca " in names and "w:ca" in names and "w:va" in names
    assert "b:ca va" in names
    assert not any(name.startswith("c:") and len(name) - 2 > 5 for name in names)
    assert feature_names("") == [] and feature_names("!!! ...") == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_features_hash_exactly_the_feature_names(text: str) -> None:
    counts: dict[int, int] = {}
    for name in feature_names(text):
        bucket = zlib.crc32(name.encode("utf-8")) % BUCKETS
        counts[bucket] = counts.get(bucket, 0) + 1
    norm = math.sqrt(sum(counts.values()))
    expected = {bucket: count / norm for bucket, count in counts.items()}
    assert features(text) == expected  # the memo of word buckets changes nothing


@settings(max_examples=500, deadline=None)
@given(
    st.text(max_size=80) | st.text(alphabet=list("acno01$@*.-' \u00a0\u200b\téÉσο"), max_size=40)
)
def test_words_by_chunk_are_the_words_of_the_whole_text(text: str) -> None:
    assert words(text) == [collapse(token.plain) for token in tokenize(fold(text))]


@pytest.mark.parametrize(
    "text", ["c o n n a r d", "t'es un c o n", "a b", "il a 3 ans", "x . y . z"]
)
def test_spaced_letters_join_across_chunks(text: str) -> None:
    assert words(text) == [collapse(token.plain) for token in tokenize(fold(text))]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=160))
def test_the_memoized_scores_are_the_models_scores(text: str) -> None:
    model = CLASSIFIER.model
    toxic, spam = model.probabilities(text)
    vector = features(text)
    assert math.isclose(toxic, model.toxic.probability(vector), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(spam, model.spam.probability(vector), rel_tol=1e-9, abs_tol=1e-12)
    assert model.probabilities(text) == (toxic, spam)  # from the memo, the same


@pytest.mark.parametrize(
    "obfuscated",
    ["C0NNARD", "c o n n a r d", "c.o.n.n.a.r.d", "connnnnard", "c\u03bfnnard", "c\u200bonnard"],
)
def test_an_obfuscated_word_has_the_features_of_its_plain_spelling(obfuscated: str) -> None:
    assert words(obfuscated) == words("connard") == ["conard"]  # runs of a letter collapsed
    assert features(f"t'es qu'un {obfuscated}") == features("t'es qu'un connard")


def test_features_are_stable_hashes_normalised_and_deterministic() -> None:
    vector = features("Bonjour à tous")
    assert zlib.crc32(b"w:bonjour") % BUCKETS in vector  # not hash(): same on every run
    assert vector == features("Bonjour à tous")
    assert features("Été À LA PLAGE") == features("ete a la plage")
    count = len(feature_names("Bonjour à tous"))  # each value: count / sqrt(features)
    assert math.isclose(sum(value * math.sqrt(count) for value in vector.values()), count)
    assert all(0 <= bucket < BUCKETS for bucket in vector)
    assert features("") == {}


# --- training --------------------------------------------------------------------------------


def test_training_is_deterministic_and_learns_the_toy_set() -> None:
    first, second = toy_model(), toy_model()
    assert first == second
    assert dict(first.weights) == dict(second.weights) and first.bias == second.bias
    for text, label in TOY:
        assert (first.probability(features(text)) >= 0.5) is label


def test_training_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="labels"):
        train_logistic([features("a b")], [True, False], random.Random(0))


def test_pruning_drops_small_weights_only() -> None:
    model = toy_model()
    kept = pruned(model, 0.05)
    assert kept.bias == model.bias
    assert all(abs(weight) >= 0.05 for weight in kept.weights.values())
    assert len(kept.weights) < len(model.weights)


# --- calibrated scores -----------------------------------------------------------------------


@given(st.floats(0.0, 1.0), st.floats(0.01, 0.99))
def test_rescale_puts_the_threshold_on_the_cut(probability: float, threshold: float) -> None:
    score = rescale(probability, threshold)
    assert 0.0 <= score <= 1.0
    assert (score >= POLICY_CUT) is (probability >= threshold)


def test_rescale_is_increasing_and_fixes_the_ends() -> None:
    points = [rescale(step / 100, 0.3) for step in range(101)]
    assert points == sorted(points)
    assert points[0] == 0.0 and points[30] == POLICY_CUT and points[100] == 1.0
    assert rescale(1.0, 1.0) == POLICY_CUT and rescale(0.5, 1.0) == 0.4
    assert rescale(0.5, 0.5, cut=0.6) == 0.6


@given(st.floats(0.0, 1.0), st.floats(0.02, 0.5), st.floats(0.55, 0.99))
def test_rescale_puts_the_veto_on_the_veto_cut(
    probability: float, veto: float, threshold: float
) -> None:
    score = rescale(probability, threshold, veto=veto)
    assert 0.0 <= score <= 1.0
    assert (score >= POLICY_CUT) is (probability >= threshold)
    assert (score >= VETO_CUT) is (probability >= veto)


def test_rescale_with_a_veto_is_increasing() -> None:
    points = [rescale(step / 100, 0.6, veto=0.2) for step in range(101)]
    assert points == sorted(points)
    assert points[20] == VETO_CUT and points[60] == POLICY_CUT and points[100] == 1.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_scores_are_in_bounds_for_any_text(text: str) -> None:
    scores = CLASSIFIER.scores(text, "fr")
    assert set(scores) == {Category.HARASSMENT, Category.SPAM}
    assert all(0.0 <= score <= 1.0 for score in scores.values())
    toxic, spam = CLASSIFIER.model.probabilities(text)
    assert 0.0 <= toxic <= 1.0 and 0.0 <= spam <= 1.0


# --- the stored form -------------------------------------------------------------------------


def test_json_round_trip_keeps_the_model() -> None:
    linear = toy_model()
    model = NgramModel(linear, linear, 0.6, 0.4)
    restored = model_from_json(model_to_json(model, digits=12))
    assert restored.toxic_threshold == 0.6 and restored.spam_threshold == 0.4
    assert restored.toxic.weights.keys() == linear.weights.keys()
    for text, _ in TOY:
        assert math.isclose(restored.probabilities(text)[0], model.probabilities(text)[0])


VALID = {
    "format": FORMAT,
    "buckets": BUCKETS,
    "chars": [2, 5],
    "thresholds": {"toxic": 0.5, "spam": 0.5},
    "toxic": {"bias": 0.0, "weights": {"12": 1.0}},
    "spam": {"bias": 0.0, "weights": {}},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, f"not a {FORMAT} document"),
        ({"buckets": 2**10}, "other feature settings"),
        ({"chars": [1, 4]}, "other feature settings"),
        ({"thresholds": 1}, "thresholds: expected an object"),
        ({"thresholds": {"toxic": 0.0, "spam": 0.5}}, "thresholds.toxic"),
        ({"thresholds": {"toxic": 0.5}}, "thresholds.spam"),
        ({"thresholds": {"toxic": 0.5, "spam": 0.5, "veto": 0.5}}, "thresholds.veto"),
        ({"thresholds": {"toxic": 0.5, "spam": 0.5, "veto": "0.1"}}, "thresholds.veto"),
        ({"thresholds": {"toxic": 0.5, "spam": 0.5, "veto": -0.1}}, "thresholds.veto"),
        ({"toxic": {"bias": 0.0, "weights": {"x": 1.0}}}, "toxic: bad weight"),
        ({"spam": {"bias": 0.0, "weights": {str(BUCKETS): 1.0}}}, "out of range"),
        ({"spam": {"weights": {}}}, "spam: expected 'bias'"),
        ({"toxic": []}, "toxic: expected an object"),
    ],
)
def test_a_malformed_document_is_a_value_error(change: dict[str, object], message: str) -> None:
    assert model_from_json(VALID).toxic.weights == {12: 1.0}
    with pytest.raises(ValueError, match=message):
        model_from_json({**VALID, **change})
    with pytest.raises(ValueError, match=f"not a {FORMAT} document"):
        model_from_json(None)


# --- the packaged model ----------------------------------------------------------------------


def test_the_packaged_model_loads_through_causerie_classifier() -> None:
    classifier = load_classifier("causerie.moderation_model:ngram_classifier")
    assert isinstance(classifier, NgramClassifier)
    model = classifier.model
    assert 0.0 < model.toxic_threshold <= 1.0 and 0.0 < model.spam_threshold <= 1.0
    assert model.toxic.weights and model.spam.weights
    scores = classifier.scores("Merci pour l'article !", "fr")
    assert all(0.0 <= score < POLICY_CUT for score in scores.values())


@pytest.mark.parametrize(
    "text",
    [
        "J'habite à Concarneau depuis vingt ans, c'est magnifique.",
        "quel bordel cette histoire",
        "je l'ai tué au boss final",
        "Je ne suis pas d'accord avec l'article, les chiffres sont faux.",
        "Bonne soirée, merci pour la discussion !",
        "Thanks for the chat, have a good evening.",
    ],
)
@pytest.mark.parametrize("context", list(Context))
def test_innocent_messages_pass_rules_and_model(text: str, context: Context) -> None:
    assert POLICY.check(text, context=context).action is Action.ALLOW


@pytest.mark.parametrize(
    "text",
    [
        "Les gens comme toi ne devraient pas avoir le droit de voter",
        "people like you should not be allowed to breed",
        "Personne ne t'aime, tu ferais mieux de disparaître",
        "nobody would miss you if you disappeared",
        "you are a waste of oxygen",
    ],
)
def test_toxic_messages_without_a_swear_word_are_caught_by_the_model(text: str) -> None:
    assert CLASSIFIER.scores(text, "fr")[Category.HARASSMENT] >= POLICY_CUT
    verdict = POLICY.check(text, context=Context.CHAT)
    assert verdict.action is Action.REFUSE and verdict.toxic
