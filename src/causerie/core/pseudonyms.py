"""Fresh, friendly French pseudonyms: an animal and an adjective that agrees with it."""

from __future__ import annotations

from typing import Final, Protocol


class RandomSource(Protocol):
    """What we need of a random generator (``secrets.SystemRandom()`` in production)."""

    def randrange(self, start: int, /) -> int: ...


# (name, feminine?)
ANIMALS: Final[tuple[tuple[str, bool], ...]] = (
    ("Loutre", True),
    ("Hibou", False),
    ("Renard", False),
    ("Mésange", True),
    ("Blaireau", False),
    ("Chouette", True),
    ("Hérisson", False),
    ("Baleine", True),
    ("Lynx", False),
    ("Tortue", True),
    ("Écureuil", False),
    ("Gazelle", True),
    ("Pingouin", False),
    ("Abeille", True),
    ("Castor", False),
    ("Cigogne", True),
    ("Dauphin", False),
    ("Fourmi", True),
    ("Koala", False),
    ("Libellule", True),
    ("Manchot", False),
    ("Marmotte", True),
    ("Panda", False),
    ("Pie", True),
    ("Phoque", False),
    ("Salamandre", True),
    ("Lapin", False),
    ("Grenouille", True),
    ("Héron", False),
    ("Belette", True),
    ("Yak", False),
    ("Otarie", True),
)

# (masculine, feminine)
ADJECTIVES: Final[tuple[tuple[str, str], ...]] = (
    ("pensif", "pensive"),
    ("malicieux", "malicieuse"),
    ("curieux", "curieuse"),
    ("rêveur", "rêveuse"),
    ("espiègle", "espiègle"),
    ("bavard", "bavarde"),
    ("discret", "discrète"),
    ("enjoué", "enjouée"),
    ("songeur", "songeuse"),
    ("joyeux", "joyeuse"),
    ("attentif", "attentive"),
    ("serein", "sereine"),
    ("audacieux", "audacieuse"),
    ("malin", "maligne"),
    ("poli", "polie"),
    ("têtu", "têtue"),
    ("sage", "sage"),
    ("rieur", "rieuse"),
    ("vif", "vive"),
    ("calme", "calme"),
    ("taquin", "taquine"),
    ("sincère", "sincère"),
    ("généreux", "généreuse"),
    ("placide", "placide"),
)


def pseudonym(rng: RandomSource) -> str:
    """One pseudonym such as « Loutre pensive »."""
    name, feminine = ANIMALS[rng.randrange(len(ANIMALS))]
    masculine_form, feminine_form = ADJECTIVES[rng.randrange(len(ADJECTIVES))]
    return f"{name} {feminine_form if feminine else masculine_form}"


def pseudonym_pair(rng: RandomSource) -> tuple[str, str]:
    """Two different pseudonyms for the two seats of a conversation."""
    first = pseudonym(rng)
    second = pseudonym(rng)
    while second == first:
        second = pseudonym(rng)
    return first, second
