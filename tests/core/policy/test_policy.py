"""Policy files, personal-identifier detection, and the measurable rules on built data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from lightgbm import LGBMClassifier
from sklearn.linear_model import LogisticRegression

from flows.core.data.pii import find_personal_identifiers
from flows.core.policy.checks import choose_threshold, fairness_breaches, monotone_violations
from flows.core.policy.rules import POLICIES_DIR, Fairness, PolicyError, load_policy, policy_for
from flows.core.policy.training import allowed_learners
from flows.core.preparation.prepared import as_model, prepare_training
from flows.core.types import Task


def test_the_shipped_policies_load() -> None:
    loaded = {p.name: p for p in map(load_policy, sorted(POLICIES_DIR.glob("*.yaml")))}
    assert set(loaded) == {"healthcare", "finance", "social_services"}
    assert loaded["healthcare"].min_recall == 0.9 and loaded["healthcare"].detect_pii
    assert loaded["finance"].monotone == {"debt_ratio": 1, "income": -1}
    assert loaded["finance"].fairness == Fairness("sex", 0.1, 0.1)
    assert all(p.explanations_required for p in loaded.values())


def test_policies_govern_slices_by_value_or_pattern() -> None:
    policies = [load_policy(POLICIES_DIR / f"{n}.yaml") for n in ("healthcare", "finance")]
    assert policy_for({"domain": "health-east"}, policies).name == "healthcare"  # type: ignore[union-attr]
    assert policy_for({"segment": "loans-smb"}, policies).name == "finance"  # type: ignore[union-attr]
    assert policy_for({"domain": "retail"}, policies) is None


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\nlearners: [lgbm]\nleaves: 3\n", "unknown key.*leaves"),
    ("threshold: {min_recall: 1.5}\n", "not a share"),
    ("monotone: {debt: sideways}\n", "monotone direction"),
    ("explanations: always\n", "explanations is"),
    ("- just\n- a list\n", "mapping of policy keys"),
    ("name: [unclosed\n", "not valid YAML"),
])
def test_a_bad_policy_file_is_named_with_its_fault(tmp_path: Path, text: str,
                                                   message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_a_policy_that_leaves_no_learner_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "none.yaml"
    path.write_text("learners: [lrl2]\nmonotone: {x: increasing}\n")
    with pytest.raises(PolicyError, match="leaves no learner"):
        allowed_learners(load_policy(path), Task.BINARY)


def test_personal_identifiers_are_found_by_name_and_by_value() -> None:
    rows = 50
    frame = pd.DataFrame({
        "patient_name": ["Ann Lee"] * rows, "DOB": ["1980-01-01"] * rows,
        "contact": [f"user{i}@example.org" for i in range(rows)],
        "phone_no": [f"+1 (555) 010-{i:04d}" for i in range(rows)],
        "ref": [f"{100 + i:03d}-{i % 90 + 10:02d}-{1000 + i:04d}" for i in range(rows)],
        "home": [f"{i} Main Street" for i in range(rows)],
        "age": np.arange(rows), "colour": ["red"] * rows,
    })
    kinds = {e.column: e.reason for e in find_personal_identifiers(frame)}
    assert set(kinds) == {"patient_name", "DOB", "contact", "phone_no", "ref", "home"}
    assert "e-mail address" in kinds["contact"] and "national ID" in kinds["ref"]
    assert "street address" in kinds["home"] and "date of birth" in kinds["DOB"]


def test_the_threshold_meets_the_recall_floor_or_the_false_positive_ceiling() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.3).astype(int)
    score = np.clip(0.3 * y + rng.normal(0.35, 0.2, 2000), 0, 1)
    for floor in (0.5, 0.8, 0.95):
        threshold = choose_threshold(y, score, min_recall=floor)
        assert threshold is not None and (score[y == 1] >= threshold).mean() >= floor
        assert (score[y == 1] >= threshold + 1e-3).mean() < floor + 0.01  # the highest such
    ceiling = choose_threshold(y, score, max_false_positive_rate=0.05)
    assert ceiling is not None and (score[y == 0] >= ceiling).mean() <= 0.05
    assert choose_threshold(y, score) is None


def frame(rows: int = 1200) -> pl.DataFrame:
    """Debt raises the risk; the group column decides nothing but correlates with income."""
    rng = np.random.default_rng(2)
    debt, group = rng.random(rows), rng.choice(["a", "b"], rows)
    risk = 3 * debt + (group == "a") * 1.5 + rng.normal(0, 0.5, rows)
    return pl.DataFrame({"debt": debt, "group": group, "noise": rng.normal(size=rows),
                         "default": np.where(risk > 2.0, "yes", "no")})


@pytest.mark.parametrize(("monotone", "expect_violation"), [(True, False), (False, True)])
def test_monotone_violations_are_measured_on_held_out_rows(monotone: bool,
                                                           expect_violation: bool) -> None:
    data = prepare_training(frame(), "default", 0.3, seed=0)
    columns = data.preprocessor.get_feature_names_out().tolist()
    constraints = [1 if c == "numeric__debt" else 0 for c in columns]
    learner = LGBMClassifier(n_estimators=60, num_leaves=15, min_child_samples=5, verbose=-1,
                             n_jobs=1, monotone_constraints=constraints if monotone else None)
    learner.fit(data.x_train, data.split.y_train)
    model = as_model(data, learner, "lgbm", "v1")
    share = monotone_violations(model, data.split.x_test, "debt", 1)
    assert (share > 0) is expect_violation
    assert monotone_violations(model, data.split.x_test, "absent", 1) == 0.0


def test_fairness_gaps_beyond_the_limit_are_breaches() -> None:
    data = prepare_training(frame(), "default", 0.3, seed=0)
    model = as_model(data, LogisticRegression().fit(data.x_train, data.split.y_train),
                     "lrl2", "v1")
    x, y = data.split.x_test, data.split.y_test
    strict = fairness_breaches(Fairness("group", 0.01, 0.01), model, x, y)
    assert {b.rule for b in strict} >= {"demographic_parity"}
    assert all(b.value > b.threshold for b in strict)
    assert fairness_breaches(Fairness("group", 1.0, 1.0), model, x, y) == []
    assert fairness_breaches(Fairness("absent", 0.0, 0.0), model, x, y) == []
