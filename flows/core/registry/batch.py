"""Batch prediction of a file with a registered model."""

from __future__ import annotations

import pandas as pd

from flows.core.data.ingest import read_table
from flows.core.registry.model import FittedModel


def predict_file(source: str, model: FittedModel) -> pd.DataFrame:
    """One output row per input row, in order (no de-duplication, no dropped rows)."""
    frame = read_table(source).to_pandas()
    return model.predict_frame(model.validate_frame(frame))
