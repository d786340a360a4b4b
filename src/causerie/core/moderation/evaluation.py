"""Scoring the live policy on a labelled file (``causerie moderation check``).

The file: a header line, then ``label<TAB>lang<TAB>text`` lines, label one of ``ok``,
``toxic`` (insults, harassment, threats, hate, sexual solicitation) or ``spam``.

A verdict's label: ``toxic`` if a toxic category was found and the action is not
ALLOW, else ``spam`` if spam was found and the action is not ALLOW, else ``ok``.
A false positive on ``ok`` is an ``ok`` message the policy does not let through:
held or refused. Masking personal data in an otherwise fine message lets it through.
Precision with nothing predicted, and recall with nothing to find, are 1.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from causerie.core.moderation.lexicon import Category
from causerie.core.moderation.policy import Action, Context, Policy, Verdict

LABELS: Final = ("ok", "toxic", "spam")


class EvalFormatError(ValueError):
    """A malformed line of an evaluation file (the file's fault, not ours)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True, slots=True)
class EvalRow:
    line: int
    label: str
    lang: str
    text: str


def parse_eval(text: str) -> list[EvalRow]:
    """The rows of an evaluation file; EvalFormatError names the first bad line."""
    rows: list[EvalRow] = []
    lines = text.splitlines()
    if not lines:
        raise EvalFormatError(1, "empty file: expected a header line 'label<TAB>lang<TAB>text'")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise EvalFormatError(
                number, f"expected 3 tab-separated fields (label, lang, text), got {len(fields)}"
            )
        label, lang, message = (part.strip() for part in fields)
        if label not in LABELS:
            raise EvalFormatError(number, f"unknown label {label!r} (expected ok, toxic or spam)")
        if not lang:
            raise EvalFormatError(number, "empty language")
        if not message:
            raise EvalFormatError(number, "empty text")
        rows.append(EvalRow(number, label, lang, message))
    return rows


def predicted_label(verdict: Verdict) -> str:
    if verdict.action is Action.ALLOW:
        return "ok"
    if verdict.toxic:
        return "toxic"
    if Category.SPAM in verdict.categories:
        return "spam"
    return "ok"


@dataclass(frozen=True, slots=True)
class Outcome:
    row: EvalRow
    predicted: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Evaluation:
    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)

    def _count(self, label: str, predicted: str) -> int:
        return sum(1 for o in self.outcomes if o.row.label == label and o.predicted == predicted)

    def precision(self, label: str) -> float:
        predicted = sum(1 for o in self.outcomes if o.predicted == label)
        return self._count(label, label) / predicted if predicted else 1.0

    def recall(self, label: str) -> float:
        actual = sum(1 for o in self.outcomes if o.row.label == label)
        return self._count(label, label) / actual if actual else 1.0

    def support(self, label: str) -> int:
        return sum(1 for o in self.outcomes if o.row.label == label)

    @property
    def false_positive_rate(self) -> float:
        """Among ``ok`` messages, the share held or refused."""
        ok = [o for o in self.outcomes if o.row.label == "ok"]
        blocked = sum(1 for o in ok if o.verdict.action in (Action.HOLD, Action.REFUSE))
        return blocked / len(ok) if ok else 0.0

    def errors(self) -> list[Outcome]:
        """The rows the policy got wrong (for tuning a word list)."""
        return [o for o in self.outcomes if o.predicted != o.row.label]

    def as_json(self) -> dict[str, dict[str, float]]:
        """The public contract of ``moderation check --json``: exactly these keys."""
        return {
            "toxic": {"precision": self.precision("toxic"), "recall": self.recall("toxic")},
            "spam": {"precision": self.precision("spam"), "recall": self.recall("spam")},
            "ok": {"false_positive_rate": self.false_positive_rate},
        }


def evaluate(
    policy: Policy, rows: Iterable[EvalRow], context: Context = Context.COMMENT
) -> Evaluation:
    """Every row through ``policy.check`` (no history: rows are independent)."""
    outcomes = []
    for row in rows:
        verdict = policy.check(row.text, context=context, lang=row.lang)
        outcomes.append(Outcome(row, predicted_label(verdict), verdict))
    return Evaluation(tuple(outcomes))
