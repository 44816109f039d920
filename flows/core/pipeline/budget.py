"""The budget controller: the run's deadline, each fit's predicted cost, and which fits start.

``--budget B`` is the wall time of the whole run, from the process's start to the registered
model. The controller keeps a reserve for what follows the fits (integration, evaluation,
explanations, registration, the report) and gives each configuration of the portfolio a share
of what is left (``Config.share`` among the configurations still to come; what one leaves
unused goes to the next). Before a fit starts it predicts the fit's cost from the table's size
and the fits so far: seconds per round per row and column, per learner, from a prior measured
here and corrected by how fast the earlier fits of the run really went. A configuration whose
minimum (MIN_ROUNDS trees on every fold) cannot finish in its share is not started; one that
cannot finish all its trees gets fewer trees at a proportionally higher learning rate; and every
fold stops at its own deadline whatever the prediction said.

With a model count (``--max-models N``) the controller never looks at the clock: the run fits
the first N configurations in full, and the same data and seed give the same model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from flows.core.training.learners import MIN_ROUNDS, ROUNDS_PARAM, Config, fewer_rounds, rounds_of

PRIOR_NS: dict[str, float] = {"lgbm": 7.0, "xgboost": 50.0, "catboost": 32.0, "rf": 45.0,
                              "extra_tree": 40.0, "hgb": 9.0, "linear": 380.0}
"""Nanoseconds per round (tree) per training row and prepared column (linear: per row and
column), and seconds of set-up per fold model: the medians over the benchmark's tables with
over a million cells, and over the smaller ones, of benchmarks/portfolio.py on 2 cores (see
benchmarks/README.md, "Portfolio"). A prior: the run corrects it from its own fits."""
SETUP_S: dict[str, float] = {"lgbm": 0.04, "xgboost": 0.1, "catboost": 0.45, "rf": 0.25,
                             "extra_tree": 0.2, "hgb": 0.1, "linear": 0.0}
PER_CLASS = ("lgbm", "xgboost", "hgb", "linear")
TRANSFERRED_SPEED = 0.25
"""Learners whose cost grows with the classes (one tree or coefficient row per class)."""
TAIL_SHARE = 0.12
TAIL_MIN_S = 2.5
"""The reserve after the fits: integration, evaluation on the test part, explanations,
registration and the report (measured: 1.5-4 s on the shared tables; see benchmarks/README.md)."""


@dataclass
class Clock:
    """The run's time: started at ``started`` (``time.monotonic()``), ``budget`` seconds in
    all; or, with ``max_models``, no clock at all."""

    started: float
    budget: float
    max_models: int | None = None

    @property
    def counted(self) -> bool:
        return self.max_models is not None

    @property
    def fit_deadline(self) -> float:
        return self.started + self.budget - max(TAIL_MIN_S, TAIL_SHARE * self.budget)

    def fit_seconds_left(self) -> float:
        return self.fit_deadline - time.monotonic()

    def seconds_left(self) -> float:
        return self.started + self.budget - time.monotonic()


@dataclass
class CostModel:
    """Predicted seconds of a configuration bagged over ``folds`` folds of this table."""

    rows: int
    features: int
    n_classes: int
    folds: int
    speed: dict[str, float] = field(default_factory=dict)
    """Per learner: observed seconds over the prior's, from this run's fits of it."""

    def predict(self, config: Config, rounds: int | None = None) -> float:
        """Seconds for every fold, with ``rounds`` trees (default: all the config asks)."""
        rounds = rounds if rounds is not None else rounds_of(config)
        fold_rows = self.rows * (self.folds - 1) / self.folds if self.folds > 1 \
            else self.rows * 0.8
        work = fold_rows * self.features * max(rounds, 1)
        if config.learner in PER_CLASS and self.n_classes > 2:
            work *= self.n_classes
        per_fold = SETUP_S[config.learner] + work * PRIOR_NS[config.learner] * 1e-9
        return self.folds * per_fold * self._speed(config.learner)

    def observe(self, config: Config, rounds: list[int], seconds: float) -> None:
        """Learn from a bag that took ``seconds`` with ``rounds`` trees per fold."""
        mean_rounds = max(1, round(sum(rounds) / max(len(rounds), 1))) \
            if config.learner in ROUNDS_PARAM else 1
        predicted = self.predict(config, mean_rounds) / self._speed(config.learner)
        if predicted > 0:
            self.speed[config.learner] = max(seconds / predicted, 1e-3)

    def affordable_rounds(self, config: Config, seconds: float) -> int:
        """The most rounds of ``config`` predicted to fit in ``seconds`` (set-up included)."""
        asked = rounds_of(config)
        one, every = self.predict(config, 1), self.predict(config, asked)
        if asked <= 1 or every <= seconds:
            return asked
        per_round = (every - one) / (asked - 1)
        return max(0, int(1 + (seconds - one) / per_round)) if per_round > 0 else asked

    def timed(self, learner: str) -> bool:
        """Whether this run has seen a fit of ``learner`` (its prediction is then its own)."""
        return learner in self.speed

    def _speed(self, learner: str) -> float:
        """This learner's correction from this run's fits of it; before its first, the
        others' (their geometric mean), but never below TRANSFERRED_SPEED: one learner's
        correction says little of another's (on a small table one's set-up dominates, on a
        wide one another's work; they differed tenfold), and an optimistic prediction costs
        the budget."""
        if learner in self.speed:
            return self.speed[learner]
        if not self.speed:
            return 1.0
        mean = math.exp(sum(math.log(v) for v in self.speed.values()) / len(self.speed))
        return min(1.0, max(TRANSFERRED_SPEED, mean))


@dataclass(frozen=True)
class Plan:
    """A configuration cleared to start, as it will be fitted."""

    config: Config
    seconds: float | None
    """Its time in all (every fold), or None without a clock."""
    predicted_s: float
    note: str = ""


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


def plan_fit(config: Config, clock: Clock, cost: CostModel, share: float,
             first: bool) -> Plan | Skipped:
    """Whether and how ``config`` is fitted with ``share`` (0-1) of the fit time left. The
    first configuration always starts: a run must produce a model. A learner this run has
    already timed gets fewer trees up front when all of them would not fit; one it has not is
    left to its first fold to probe (bagging.fit_bag): the prior is only good enough to tell
    what cannot finish at all."""
    predicted = cost.predict(config)
    if clock.counted:
        return Plan(config, None, predicted)
    left = clock.fit_seconds_left()
    seconds = max(left if first else left * share, 0.0)
    if predicted <= seconds:
        return Plan(config, seconds, predicted)
    rounds = rounds_of(config)
    affordable = cost.affordable_rounds(config, seconds)
    minimum = min(MIN_ROUNDS, rounds)
    if not first and (affordable < minimum or config.learner not in ROUNDS_PARAM):
        needs = f"{minimum} rounds" if config.learner in ROUNDS_PARAM else "one fit per fold"
        return Skipped(config.name, f"predicted {cost.predict(config, minimum):.1f} s for "
                                    f"{needs}, {seconds:.1f} s of the budget for it")
    if not cost.timed(config.learner) or config.learner not in ROUNDS_PARAM:
        return Plan(config, seconds, predicted)
    fewer = fewer_rounds(config, max(affordable, minimum))
    return Plan(fewer, seconds, cost.predict(fewer),
                f"{rounds_of(fewer)} of {rounds} rounds to fit {seconds:.1f} s")
