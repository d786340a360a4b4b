"""Train the n-gram moderation model and write ``core/data/moderation/ngram-model.json.gz``.

    .venv/bin/python scripts/train_moderation_model.py [--dry-run] [--dump FILE]

Training data, in groups (a group is a file, written by one author at one time):
- ``tests/data/moderation_dev.tsv``, ``moderation_tuning.tsv``, ``moderation_tuning_2.tsv``:
  the word lists were tuned on them, so the rules score them almost perfectly; always
  trained on, never scored.
- ``tests/data/moderation_tuning_3.tsv`` (the third held-out set, retired after it
  measured two policies) and every ``scripts/moderation_corpus/*.tsv`` (training corpus
  written by separate authors, each on a theme, who never saw the word lists, the
  model or any evaluation set): the rules were never tuned on them.
Texts seen twice are kept once (the first file wins). ``tests/data/moderation_holdout_4.tsv``
is never read here.

Cross-validation is by group: each scored group is left out in turn, the model is
trained on every other row and scores it, so the figures say how the model does on a
file by a new author on a new theme, not on neighbours of its training rows.

Thresholds: on those out-of-group scores, the toxic and spam thresholds and the veto
(below it, the model dismisses the lists' insult, harassment and sexual findings) are
chosen so that rules + model hold or refuse at most ``MAX_FALSE_POSITIVES`` of the
``ok`` messages, maximising toxic recall, then spam recall. The honest figure chooses
each group's thresholds on the other groups only. The final models are trained on all
the rows and stored with the thresholds (``NgramClassifier`` maps them onto the
policy's default cut, 0.8, and default veto, 0.1). Deterministic: the same data gives
the same file, byte for byte. Takes about 7 minutes on 2 cores.

Printed: per group and pooled, the figures of the rules alone and of rules + model;
then the size of the file and the cost of ``NgramClassifier.scores`` per message
(``--dump FILE`` also writes every out-of-group score, one JSON line per row).
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from causerie.core.moderation import (  # noqa: E402 - after the path setup above
    TOXIC,
    VETOABLE,
    Action,
    Category,
    EvalRow,
    Evaluation,
    Policy,
    PolicyConfig,
    Verdict,
    evaluate,
    parse_eval,
)
from causerie.core.moderation.ngram import (  # noqa: E402
    Linear,
    NgramClassifier,
    NgramModel,
    TrainingOptions,
    features,
    model_to_json,
    pruned,
    train_logistic,
)
from causerie.moderation_data import load_lexicon  # noqa: E402

DATA = ROOT / "tests" / "data"
CORPUS = ROOT / "scripts" / "moderation_corpus"
#: The rules were tuned on these: trained on, never scored.
DEVELOPMENT_FILES = ("moderation_dev.tsv", "moderation_tuning.tsv", "moderation_tuning_2.tsv")
#: The rules were never tuned on these: each is a group of the cross-validation.
RETIRED_FILES = ("moderation_tuning_3.tsv",)
OUTPUT = ROOT / "src" / "causerie" / "core" / "data" / "moderation" / "ngram-model.json.gz"
MAX_FALSE_POSITIVES = 0.008  # share of ``ok`` messages held or refused by rules + model
#: The vetoes tried: below p_toxic = veto, the model dismisses a word-list insult,
#: harassment or sexual finding (never hate nor threats): see ``PolicyConfig.veto``.
VETO_CANDIDATES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)
MIN_WEIGHT = 0.002  # smaller weights are dropped from the stored model
TOXIC_OPTIONS = TrainingOptions(epochs=10, learning_rate=0.5, l2=1e-3)
SPAM_OPTIONS = TrainingOptions(epochs=10, learning_rate=0.5, l2=1e-3)
ORDER_SEED = 1127  # each model's examples are visited in the order random.Random(1127) draws


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    rows: tuple[EvalRow, ...]
    scored: bool  # left out in turn by the cross-validation


def load_groups() -> list[Group]:
    """Every training file as a group, texts seen in an earlier file dropped."""
    paths = [(DATA / name, False) for name in DEVELOPMENT_FILES]
    paths += [(DATA / name, True) for name in RETIRED_FILES]
    paths += [(path, True) for path in sorted(CORPUS.glob("*.tsv"))]
    seen: set[str] = set()
    groups: list[Group] = []
    for path, scored in paths:
        rows = []
        for row in parse_eval(path.read_text(encoding="utf-8")):
            if row.text not in seen:
                seen.add(row.text)
                rows.append(row)
        groups.append(Group(path.name, tuple(rows), scored))
    return groups


def train(vectors: Sequence[dict[int, float]], rows: Sequence[EvalRow]) -> tuple[Linear, Linear]:
    toxic = train_logistic(
        vectors, [row.label == "toxic" for row in rows], random.Random(ORDER_SEED), TOXIC_OPTIONS
    )
    spam = train_logistic(
        vectors, [row.label == "spam" for row in rows], random.Random(ORDER_SEED), SPAM_OPTIONS
    )
    return toxic, spam


_GROUPS: list[Group] = []  # set by main before the worker processes fork
_VECTORS: dict[str, dict[int, float]] = {}


def _train_without(name: str) -> tuple[dict[int, float], float, dict[int, float], float]:
    """The models trained on every file but ``name`` (in a worker process)."""
    training = [row for group in _GROUPS if group.name != name for row in group.rows]
    toxic, spam = train([_VECTORS[row.text] for row in training], training)
    return dict(toxic.weights), toxic.bias, dict(spam.weights), spam.bias


@dataclass(frozen=True, slots=True)
class Scored:
    """A row with its out-of-file probabilities and what the rules alone found in it."""

    row: EvalRow
    group: str  # the file it comes from
    toxic: float
    spam: float
    categories: frozenset[Category]  # of the rules' verdict, if it holds or refuses

    def rules_label(self, veto: float) -> str:
        """What the rules say, once the model's veto (p_toxic below ``veto``) applies."""
        found = self.categories - VETOABLE if self.toxic < veto else self.categories
        if found & TOXIC:
            return "toxic"
        return "spam" if Category.SPAM in found else "ok"


@dataclass(frozen=True, slots=True)
class Cuts:
    toxic: float = 1.0
    spam: float = 1.0
    veto: float = 0.0


def predicted(item: Scored, cuts: Cuts, rules: bool = True) -> str:
    if item.toxic >= cuts.toxic:
        return "toxic"
    label = item.rules_label(cuts.veto) if rules else "ok"
    if label == "ok" and item.spam >= cuts.spam:
        return "spam"
    return label


@dataclass(frozen=True, slots=True)
class Figures:
    toxic_recall: float
    spam_recall: float
    false_positives: float  # share of ok messages flagged
    toxic_precision: float

    def line(self) -> str:
        return (
            f"toxic recall {self.toxic_recall:6.1%}  spam recall {self.spam_recall:6.1%}  "
            f"FP on ok {self.false_positives:5.2%}  toxic precision {self.toxic_precision:6.1%}"
        )


def figures(items: Sequence[Scored], labels: Sequence[str]) -> Figures:
    def recall(label: str) -> float:
        actual = [p for item, p in zip(items, labels, strict=True) if item.row.label == label]
        return sum(p == label for p in actual) / len(actual) if actual else 1.0

    ok = [p for item, p in zip(items, labels, strict=True) if item.row.label == "ok"]
    flagged = [item.row.label for item, p in zip(items, labels, strict=True) if p == "toxic"]
    return Figures(
        recall("toxic"),
        recall("spam"),
        sum(p != "ok" for p in ok) / len(ok) if ok else 0.0,
        sum(label == "toxic" for label in flagged) / len(flagged) if flagged else 1.0,
    )


def _cut_above(value: float, positives: Sequence[float]) -> float:
    """A threshold just above ``value``: halfway to the next positive score above it."""
    above = [score for score in positives if score > value]
    return (value + min(above)) / 2 if above else min(1.0, value + 1e-6)


def _loosest_cut(scores: Sequence[float], allowed: int, positives: Sequence[float]) -> float:
    """The lowest threshold that lets at most ``allowed`` of ``scores`` reach it."""
    if allowed < 0:
        return 1.0
    ranked = sorted(scores, reverse=True)
    if allowed >= len(ranked):
        return min([*positives, 1.0])  # every score may pass: the lowest positive's
    return _cut_above(ranked[allowed], positives)


def choose_thresholds(items: Sequence[Scored]) -> Cuts:
    """The cuts with which rules + model hold or refuse at most MAX_FALSE_POSITIVES of
    the ok rows: for each candidate veto, the loosest toxic cut within the budget left
    by the rules, then the loosest spam cut within what remains; the best toxic recall
    wins, then spam recall, then the smallest veto."""
    ok = [item for item in items if item.row.label == "ok"]
    budget = int(MAX_FALSE_POSITIVES * len(ok))
    toxic_positives = [item.toxic for item in items if item.row.label == "toxic"]
    spam_positives = [item.spam for item in items if item.row.label == "spam"]
    best: tuple[float, float, float, Cuts] | None = None
    for veto in VETO_CANDIDATES:
        flagged = sum(item.rules_label(veto) != "ok" for item in ok)
        free = [item for item in ok if item.rules_label(veto) == "ok"]
        toxic_cut = _loosest_cut([i.toxic for i in free], budget - flagged, toxic_positives)
        still_free = [item for item in free if item.toxic < toxic_cut]
        spent = flagged + len(free) - len(still_free)
        spam_cut = _loosest_cut([i.spam for i in still_free], budget - spent, spam_positives)
        cuts = Cuts(toxic_cut, spam_cut, veto)
        result = figures(items, [predicted(item, cuts) for item in items])
        if result.false_positives > MAX_FALSE_POSITIVES:
            continue
        key = (result.toxic_recall, result.spam_recall, -veto)
        if best is None or key > best[:3]:
            best = (*key, cuts)
    return best[3] if best is not None else Cuts()


def merged(evaluations: Sequence[Evaluation]) -> Evaluation:
    return Evaluation(tuple(outcome for e in evaluations for outcome in e.outcomes))


def policy_line(evaluation: Evaluation) -> str:
    return (
        f"toxic recall {evaluation.recall('toxic'):6.1%}  "
        f"spam recall {evaluation.recall('spam'):6.1%}  "
        f"FP on ok {evaluation.false_positive_rate:5.2%}  "
        f"toxic precision {evaluation.precision('toxic'):6.1%}"
    )


CHAT_OPENINGS = (
    "Salut", "Bonjour", "Coucou", "Bonsoir", "Ah", "Bon", "Franchement", "Perso", "Mouais",
    "Oui", "Non", "Bof", "Alors", "Euh", "Honnêtement", "En vrai",
)  # fmt: skip
CHAT_MIDDLES = (
    "tu as lu l'article sur les retraites", "je trouve que le maire a raison",
    "le match d'hier était incroyable", "la réforme passe mal chez les profs",
    "les chiffres de l'Insee sont clairs", "il fait une chaleur pas possible à Lyon",
    "le prix de l'essence a encore augmenté", "j'habite à Concarneau depuis dix ans",
    "le journaliste a bien résumé le débat", "les syndicats appellent à la grève",
    "mon fils passe le bac cette année", "le TER était encore en retard ce matin",
    "ils parlent de fermer la maternité", "le budget de la culture baisse encore",
    "les data centres consomment trop d'eau", "j'ai pas tout compris au passage sur l'IA",
)  # fmt: skip
CHAT_ENDINGS = (
    "?", "!", ".", " non ?", " je crois.", " c'est fou.", " tu en penses quoi ?",
    " bref.", " 😅", " mdr", " grave.", " à suivre.",
)  # fmt: skip


def chat_lines(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(CHAT_OPENINGS)}, {rng.choice(CHAT_MIDDLES)}{rng.choice(CHAT_ENDINGS)}"
        for _ in range(count)
    ]


def microseconds_per_message(classifier: NgramClassifier, lines: Sequence[str]) -> float:
    """Best of five CPU-time means, after a warm-up pass."""
    for line in lines:
        classifier.scores(line, "fr")
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for line in lines:
            classifier.scores(line, "fr")
        best = min(best, (time.process_time() - start) / len(lines))
    return best * 1e6


def blocking(verdict: Verdict) -> frozenset[Category]:
    """The categories of a verdict that holds or refuses (none if it allows or masks)."""
    if verdict.action in (Action.HOLD, Action.REFUSE):
        return frozenset(verdict.categories)
    return frozenset()


def score_group(group: Group, models: tuple[Linear, Linear], policy: Policy) -> list[Scored]:
    """A left-out file's rows scored by the models trained without it, and by the rules."""
    model = NgramModel(*models)  # scores as the classifier does
    outcomes = evaluate(policy, group.rows).outcomes
    items = []
    for row, outcome in zip(group.rows, outcomes, strict=True):
        toxic, spam = model.probabilities(row.text)
        items.append(
            Scored(
                row,
                group.name,
                toxic,
                spam,
                blocking(outcome.verdict),
            )
        )
    return items


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="do not write the model")
    parser.add_argument(
        "--dump", type=Path, help="write the out-of-file scores of every row there (JSON lines)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    groups = load_groups()
    rows = [row for group in groups for row in group.rows]
    counts = {label: sum(row.label == label for row in rows) for label in ("ok", "toxic", "spam")}
    print(f"{len(rows)} distinct rows in {len(groups)} files: {counts}")
    vectors = {row.text: features(row.text) for row in rows}
    lexicon = load_lexicon()
    rules_policy = Policy(PolicyConfig(), lexicon)

    items: list[Scored] = []
    models: dict[str, tuple[Linear, Linear]] = {}
    scored_groups = [group for group in groups if group.scored]
    # One process per core: each trains the models without one file (forked, the
    # vectors are shared); weights come back as plain dicts (a MappingProxyType does
    # not pickle).
    global _GROUPS, _VECTORS
    _GROUPS, _VECTORS = groups, vectors
    fork = multiprocessing.get_context("fork")  # the workers inherit the globals
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=fork) as pool:
        trained = list(pool.map(_train_without, [group.name for group in scored_groups]))
    for group, (toxic_weights, toxic_bias, spam_weights, spam_bias) in zip(
        scored_groups, trained, strict=True
    ):
        models[group.name] = (
            Linear(MappingProxyType(toxic_weights), toxic_bias),
            Linear(MappingProxyType(spam_weights), spam_bias),
        )
        items += score_group(group, models[group.name], rules_policy)
    print(
        f"leave-one-file-out over {len(scored_groups)} files "
        f"in {time.perf_counter() - started:.1f} s"
    )

    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for item in items:
                record = {
                    "group": item.group, "label": item.row.label, "lang": item.row.lang,
                    "text": item.row.text, "toxic": item.toxic, "spam": item.spam,
                    "categories": sorted(item.categories),
                }  # fmt: skip
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    cuts = choose_thresholds(items)
    print(
        f"\nthresholds (stored): toxic {cuts.toxic:.3f}, spam {cuts.spam:.3f}, veto {cuts.veto:.2f}"
    )
    print("\nout-of-file scores, thresholds chosen on all of them (optimistic):")
    print(f"  rules alone     {figures(items, [predicted(i, Cuts()) for i in items]).line()}")
    alone = [predicted(item, cuts, rules=False) for item in items]
    print(f"  model alone     {figures(items, alone).line()}")
    both = [predicted(item, cuts) for item in items]
    print(f"  rules + model   {figures(items, both).line()}")

    # Honest: each file's thresholds chosen on the other files' scores, the file scored
    # by the model trained without it, through the real Policy and evaluate.
    print("\nper file, its thresholds chosen on the other files (honest):")
    evaluations: list[Evaluation] = []
    for group in scored_groups:
        others = [item for item in items if item.group != group.name]
        own = choose_thresholds(others)
        toxic, spam = models[group.name]
        classifier = NgramClassifier(NgramModel(toxic, spam, own.toxic, own.spam, own.veto))
        policy = Policy(PolicyConfig(), lexicon, classifier=classifier)
        evaluation = evaluate(policy, group.rows)
        evaluations.append(evaluation)
        print(f"  {group.name:<26} rules   {policy_line(evaluate(rules_policy, group.rows))}")
        print(f"  {'':<26} + model {policy_line(evaluation)}")
    combined = merged(evaluations)
    print(f"  {'all of them':<26} + model {policy_line(combined)}")

    training_started = time.perf_counter()
    toxic, spam = train([vectors[row.text] for row in rows], rows)
    print(
        f"\nfinal models trained on all {len(rows)} rows in "
        f"{time.perf_counter() - training_started:.1f} s; "
        f"weights: toxic {len(toxic.weights)}, spam {len(spam.weights)}"
    )
    model = NgramModel(
        pruned(toxic, MIN_WEIGHT), pruned(spam, MIN_WEIGHT), cuts.toxic, cuts.spam, cuts.veto
    )
    print(
        f"kept (|w| ≥ {MIN_WEIGHT}): toxic {len(model.toxic.weights)}, "
        f"spam {len(model.spam.weights)}"
    )
    document = model_to_json(
        model,
        {
            "files": [group.name for group in groups],
            "rows": counts,
            "max_false_positives": MAX_FALSE_POSITIVES,
            "leave_one_file_out_rules_and_model": combined.as_json(),
        },
    )
    payload = gzip.compress(
        json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8"),
        compresslevel=9,
        mtime=0,
    )
    if args.dry_run:
        print(f"model file: {len(payload) / 1e6:.2f} MB (not written: --dry-run)")
    else:
        OUTPUT.write_bytes(payload)
        print(f"model file: {OUTPUT.relative_to(ROOT)}, {len(payload) / 1e6:.2f} MB")

    lines = chat_lines(2000, ORDER_SEED)
    cost = microseconds_per_message(NgramClassifier(model), lines)
    print(f"NgramClassifier.scores: {cost:.0f} µs/message on {len(lines)} short French chat lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
