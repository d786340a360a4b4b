"""Per-message cost of the moderation policy in the chat: ``Policy.check`` in µs/message.

    .venv/bin/python bench/moderation_speed.py [--rounds 200] [--json]

What a chat relay does for each message (``web/chat.py``): ``policy.check(text,
context="chat", history=<the author's last 5 texts>, lang=…)``. Here one author per
stream sends realistic messages in turn, and each call gets that author's previous
five texts as history, exactly as the relay keeps them.

Streams:

- ``clean fr`` / ``clean en``: ordinary chat sentences (nothing to find);
- ``clean fr, new word``: the same with one word never seen before in each message
  (a rare name, a typo): the per-chunk memo of the policy cannot answer for it;
- ``clean fr, 400 authors``: 400 readers writing in turn (as in the relay benchmark),
  each text their own (a signature word per author), each with their own history:
  4,800 distinct texts in the histories;
- ``findings``: insults, threats, harassment, sexual solicitation, personal data,
  spam (the slow path: every rule runs).

Warm-up first (one full round), then ``--rounds`` rounds; per stream the best of
five repeats of the mean is reported, in CPU time of this process (the least
disturbed by the rest of a busy machine). The relay alone costs ~20 µs per message
(bench/README.md).
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from causerie.core.moderation import Policy, PolicyConfig
from causerie.moderation_data import load_lexicon

CLEAN_FR = (
    "Salut, tu as lu l'article sur la réforme des retraites ?",
    "Oui, je trouve qu'il explique bien les chiffres du COR.",
    "Par contre le passage sur les carrières longues est un peu rapide.",
    "T'as raison, ils auraient pu détailler les exemples.",
    "Moi je suis infirmière, 43 annuités c'est énorme pour nous.",
    "Je comprends, ma mère a commencé à bosser à 16 ans.",
    "Le gouvernement dit que c'est nécessaire pour l'équilibre.",
    "Mouais, le rapport du COR est plus nuancé que ça.",
    "Tu penses qu'il y aura encore des grèves en janvier ?",
    "Probablement, les syndicats ont déjà annoncé une date.",
    "Bon, je dois filer, merci pour la discussion !",
    "Merci à toi, bonne soirée et à bientôt peut-être.",
)
CLEAN_EN = (
    "Hi, did you read the piece on the heatwave in London?",
    "Yes, 40 degrees is just not normal for this country.",
    "The part about the trains buckling was wild, honestly.",
    "I work in a hospital and we were completely overwhelmed.",
    "That must have been hard, the article barely mentions staff.",
    "Exactly, they focus on the weather maps and not on people.",
    "Do you think the council will plant more trees this time?",
    "They promised it last year and nothing happened, sadly.",
    "Fair point, but the budget is tiny after the cuts.",
    "True, still worth pushing for it at the next meeting.",
    "Anyway I have to go, thanks for the chat!",
    "Thanks to you too, have a good evening.",
)
FINDINGS = (
    "T'es vraiment un connard, tu comprends rien",
    "ferme ta gueule espèce de c0nnard",
    "Je sais où tu habites, fais gaffe à toi",
    "you're a fucking idiot, go back to school",
    "I'll find you and kill you",
    "envoie moi des photos de toi nue",
    "appelle-moi au 06 12 34 56 78 ce soir",
    "mon insta: lea_92 si tu veux",
    "Gagnez 500€ par jour avec le bitcoin, contactez-moi sur WhatsApp !",
    "Cliquez ici : https://bit.ly/3xYz12",
    "Les migrants c'est tous des parasites, faut les virer",
    "nobody loves you, just die",
)


_SYLLABLES = ("ba", "ke", "di", "lo", "mu", "ra", "si", "to", "vu", "ze")


def _new_words() -> Callable[[str], str]:
    """Each call: the sentence with one word never seen before (a made-up name)."""
    counter = iter(range(10**9))

    def fresh(text: str) -> str:
        number = next(counter)
        word = "".join(_SYLLABLES[int(digit)] for digit in f"{number:06d}")
        return f"{text[:-1]} Ker{word}{text[-1]}"

    return fresh


def _authors(policy: Policy, texts: Sequence[str], rounds: int, authors: int = 400) -> float:
    """Mean µs per check, ``authors`` readers writing in turn, each with their history."""
    recent = [collections.deque[str](maxlen=5) for _ in range(authors)]
    own = [
        [f"{text[:-1]} {_signature(author)}{text[-1]}" for text in texts]
        for author in range(authors)
    ]
    check = policy.check
    start = time.process_time_ns()
    for _ in range(rounds):
        for index in range(len(texts)):
            for author in range(authors):
                text = own[author][index]
                check(text, context="chat", history=tuple(recent[author]), lang="fr")
                recent[author].append(text)
    return (time.process_time_ns() - start) / (rounds * len(texts) * authors) / 1000


def _signature(author: int) -> str:
    """A word of the author's own, a made-up name ("Bakedi", "Lomura"…)."""
    return "".join(_SYLLABLES[int(digit)] for digit in f"{author:03d}").capitalize()


def _stream(policy: Policy, texts: Sequence[str], rounds: int, lang: str) -> float:
    """Mean µs per check over ``rounds`` passes of ``texts``, with a 5-text history."""
    recent: collections.deque[str] = collections.deque(maxlen=5)
    check = policy.check
    start = time.process_time_ns()
    for _ in range(rounds):
        for text in texts:
            check(text, context="chat", history=tuple(recent), lang=lang)
            recent.append(text)
    return (time.process_time_ns() - start) / (rounds * len(texts)) / 1000


def measure(rounds: int) -> dict[str, float]:
    policy = Policy(PolicyConfig(), load_lexicon())
    fresh = _new_words()
    streams: dict[str, tuple[Callable[[], Sequence[str]], str]] = {
        "clean fr": (lambda: CLEAN_FR, "fr"),
        "clean en": (lambda: CLEAN_EN, "en"),
        "clean fr, new word": (lambda: [fresh(text) for text in CLEAN_FR], "fr"),
        "findings": (lambda: FINDINGS, "fr"),
    }
    results: dict[str, float] = {}
    _authors(policy, CLEAN_FR, 1)  # warm-up: every author's words seen once
    results["clean fr, 400 authors"] = round(
        min(_authors(policy, CLEAN_FR, max(1, rounds // 50)) for _ in range(3)), 2
    )
    for name, (texts, lang) in streams.items():
        _stream(policy, texts(), 1, lang)  # warm-up: memos, lru caches
        best = float("inf")
        for _ in range(5):
            batch = texts()
            gc.collect()
            gc.disable()
            try:
                if name.endswith("new word"):
                    # Fresh words each round: rounds of distinct texts, timed together.
                    batches = [batch] + [texts() for _ in range(rounds - 1)]
                    flat = [text for one in batches for text in one]
                    mean = _stream(policy, flat, 1, lang)
                else:
                    mean = _stream(policy, batch, rounds, lang)
            finally:
                gc.enable()
            best = min(best, mean)
        results[name] = round(best, 2)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    results = measure(args.rounds)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"Policy.check, context chat, 5-message history, best of 5 × {args.rounds} rounds")
    for name, micros in results.items():
        print(f"  {name:22} {micros:8.2f} µs/message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
