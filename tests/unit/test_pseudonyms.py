"""Pseudonyms: « Animal adjectif », agreeing in gender, two different ones per conversation."""

from __future__ import annotations

import random
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causerie.core.pseudonyms import ADJECTIVES, ANIMALS, pseudonym, pseudonym_pair


class ScriptedRandom:
    """A RandomSource that returns the given indexes in order."""

    def __init__(self, indexes: Iterable[int]) -> None:
        self._indexes = iter(indexes)
        self.calls = 0

    def randrange(self, start: int, /) -> int:
        self.calls += 1
        index = next(self._indexes)
        assert 0 <= index < start, f"scripted index {index} out of range({start})"
        return index


def index_of_animal(name: str) -> int:
    return [animal for animal, _ in ANIMALS].index(name)


def index_of_adjective(masculine: str) -> int:
    return [form for form, _ in ADJECTIVES].index(masculine)


@pytest.mark.parametrize(
    ("animal", "adjective", "expected"),
    [
        ("Loutre", "pensif", "Loutre pensive"),
        ("Hibou", "pensif", "Hibou pensif"),
        ("Chouette", "malin", "Chouette maligne"),
        ("Renard", "malin", "Renard malin"),
        ("Mésange", "discret", "Mésange discrète"),
        ("Baleine", "rêveur", "Baleine rêveuse"),
        ("Castor", "rêveur", "Castor rêveur"),
        ("Tortue", "sage", "Tortue sage"),
        ("Écureuil", "vif", "Écureuil vif"),
        ("Abeille", "vif", "Abeille vive"),
    ],
)
def test_known_pseudonyms(animal: str, adjective: str, expected: str) -> None:
    rng = ScriptedRandom([index_of_animal(animal), index_of_adjective(adjective)])
    assert pseudonym(rng) == expected


def test_every_combination_is_animal_space_agreeing_adjective() -> None:
    for animal_index, (animal, feminine) in enumerate(ANIMALS):
        for adjective_index, (masculine, feminine_form) in enumerate(ADJECTIVES):
            name = pseudonym(ScriptedRandom([animal_index, adjective_index]))
            assert name == f"{animal} {feminine_form if feminine else masculine}"
            first, second = name.split(" ")
            assert first and second
            assert first[0].isupper() and second[0].islower()


def test_word_lists_have_no_duplicates_and_both_genders() -> None:
    assert len({animal for animal, _ in ANIMALS}) == len(ANIMALS)
    assert len({masculine for masculine, _ in ADJECTIVES}) == len(ADJECTIVES)
    assert {feminine for _, feminine in ANIMALS} == {True, False}


def test_pair_draws_again_until_the_names_differ() -> None:
    loutre, hibou = index_of_animal("Loutre"), index_of_animal("Hibou")
    rng = ScriptedRandom([loutre, 0, loutre, 0, loutre, 0, hibou, 0])
    assert pseudonym_pair(rng) == ("Loutre pensive", "Hibou pensif")
    assert rng.calls == 8


def test_pair_accepts_the_same_animal_with_another_adjective() -> None:
    loutre = index_of_animal("Loutre")
    assert pseudonym_pair(ScriptedRandom([loutre, 0, loutre, 1])) == (
        "Loutre pensive",
        "Loutre malicieuse",
    )


@settings(max_examples=100)
@given(st.integers(min_value=0, max_value=2**32))
def test_pair_names_always_differ(seed: int) -> None:
    first, second = pseudonym_pair(random.Random(seed))
    assert first != second
    for name in (first, second):
        animal, adjective = name.split(" ")
        assert animal and adjective
