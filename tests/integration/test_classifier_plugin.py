"""A site plugs its own offline classifier in with CAUSERIE_CLASSIFIER."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from causerie.moderation_data import load_classifier
from causerie.testing import ServerProcess
from tests.conftest import TEST_SERVER_ENV

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.plugins.zorglub:Zorglub"


def test_load_classifier_imports_and_calls_the_factory() -> None:
    classifier = load_classifier(PLUGIN)
    assert classifier is not None
    assert classifier.scores("quel zorglub", "fr")
    assert load_classifier(None) is None and load_classifier("") is None
    assert load_classifier("none") is None and load_classifier("None") is None


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("tests.plugins.zorglub", "expected 'package.module:factory'"),
        (":Zorglub", "expected 'package.module:factory'"),
        ("tests.plugins.nope:Zorglub", "No module named"),
        ("tests.plugins.zorglub:Nope", "has no attribute"),
        ("tests.plugins.zorglub:not_a_classifier", "no scores(text, lang)"),
    ],
)
def test_a_bad_classifier_setting_is_a_clear_error(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match="CAUSERIE_CLASSIFIER") as caught:
        load_classifier(spec)
    assert says in str(caught.value)


def test_the_server_consults_the_sites_classifier(tmp_path: Path) -> None:
    env = {**TEST_SERVER_ENV, "CAUSERIE_CLASSIFIER": PLUGIN, "PYTHONPATH": str(ROOT)}
    with ServerProcess(tmp_path / "plugged", env) as server:
        url = f"{server.base_url}/articles/{uuid.uuid4().hex}"
        refused = httpx.post(
            f"{server.base_url}/api/v1/comments",
            json={"url": url, "text": "Espèce de zorglub !"},
            timeout=10,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "moderation_insult"
        published = httpx.post(
            f"{server.base_url}/api/v1/comments",
            json={"url": url, "text": "Un avis tout à fait posé."},
            timeout=10,
        )
        assert published.status_code == 201


def test_the_check_command_uses_the_classifier_too(tmp_path: Path) -> None:
    sample = tmp_path / "sample.tsv"
    sample.write_text("label\tlang\ttext\ntoxic\tfr\tquel zorglub celui-là\n", encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CAUSERIE_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    base = [sys.executable, "-m", "causerie", "moderation", "check", str(sample), "--json"]
    plain = subprocess.run(base, capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    plugged = subprocess.run(
        base,
        capture_output=True,
        text=True,
        env={**env, "CAUSERIE_CLASSIFIER": PLUGIN},
        check=False,
        cwd=ROOT,
    )
    assert plain.returncode == 0 and plugged.returncode == 0, plugged.stderr
    assert '"recall":0.0' in plain.stdout.replace(" ", "")
    assert '"recall":1.0' in plugged.stdout.replace(" ", "")


def test_the_packaged_ngram_model_plugs_in_the_same_way() -> None:
    classifier = load_classifier("causerie.moderation_model:ngram_classifier")
    assert classifier is not None
    scores = classifier.scores("Les gens comme toi ne devraient pas avoir le droit de voter", "fr")
    assert all(0.0 <= score <= 1.0 for score in scores.values())
    assert max(scores.values()) >= 0.8  # found, at the policy's default threshold
    calm = classifier.scores("Merci pour cet article sur la réforme des retraites.", "fr")
    assert max(calm.values(), default=0.0) < 0.8
