"""Content moderation, pure: word lists with obfuscation handling, spam and personal-data
rules, an optional offline classifier, and per-site actions (docs/moderation.md).

Modules: ``normalize`` (folding and tokens), ``lexicon`` (word lists as data),
``policy`` (the rules and the decision), ``evaluation`` (scoring a labelled file).
"""

from causerie.core.moderation.evaluation import (
    EvalFormatError,
    EvalRow,
    Evaluation,
    evaluate,
    parse_eval,
    predicted_label,
)
from causerie.core.moderation.lexicon import TOXIC, Category, Lexicon, parse_list
from causerie.core.moderation.policy import (
    DEFAULT_CHAT_ACTIONS,
    DEFAULT_COMMENT_ACTIONS,
    MESSAGES,
    VETOABLE,
    Action,
    Classifier,
    Context,
    Finding,
    Policy,
    PolicyConfig,
    Reason,
    Verdict,
    parse_actions,
)

__all__ = [
    "DEFAULT_CHAT_ACTIONS",
    "DEFAULT_COMMENT_ACTIONS",
    "MESSAGES",
    "TOXIC",
    "VETOABLE",
    "Action",
    "Category",
    "Classifier",
    "Context",
    "EvalFormatError",
    "EvalRow",
    "Evaluation",
    "Finding",
    "Lexicon",
    "Policy",
    "PolicyConfig",
    "Reason",
    "Verdict",
    "evaluate",
    "parse_actions",
    "parse_eval",
    "parse_list",
    "predicted_label",
]
