"""Policies: the rules a slice's model is held to, one YAML file per domain.

A policy names the slices it governs (``applies_to``: column values or shell-style patterns)
and any of: the learners allowed (and the most leaves a tree may have), columns to drop and
whether to detect personal identifiers, a decision threshold chosen for a minimum recall or a
maximum false-positive rate, monotone features, a fairness limit across a protected column,
and whether every prediction must come with its explanation. The format is documented in
README.md; examples ship in flows/policies/.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flows.core.errors import AutopipeError

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
KEYS = {"name", "description", "applies_to", "learners", "max_leaves", "drop_columns",
        "detect_pii", "threshold", "monotone", "fairness", "explanations"}
INTERPRETABLE_LEARNERS = ("lrl1", "lrl2", "enet", "lgbm")
"""'interpretable' in a policy: linear models, and LightGBM when max_leaves keeps it shallow."""


class PolicyError(AutopipeError):
    pass


@dataclass(frozen=True)
class Fairness:
    protected: str
    max_parity_difference: float = 0.1
    """Largest allowed gap between groups in the share predicted positive."""
    max_equal_opportunity_difference: float = 0.1
    """Largest allowed gap between groups in recall (true-positive rate)."""


@dataclass(frozen=True)
class Policy:
    name: str
    source: str
    description: str = ""
    applies_to: tuple[dict[str, tuple[str, ...]], ...] = ()
    learners: tuple[str, ...] | None = None
    max_leaves: int | None = None
    drop_columns: tuple[str, ...] = ()
    detect_pii: bool = False
    min_recall: float | None = None
    max_false_positive_rate: float | None = None
    monotone: dict[str, int] = field(default_factory=dict)
    """Feature -> +1 (the prediction must not fall as it rises) or -1 (must not rise)."""
    fairness: Fairness | None = None
    explanations_required: bool = False

    def governs(self, values: dict[str, str]) -> bool:
        """Whether a slice with these column values falls under the policy."""
        return any(all(column in values and any(fnmatch.fnmatchcase(values[column], pattern)
                                                for pattern in patterns)
                       for column, patterns in rule.items())
                   for rule in self.applies_to)

    def as_dict(self) -> dict[str, Any]:
        """What a model card and the service keep of it."""
        return {"name": self.name, "source": self.source, "learners": self.learners,
                "max_leaves": self.max_leaves, "drop_columns": list(self.drop_columns),
                "detect_pii": self.detect_pii, "min_recall": self.min_recall,
                "max_false_positive_rate": self.max_false_positive_rate,
                "monotone": self.monotone,
                "fairness": vars(self.fairness) if self.fairness else None,
                "explanations_required": self.explanations_required}


def load_policy(path: Path) -> Policy:
    """A policy file, checked: an unknown key or a wrong value is an error naming it."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PolicyError(f"no policy file at {path}",
                          f"give a YAML policy file; examples are in {POLICIES_DIR}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path} is not valid YAML: {exc}", "fix the file's syntax") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{path} does not hold a mapping of policy keys",
                          f"see the examples in {POLICIES_DIR}")
    unknown = sorted(set(document) - KEYS)
    if unknown:
        raise PolicyError(f"{path}: unknown key(s) {', '.join(unknown)}",
                          f"a policy may have: {', '.join(sorted(KEYS))}")
    try:
        return _policy(document, path)
    except (TypeError, ValueError, AttributeError) as exc:
        raise PolicyError(f"{path}: {exc}", f"see the examples in {POLICIES_DIR}") from None


def policy_for(values: dict[str, str], policies: list[Policy]) -> Policy | None:
    """The first policy that governs a slice, or None."""
    return next((p for p in policies if p.governs(values)), None)


def _policy(document: dict[str, Any], path: Path) -> Policy:
    threshold = document.get("threshold") or {}
    if set(threshold) - {"min_recall", "max_false_positive_rate"}:
        raise ValueError("threshold takes min_recall or max_false_positive_rate")
    fairness = document.get("fairness")
    learners = document.get("learners")
    if learners == "interpretable":
        learners = list(INTERPRETABLE_LEARNERS)
    monotone = {str(k): _direction(v) for k, v in (document.get("monotone") or {}).items()}
    explanations = document.get("explanations", "optional")
    if explanations not in ("required", "optional"):
        raise ValueError("explanations is 'required' or 'optional'")
    return Policy(
        name=str(document.get("name") or path.stem), source=str(path),
        description=str(document.get("description", "")),
        applies_to=tuple(_rule(rule) for rule in document.get("applies_to") or []),
        learners=tuple(str(x) for x in learners) if learners else None,
        max_leaves=int(document["max_leaves"]) if document.get("max_leaves") else None,
        drop_columns=tuple(str(c) for c in document.get("drop_columns") or []),
        detect_pii=bool(document.get("detect_pii", False)),
        min_recall=_share(threshold.get("min_recall")),
        max_false_positive_rate=_share(threshold.get("max_false_positive_rate")),
        monotone=monotone,
        fairness=Fairness(**fairness) if fairness else None,
        explanations_required=explanations == "required")


def _rule(rule: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(rule, dict):
        raise ValueError("each applies_to entry maps a column to a value or a list of values")
    return {str(column): tuple(str(v) for v in (values if isinstance(values, list)
                                                else [values]))
            for column, values in rule.items()}


def _direction(value: Any) -> int:
    directions = {"increasing": 1, "decreasing": -1, 1: 1, -1: -1}
    if value not in directions:
        raise ValueError(f"monotone direction {value!r}: use increasing or decreasing")
    return directions[value]


def _share(value: Any) -> float | None:
    if value is None:
        return None
    share = float(value)
    if not 0 < share < 1:
        raise ValueError(f"{share} is not a share between 0 and 1")
    return share
