"""Text columns: pretrained sentence embeddings with the text extra, TF-IDF without it.

The data is a balanced 600-row sample of the shared sms_spam set (tests/data)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from flows.core.errors import AutopipeError
from flows.core.evaluation.held_out import evaluate_model
from flows.core.preparation import embeddings
from flows.core.preparation.embeddings import (
    SentenceEmbeddings,
    embeddings_available,
    resolve_text_features,
)
from flows.core.preparation.prepared import as_model, prepare_training

SMS = Path(__file__).resolve().parents[2] / "data" / "sms_spam_600.csv"
needs_extra = pytest.mark.skipif(not embeddings_available(),
                                 reason="the text extra is not installed: pip install -e '.[text]'")


def test_auto_falls_back_to_tfidf_and_an_explicit_request_needs_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    assert resolve_text_features("auto") == "tfidf"
    with pytest.raises(AutopipeError, match="text extra is missing") as error:
        resolve_text_features("embeddings")
    assert "pip install" in (error.value.hint or "")
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: True)
    assert resolve_text_features("auto") == "embeddings"
    assert resolve_text_features("tfidf") == "tfidf"


def test_auto_embeds_prose_that_fits_the_budget_and_leaves_names_to_tfidf(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: True)
    prose = pd.DataFrame({"t": [f"message {i} about the delivery of a parcel to your home"
                                for i in range(400)]})
    names = pd.DataFrame({"t": [f"Smith, Mr. John {i}" for i in range(400)]})
    assert resolve_text_features("auto", prose, budget_s=60) == "embeddings"  # ~5 s of 18 s
    assert resolve_text_features("auto", names, budget_s=60) == "tfidf"
    assert resolve_text_features("auto", pd.concat([prose] * 5, ignore_index=True)
                                 .assign(t=lambda f: f.t + f.index.astype(str)),
                                 budget_s=60) == "tfidf"  # 2,000 texts: ~25 s, over 30%
    assert resolve_text_features("embeddings", names, budget_s=60) == "embeddings"


@needs_extra
def test_sentences_with_the_same_meaning_land_close() -> None:
    texts = pd.DataFrame({"t": ["Win a free prize now, call today!",
                                "Call now to claim your free prize",
                                "See you at dinner tonight", None]})
    vectors = SentenceEmbeddings().fit(texts).transform(texts)
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    similarity = vectors[:3] @ vectors[:3].T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert len(pickle.dumps(SentenceEmbeddings().fit(texts))) < 1000  # no weights inside


@needs_extra
def test_a_model_on_embedded_text_learns_spam() -> None:
    from sklearn.linear_model import LogisticRegression

    prepared = prepare_training(pl.read_csv(SMS), "type", 0.25, seed=0,
                                text_features="embeddings")
    assert prepared.plan.texts == ("text",) and prepared.plan.text_features == "embeddings"
    assert prepared.x_train.shape[1] == 384
    estimator = LogisticRegression(max_iter=1000).fit(prepared.x_train, prepared.split.y_train)
    metrics = evaluate_model(as_model(prepared, estimator, "lr", "v"), prepared, "model").metrics
    assert metrics["roc_auc"] > 0.95 and metrics["accuracy"] > 0.9
