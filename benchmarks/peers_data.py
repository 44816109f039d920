"""The benchmark's tables and the one split every tool trains and is scored on (PEERS.md).

Rows whose target is missing are dropped ('?', 'NA' and empty cells; blanks after a delimiter
skipped, which also takes adult's leading spaces off every value). Strata are the class
labels, or 10 quantile bins of a regression target; strata are taken in sorted order and
within each one the rows are permuted by one ``numpy.random.RandomState(seed)``, the first
``round(0.2 * n)`` going to the test part. Both parts are written in the file's row order with
the csv module, so every value, the labels included, stays spelled as the file spells it.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MISSING = frozenset({"", "?", "NA"})
TEST_SHARE = 0.2
QUANTILE_BINS = 10
MANY_ROWS = 5000
"""Tables with at least this many rows get one split seed (0), smaller ones three."""


@dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    """Relative to the datasets directory it lives in (``more`` for the second set)."""
    target: str
    task: str
    """binary, multiclass or regression, as the datasets' MANIFEST.md says."""
    more: bool = False
    drop: tuple[str, ...] = ()
    """Columns removed for every tool: post-outcome leaks and row numbers (MANIFEST.md)."""
    strip_dot: bool = False
    """adult: the labels of its test half end in '.' ('<=50K.')."""

    @property
    def main_metric(self) -> str:
        return {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[self.task]

    @property
    def second_metric(self) -> str:
        return "r2" if self.task == "regression" else "accuracy"


DATASETS = (
    Dataset("adult", "adult.csv.gz", "income", "binary", strip_dot=True),
    Dataset("titanic", "titanic.csv", "survived", "binary"),
    Dataset("penguins", "penguins.csv", "species", "multiclass"),
    Dataset("diamonds", "diamonds.csv.gz", "price", "regression"),
    Dataset("sms_spam", "sms_spam.csv", "type", "binary"),
    Dataset("taxis", "taxis.csv", "fare", "regression", drop=("total", "tip")),
    Dataset("ecoli", "ecoli.csv", "site", "multiclass", more=True),
    Dataset("glass", "glass.csv", "glass_type", "multiclass", more=True),
    Dataset("breast_cancer", "breast_cancer.csv", "recurrence", "binary", more=True),
    Dataset("oil_spill", "oil_spill.csv", "spill", "binary", more=True),
    Dataset("pima_diabetes", "pima_diabetes.csv", "diabetes", "binary", more=True),
    Dataset("mammography", "mammography.csv.gz", "malignant", "binary", more=True),
    Dataset("horse_colic", "horse_colic.csv", "outcome", "multiclass", more=True),
    Dataset("sonar", "sonar.csv", "object", "binary", more=True),
    Dataset("phoneme", "phoneme.csv", "oral", "binary", more=True),
    Dataset("beijing_pm25", "beijing_pm25.csv.gz", "pm2.5", "regression", more=True,
            drop=("No",)),
)


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    target_index: int

    @property
    def labels(self) -> list[str]:
        return [row[self.target_index] for row in self.rows]


@dataclass(frozen=True)
class Split:
    train: Path
    test: Path
    y_test: list[str]
    classes: list[str]
    """Every class of the whole table, sorted (empty for regression): a class that misses
    the training part still counts in the log loss."""
    train_rows: int


def load(data: Dataset, directory: Path) -> Table:
    """The table as strings, without the dropped columns and the rows lacking a target."""
    path = directory / data.file
    with (gzip.open(path, "rt", newline="", encoding="utf-8") if path.suffix == ".gz"
          else path.open(newline="", encoding="utf-8")) as handle:
        header, *rows = [r for r in csv.reader(handle, skipinitialspace=True) if r]
    bad = next((i for i, r in enumerate(rows) if len(r) != len(header)), None)
    if bad is not None:
        raise ValueError(f"{path.name}: row {bad + 2} has {len(rows[bad])} fields, "
                         f"the header {len(header)}")
    keep = [i for i, name in enumerate(header) if name not in data.drop]
    target = header.index(data.target)
    rows = [[r[i] for i in keep] for r in rows if r[target].strip() not in MISSING]
    table = Table([header[i] for i in keep], rows, keep.index(target))
    if data.strip_dot:
        for row in table.rows:
            row[table.target_index] = row[table.target_index].removesuffix(".")
    return table


def seeds(table: Table) -> tuple[int, ...]:
    return (0,) if len(table.rows) >= MANY_ROWS else (0, 1, 2)


def strata(data: Dataset, table: Table) -> list[str]:
    if data.task != "regression":
        return table.labels
    values = np.array(table.labels, dtype=float)
    edges = np.quantile(values, np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1])
    return [f"{b:02d}" for b in np.searchsorted(edges, values, side="right")]


def test_rows(groups: list[str], seed: int) -> set[int]:
    """Row indices of the test part: per stratum in sorted order, a permutation by one
    RandomState, its first round(0.2 * n) rows."""
    random = np.random.RandomState(seed)
    chosen: set[int] = set()
    for stratum in sorted(set(groups)):
        members = [i for i, g in enumerate(groups) if g == stratum]
        permuted = random.permutation(members)
        chosen.update(int(i) for i in permuted[:round(TEST_SHARE * len(members))])
    return chosen


def split(data: Dataset, table: Table, seed: int, work: Path) -> Split:
    """train.csv and test.csv of one seed under ``work``, in the file's row order."""
    test = test_rows(strata(data, table), seed)
    parts: dict[str, list[list[str]]] = {"train": [], "test": []}
    for index, row in enumerate(table.rows):
        parts["test" if index in test else "train"].append(row)
    work.mkdir(parents=True, exist_ok=True)
    for name, rows in parts.items():
        with (work / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.header)
            writer.writerows(rows)
    classes = [] if data.task == "regression" else sorted(set(table.labels))
    return Split(work / "train.csv", work / "test.csv",
                 [r[table.target_index] for r in parts["test"]], classes, len(parts["train"]))
