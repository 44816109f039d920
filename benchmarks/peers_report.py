"""The report of a results file: per dataset, each tool's main metric (mean and standard
deviation over seeds), accuracy or R², fit time against the budget, single-row predict time
and peak memory; the mean rank over datasets; and the issue's targets, each met or not with
its figure. Printed as text and again as Markdown for benchmarks/README.md.

A tool ranks on its mean over seeds; ties share the average rank; a tool that failed any
seed of a dataset ranks last there (failed tools share the last places).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from peers_data import DATASETS, Dataset
from peers_records import RunRecord
from peers_score import oriented
from peers_tools import BASELINES, TOOLS, Tool

WALL_TARGET = 1.1
PREDICT_TARGET_MS = 10.0


@dataclass(frozen=True)
class Cell:
    """One tool on one dataset, over the seeds it ran."""

    runs: list[RunRecord]

    @property
    def failures(self) -> int:
        return sum(r.failed for r in self.runs)

    @property
    def failed(self) -> bool:
        return self.failures > 0

    def values(self, pick: Callable[[RunRecord], float | None]) -> list[float]:
        return [v for r in self.runs if (v := pick(r)) is not None]

    @property
    def mean(self) -> float | None:
        found = self.values(lambda r: r.main)
        return None if self.failed or not found else statistics.fmean(found)


@dataclass(frozen=True)
class Row:
    data: Dataset
    cells: dict[str, Cell]
    """By tool name; only the tools with runs on this dataset."""

    def ranks(self) -> dict[str, float]:
        scored = sorted((oriented(self.data.main_metric, c.mean), tool)
                        for tool, c in self.cells.items() if c.mean is not None)
        ranks: dict[str, float] = {}
        position = 0
        while position < len(scored):
            tied = [t for v, t in scored if v == scored[position][0]]
            for tool in tied:
                ranks[tool] = position + (len(tied) + 1) / 2
            position += len(tied)
        last = [t for t in self.cells if t not in ranks]
        for tool in last:
            ranks[tool] = len(scored) + (len(last) + 1) / 2
        return ranks


def rows(records: Sequence[RunRecord]) -> list[Row]:
    by_dataset: dict[str, dict[str, list[RunRecord]]] = {}
    for record in sorted(records, key=lambda r: r.seed):
        by_dataset.setdefault(record.dataset, {}).setdefault(record.tool, []).append(record)
    order = [t.name for t in TOOLS]
    return [Row(d, {t: Cell(by_dataset[d.name][t])
                    for t in sorted(by_dataset[d.name], key=order.index)})
            for d in DATASETS if d.name in by_dataset]


def uneven_seeds(table: list[Row]) -> list[str]:
    """Datasets whose tools ran different seeds: their means, so their ranks, compare
    different splits (a benchmark still under way, or run with --tools/--seeds)."""
    notes = []
    for row in table:
        ran = {tool: " ".join(str(r.seed) for r in cell.runs) for tool, cell in row.cells.items()}
        if len(set(ran.values())) > 1:
            notes.append(f"note: {row.data.name}: the tools ran different seeds ("
                         + "; ".join(f"{tool} {seeds}" for tool, seeds in ran.items()) + ")")
    return notes


def mean_ranks(table: list[Row]) -> dict[str, float]:
    collected: dict[str, list[float]] = {}
    for row in table:
        for tool, rank in row.ranks().items():
            collected.setdefault(tool, []).append(rank)
    return {tool: statistics.fmean(r) for tool, r in collected.items()}


def number(metric: str, value: float) -> str:
    return f"{value:.4g}" if metric == "rmse" else f"{value:.4f}"


def metric_cell(metric: str, cell: Cell, pick: Callable[[RunRecord], float | None]) -> str:
    if cell.failed:
        return f"failed {cell.failures}/{len(cell.runs)}"
    found = cell.values(pick)
    if not found:
        return "–"
    text = number(metric, statistics.fmean(found))
    if len(found) > 1:
        text += f" ± {number(metric, statistics.stdev(found))}"
    return text


def wall_cell(cell: Cell) -> str:
    fits = cell.values(lambda r: r.fit_s and r.fit_s / r.budget)
    walls = cell.values(lambda r: r.wall_s and r.wall_s / r.budget)
    if not fits:
        return "–"
    text = f"{max(fits):.2f}"
    return text if walls == fits or not walls else f"{text} ({max(walls):.2f})"


def figure_cell(values: list[float], combine: Callable[[list[float]], float],
                digits: int) -> str:
    return f"{combine(values):.{digits}f}" if values else "–"


Table = tuple[str, list[str], list[list[str]]]
"""A title, the column headings and the rows of cells."""


def tables(table: list[Row], tools: list[Tool]) -> list[Table]:
    labels = [t.label for t in tools]
    ranks = mean_ranks(table)

    def per_tool(render: Callable[[Dataset, Cell], str]) -> list[list[str]]:
        return [[row.data.name, *(render(row.data, row.cells[t.name])
                                  if t.name in row.cells else "–" for t in tools)]
                for row in table]

    def with_metric(body: list[list[str]], second: bool = False) -> list[list[str]]:
        return [[cells[0], row.data.second_metric if second else row.data.main_metric,
                 *cells[1:]] for cells, row in zip(body, table, strict=True)]

    main = with_metric(per_tool(lambda d, c: metric_cell(d.main_metric, c, lambda r: r.main)))
    main.append(["mean rank", "", *(f"{ranks[t.name]:.2f}" if t.name in ranks else "–"
                                    for t in tools)])
    second = per_tool(lambda d, c: metric_cell(d.second_metric, c, lambda r: r.second))
    return [
        ("main metric (mean ± std over seeds; roc_auc higher is better, log_loss and rmse "
         "lower)", ["dataset", "metric", *labels], main),
        ("accuracy or R² (mean ± std over seeds)", ["dataset", "metric", *labels],
         with_metric(second, second=True)),
        ("fit / budget, max over seeds (peers: the fit call, in parentheses their whole "
         "process with imports and predicting; autopipe: its whole run)", ["dataset", *labels],
         per_tool(lambda d, c: wall_cell(c))),
        ("single-row predict ms in-process (median over seeds)", ["dataset", *labels],
         per_tool(lambda d, c: figure_cell(c.values(lambda r: r.predict_ms),
                                           statistics.median, 1))),
        ("peak MB of the fitting process tree (max over seeds)", ["dataset", *labels],
         per_tool(lambda d, c: figure_cell(c.values(lambda r: r.peak_mb), max, 0))),
    ]


def targets(table: list[Row], records: Sequence[RunRecord]) -> list[tuple[str, bool, str]]:
    """The issue's targets: (what, met, the figure behind it)."""
    ours = [r for r in records if r.tool == "autopipe"]
    if not ours:
        return [("autopipe targets", False, "no autopipe runs in the results")]
    return [rank_target(table), baseline_target(table), wall_target(ours),
            predict_target(ours)]


def rank_target(table: list[Row]) -> tuple[str, bool, str]:
    ranks = mean_ranks(table)
    order = sorted(ranks, key=ranks.__getitem__)
    ours = ranks["autopipe"]
    best = order[0] if order[0] != "autopipe" else (order[1:] or ["autopipe"])[0]
    place = 1 + sum(rank < ours for rank in ranks.values())
    return (f"autopipe mean rank 1 (the best mean rank of the {len(ranks)} tools)",
            place == 1, f"autopipe {ours:.2f}, place {place}; "
            f"{'next' if place == 1 else 'best'}: {best} {ranks[best]:.2f}")


def baseline_target(table: list[Row]) -> tuple[str, bool, str]:
    worse, compared = [], 0
    for row in table:
        metric = row.data.main_metric
        baselines = [(mean, b) for b in BASELINES
                     if b in row.cells and (mean := row.cells[b].mean) is not None]
        if not baselines or "autopipe" not in row.cells:
            continue
        compared += 1
        best, name = min(baselines, key=lambda pair: oriented(metric, pair[0]))
        ours = row.cells["autopipe"].mean
        if ours is None or oriented(metric, ours) > oriented(metric, best):
            shown = "failed" if ours is None else number(metric, ours)
            worse.append(f"{row.data.name} {shown} vs {name} {number(metric, best)}")
    figure = ("; ".join(worse) if worse else "not worse on any") + f" ({compared} datasets)"
    return ("on no dataset worse than the better scikit-learn baseline (mean over seeds)",
            compared > 0 and not worse, figure)


def wall_target(ours: list[RunRecord]) -> tuple[str, bool, str]:
    ratios = [(r.wall_s / r.budget, r) for r in ours if r.wall_s is not None]
    over = [f"{r.dataset}/{r.seed} {ratio:.2f}" for ratio, r in ratios if ratio > WALL_TARGET]
    unmeasured = len(ours) - len(ratios)
    figure = (f"max {max(ratio for ratio, _ in ratios):.2f} over {len(ratios)} runs"
              if ratios else "no run measured")
    if over:
        figure += "; over: " + ", ".join(over)
    if unmeasured:
        figure += f"; {unmeasured} runs without a wall time (failed)"
    return (f"autopipe fit wall <= {WALL_TARGET:g} x budget on every run",
            bool(ratios) and not over and not unmeasured, figure)


def predict_target(ours: list[RunRecord]) -> tuple[str, bool, str]:
    times = [r.predict_ms for r in ours if r.predict_ms is not None]
    figure = (f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over "
              f"{len(times)} runs" if times else "no run measured")
    if len(times) < len(ours):
        figure += f"; {len(ours) - len(times)} runs without one (failed)"
    if any("--prefer" in r.autopipe_args for r in ours):
        figure += "; NOTE: --prefer was passed, so this is not the default (balanced)"
    return (f"autopipe (default balanced) single-row predict <= {PREDICT_TARGET_MS:g} ms "
            "in-process", bool(times) and len(times) == len(ours)
            and max(times) <= PREDICT_TARGET_MS, figure)


def text_columns(heading: list[str]) -> int:
    """How many leading columns hold names (left-aligned) rather than figures."""
    return 2 if heading[1] == "metric" else 1


def text_table(title: str, heading: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [heading, *body]) for i in range(len(heading))]
    lines = [title]
    for cells in [heading, *body]:
        lines.append("  ".join(c.ljust(w) if i < text_columns(heading) else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    return "\n".join(lines)


def markdown_table(title: str, heading: list[str], body: list[list[str]]) -> str:
    left = text_columns(heading)
    lines = [f"**{title}**", "", "| " + " | ".join(heading) + " |",
             "|" + "---|" * left + "---:|" * (len(heading) - left)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def report(records: Sequence[RunRecord], budget: float) -> str:
    """The whole report of these records (the newest per run, one budget)."""
    if not records:
        return f"no results for budget {budget:g} s"
    table = rows(records)
    present = {r.tool for r in records}
    tools = [t for t in TOOLS if t.name in present]
    found = tables(table, tools)
    lines = [header(records, budget), ""]
    lines += [text_table(*t) + "\n" for t in found]
    lines += [f"{'met' if met else 'NOT met'}: {what}: {figure}"
              for what, met, figure in targets(table, records)]
    lines += uneven_seeds(table)
    lines += [f"error: {r.tool} {r.dataset} seed {r.seed}: {r.error}"
              for r in records if r.error]
    lines += ["", "Markdown:", ""]
    lines += [markdown_table(*t) + "\n" for t in found]
    lines += [f"- {'met' if met else '**not met**'}: {what}: {figure}"
              for what, met, figure in targets(table, records)]
    return "\n".join(lines)


def header(records: Sequence[RunRecord], budget: float) -> str:
    loads = [r.load_1m for r in records if r.load_1m is not None]
    commits = sorted({r.autopipe_commit for r in records if r.autopipe_commit})
    versions = sorted({f"{r.tool} {r.version}" for r in records if r.version})
    text = (f"budget {budget:g} s, {len(records)} runs, {os.cpu_count()} cores here; "
            f"autopipe commit {', '.join(commits) or '–'}\nversions: {', '.join(versions)}")
    if loads:
        text += (f"\nload average at the start of a run: median {statistics.median(loads):.2f},"
                 f" max {max(loads):.2f}")
    return text

