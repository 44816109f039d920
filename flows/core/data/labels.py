"""Class labels as the user wrote them, and labels given later matched to them.

Ingest stores text typed and trimmed (a ``Yes``/``No`` column as booleans, `` >50K`` as
``>50K``): right for features, wrong for the classes a model predicts, a service answers with
and people confirm. The ingest report keeps each such column's written forms; the target gets
them back before the split, as an Enum ordered like the stored values, so the classes keep
their order (a yes/no target's positive class is still its yes). A label given later (a
labels file's ``true``, a reviewer's ``yes``) is matched to the class it means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from flows.core.data.cleaning import FALSE_TOKENS, TRUE_TOKENS


def as_written(frame: pl.DataFrame, column: str, spellings: Mapping[str, str]) -> pl.DataFrame:
    """``column`` in the forms the source wrote it (``spellings``: stored value as text ->
    written form), as an Enum whose categories follow the stored values' order; the frame
    as it is when there are no spellings."""
    if not spellings:
        return frame
    stored = frame[column].drop_nulls().unique().sort().cast(pl.String).to_list()
    written = [spellings.get(value, value) for value in stored]
    return frame.with_columns(pl.col(column).cast(pl.String).replace_strict(
        stored, written, return_dtype=pl.Enum(written)))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _trimmed(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _folded(value: Any) -> str | None:
    return None if value is None else str(value).strip().casefold()


def _truth(value: Any) -> str | None:
    """'true' or 'false' for a boolean or a word ingest reads as one; None otherwise."""
    if isinstance(value, bool):
        return str(value).lower()
    word = _folded(value) if isinstance(value, str) else None
    return "true" if word in TRUE_TOKENS else "false" if word in FALSE_TOKENS else None


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_MEANINGS: tuple[Callable[[Any], object], ...] = (_text, _trimmed, _folded, _truth, _number)
"""Ways of reading a label, strictest first: a looser one is tried only when the stricter
ones match no class or several."""


def class_index(label: Any, classes: Sequence[Any]) -> int | None:
    """The position of the class ``label`` means: the class written exactly so, else the one
    class it matches with spelling set aside (surrounding spaces, case, ``true``/``y`` for a
    class ``Yes``, ``1.0`` for ``1``). None when it means no class, or several."""
    for meaning in _MEANINGS:
        wanted = meaning(label)
        if wanted is None:
            continue
        found = [i for i, c in enumerate(classes) if meaning(c) == wanted]
        if len(found) == 1:
            return found[0]
    return None


def as_class(label: Any, classes: Sequence[Any]) -> Any:
    """``label`` as the class it means; as given when it means none (or there are none)."""
    index = class_index(label, classes)
    return label if index is None else classes[index]


def encode_labels(labels: Sequence[Any], classes: Sequence[Any]) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Which labels mean one of ``classes`` (a mask), and their class positions: what
    metrics are computed on (labels of classes a model never saw are left out)."""
    keys = [(type(label), label) for label in labels]  # 1 and True are one set member
    meant = {key: class_index(key[1], classes) for key in set(keys)}
    positions = [meant[key] for key in keys]
    known = np.array([p is not None for p in positions], dtype=bool)
    return known, np.array([p for p in positions if p is not None], dtype=int)
