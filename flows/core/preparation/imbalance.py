"""Class balance: measured for every classification run, corrected when it is severe.

The split is always stratified. When the rarest class is under IMBALANCE_SHARE of the rows, the
search trains with 'balanced' sample weights (each class weighs the same in total), so the
learners do not settle for predicting the majority class. Held-out metrics stay unweighted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

IMBALANCE_SHARE = 0.10


@dataclass(frozen=True)
class ClassBalance:
    counts: dict[str, int]
    minority_class: str
    minority_share: float

    @property
    def imbalanced(self) -> bool:
        return self.minority_share < IMBALANCE_SHARE

    def as_dict(self) -> dict[str, object]:
        return {"counts": self.counts, "minority_class": self.minority_class,
                "minority_share": self.minority_share, "weighted": self.imbalanced}


def class_balance(y: np.ndarray, classes: tuple[object, ...]) -> ClassBalance:
    """Counts per class label of encoded targets ``y`` (0..k-1)."""
    counts = np.bincount(y, minlength=len(classes))
    rarest = int(counts.argmin())
    return ClassBalance(counts={str(c): int(n) for c, n in zip(classes, counts, strict=True)},
                        minority_class=str(classes[rarest]),
                        minority_share=float(counts[rarest] / counts.sum()))


def balancing_weights(y: np.ndarray, balance: ClassBalance) -> np.ndarray | None:
    """Per-row weights for the search when the classes are badly imbalanced, else None."""
    return compute_sample_weight("balanced", y) if balance.imbalanced else None
