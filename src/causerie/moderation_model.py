"""Loading the packaged n-gram moderation model: the I/O that ``core.moderation.ngram``
leaves out.

It is the default ``CAUSERIE_CLASSIFIER`` (``causerie.moderation_model:ngram_classifier``)
(``load_classifier`` calls the factory once, when the site starts). The model lives in
``causerie/core/data/moderation/ngram-model.json.gz``, written by
``scripts/train_moderation_model.py``; its scores are already calibrated so that the
policy's default threshold (0.8) is the cut the training chose.

Failure modes: a missing or malformed file raises (FileNotFoundError, OSError from
gzip, ValueError): a site that asked for the model must not start without it.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources

from causerie.core.moderation.ngram import NgramClassifier, NgramModel, model_from_json

MODEL_FILE = "ngram-model.json.gz"


@lru_cache(maxsize=1)
def packaged_model() -> NgramModel:
    """The packaged model, read and parsed once per process (it is immutable)."""
    path = resources.files("causerie.core").joinpath("data", "moderation", MODEL_FILE)
    try:
        document = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{MODEL_FILE}: not a gzip-compressed JSON document: {exc}") from exc
    try:
        return model_from_json(document)
    except ValueError as exc:
        raise ValueError(f"{MODEL_FILE}: {exc}") from exc


def ngram_classifier() -> NgramClassifier:
    """The factory for ``CAUSERIE_CLASSIFIER``: the packaged model as a ``Classifier``."""
    return NgramClassifier(packaged_model())
