"""The retraining report: champion against challenger on fresh labelled rows, how far each
follows the corrections, and where the corrections concentrate (error analysis)."""

from __future__ import annotations

from typing import Any

from flows.core.reports import charts
from flows.core.reports.html import Markup, cards, figure, grid, notes, number, page, table


def feedback_report_html(summary: dict[str, Any], analysis: dict[str, Any]) -> str:
    verdict = summary["verdict"]
    sections = [("verdict", "Verdict", _verdict(summary, verdict)),
                ("corrections", "Where corrections concentrate", _analysis(analysis))]
    return page(f"Retraining {summary['dataset']}",
                f"champion {summary['champion']} · challenger {summary['challenger']}",
                sections)


def _verdict(summary: dict[str, Any], verdict: dict[str, Any]) -> str:
    feedback = summary["feedback"]
    gate = verdict["gate"]
    head = cards([
        ("labelled predictions", feedback["labelled"]),
        ("of them corrections", feedback["corrected"]),
        ("trained on", feedback["trained_on"]),
        ("fresh, held out", verdict["fresh_rows"]),
        ("recommendation", "promote" if verdict["recommend_promotion"] else "keep champion"),
        ("promoted", "yes (automatic)" if summary["promoted"] else "no")])
    rows = [] if gate is None else [
        [f"{gate['metric']} on {gate['rows']} fresh rows", gate["champion"], gate["challenger"],
         _gain(verdict["gain"])]]
    for part in ("trained", "fresh"):
        rows.append([f"follows the corrections ({part})",
                     verdict["agreement"]["champion"][part],
                     verdict["agreement"]["challenger"][part], "-"])
    return head + table(["measure", "champion", "challenger", "gain"], rows,
                        [False, True, True, True]) + notes([
        verdict["description"],
        "Fresh rows are labelled predictions kept out of the challenger's training; the "
        "champion never saw a logged prediction's label, so they are new to both.",
        "'Follows the corrections': share of corrected predictions each model now labels as "
        "the person did."])


def _gain(gain: float | None) -> Markup:
    if gain is None:
        return Markup("-")
    return Markup(f'<span class="{"good" if gain > 0 else "bad"}">{number(gain)}</span>')


def _analysis(analysis: dict[str, Any]) -> str:
    if not analysis["labelled"]:
        return notes(["No labelled predictions."])
    parts = [cards([("labelled", analysis["labelled"]), ("corrected", analysis["corrected"]),
                    ("correction rate", f"{analysis['rate']:.1%}")])]
    if analysis["by_slice"]:
        parts.append(table(["slice", "labelled", "corrected", "rate"],
                           [[r["group"], r["labelled"], r["corrected"], f"{r['rate']:.1%}"]
                            for r in analysis["by_slice"]], [False, True, True, True]))
    if analysis["by_class"]:
        parts.append(table(["true label", "was predicted", "corrections"],
                           [[r["label"], r["predicted"], r["count"]]
                            for r in analysis["by_class"]], [False, False, True]))
    parts.append(grid(figure(charts.bars(
        [g["group"] for g in feature["groups"]], [g["rate"] for g in feature["groups"]],
        f"correction rate by {feature['feature']}", value_label="share corrected"),
        f"overall rate {analysis['rate']:.1%}; groups with fewer than 5 labelled "
        f"predictions left out") for feature in analysis["by_feature"]))
    return "".join(parts)
