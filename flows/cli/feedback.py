"""``autopipe labels`` and ``autopipe review``: true labels for served predictions, from a file
or from a person walking the review queue (confirm, correct, skip; every decision stored with
author, time and note, and audited)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from flows.cli.console import err, fmt, json_safe, load_settings, out, run_flow
from flows.core.errors import AutopipeError
from flows.core.store.catalog import Catalog

if TYPE_CHECKING:
    from flows.core.registry.model import FittedModel

feedback_app = typer.Typer()
review_app = typer.Typer(help="Walk the review queue: confirm, correct or skip predictions.",
                         invoke_without_command=True)
EXPLAINED_FIELDS = 5
"""Contributions shown per record: the largest by size."""


@feedback_app.command()
def labels(
    path: Annotated[Path, typer.Argument(metavar="FILE", help=(
        "CSV/TSV/Parquet/JSON with request_id, index (default 0) and the true value in "
        "'label' or a column named after the target."))],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Join true labels to served predictions by request id; show live performance."""
    from flows.core.monitoring.feedback import read_labels_file
    from flows.core.monitoring.monitor import as_predicted_classes, check_performance, ingest_logs

    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    targets = set(catalog.list_models()["target"].to_list())
    if not targets:
        raise AutopipeError("no model has been registered yet",
                            "train one first: autopipe run PATH --target COLUMN")
    rows = read_labels_file(path, targets, f"file:{path.name}", getpass.getuser())
    ingest_logs(catalog, settings.prediction_logs_dir)
    matched = catalog.save_labels(as_predicted_classes(catalog, rows), getpass.getuser())
    if not matched:
        raise AutopipeError(f"none of the {len(rows)} labels in {path.name} matches a logged "
                            "prediction",
                            "use the request_id (and index) the service answered with; the "
                            "service's logs must be under this AUTOPIPE_HOME")
    performance = check_performance(catalog)
    if as_json:
        print(json.dumps(json_safe({"received": len(rows), "matched": matched,
                                    "performance": [vars(p) | {"loss": p.loss}
                                                    for p in performance]})))
        return
    out.print(f"{matched} of {len(rows)} labels matched a logged prediction"
              + (f"; {len(rows) - matched} did not" if matched < len(rows) else ""))
    from flows.cli.monitor import print_performance

    print_performance(performance)


@feedback_app.command()
def retrain(
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: the newest "
                                                     "model's dataset).")] = None,
    budget: Annotated[float | None, typer.Option(help="Wall seconds for the challenger's run "
                                                      "(default: the champion's).")] = None,
    max_models: Annotated[int | None, typer.Option(
        min=1, help="Fit exactly this many configurations, clock-free and reproducible "
                    "(default: the champion's count, if it had one).")] = None,
    auto_promote: Annotated[bool | None, typer.Option(
        "--auto-promote/--no-auto-promote",
        help="Promote without a person when the challenger gains at least --min-gain "
             "(default: AUTOPIPE_FEEDBACK__AUTO_PROMOTE, off).")] = None,
    min_gain: Annotated[float | None, typer.Option(help="Gain automatic promotion needs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train a challenger on the data plus labelled and corrected predictions; compare it
    with the champion on fresh labelled rows and recommend (or make) the promotion."""
    def call() -> dict[str, Any]:
        from flows.retrain_flow import retrain as retrain_flow

        return retrain_flow(dataset=dataset, budget_s=budget, max_models=max_models,
                            auto_promote=auto_promote, min_gain=min_gain)

    result = run_flow(load_settings(), call, show_progress=not as_json)
    if as_json:
        print(json.dumps(json_safe(result), default=str))
        return
    _print_retrain(result)


def _print_retrain(result: dict[str, Any]) -> None:
    verdict, feedback = result["verdict"], result["feedback"]
    table = Table("measure", "champion", "challenger",
                  title=f"Retrained {result['dataset']}: {result['champion']} vs "
                        f"{result['challenger']}")
    gate = verdict["gate"]
    if gate:
        table.add_row(f"{gate['metric']} on {gate['rows']} fresh rows", fmt(gate["champion"]),
                      fmt(gate["challenger"]))
    for part in ("trained", "fresh"):
        table.add_row(f"follows corrections ({part})",
                      fmt(verdict["agreement"]["champion"][part], 3),
                      fmt(verdict["agreement"]["challenger"][part], 3))
    out.print(table)
    out.print(f"{feedback['labelled']} labelled predictions ({feedback['corrected']} "
              f"corrections): {feedback['trained_on']} trained on, {verdict['fresh_rows']} "
              "kept fresh")
    if result["promoted"]:
        out.print(f"[green]promoted[/] {result['challenger']} automatically "
                  f"(gain {verdict['gain']:.4f})")
    elif verdict["recommend_promotion"]:
        out.print(f"[green]recommended[/] {verdict['description']}. Promote it: "
                  f"autopipe promote {result['challenger']} --reason TEXT")
    else:
        out.print(f"[yellow]not recommended[/] {verdict['description']}")
    err.print(f"report: {result['report']}")


@review_app.callback()
def review(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Review at most this many.")] = 20,
    list_only: Annotated[bool, typer.Option("--list", help="List the queue.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="List the queue as JSON.")] = False,
    author: Annotated[str | None, typer.Option(help="Who decides (default: you).")] = None,
) -> None:
    """Refresh the queue from the service's logs, then walk it: confirm, correct, skip."""
    if ctx.invoked_subcommand is not None:
        return
    from flows.core.monitoring.monitor import ingest_logs, refresh_review_queue

    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    ingest_logs(catalog, settings.prediction_logs_dir)
    refresh_review_queue(catalog, settings.feedback)
    queue = catalog.review_queue(pending_only=True)
    if as_json:
        print(json.dumps(json_safe(queue.to_dicts()), default=str))
        return
    if queue.is_empty():
        out.print("The review queue is empty. It fills from served predictions: serve a "
                  "model ('autopipe serve'), then run 'autopipe monitor' or this again.")
        return
    if list_only:
        _print_queue(queue.to_dicts())
        return
    _walk(catalog, queue.head(limit).to_dicts(), author or getpass.getuser())


@review_app.command()
def decide(
    request_id: Annotated[str, typer.Argument(help="The prediction's request id.")],
    index: Annotated[int, typer.Option(help="The record's index in its request.")] = 0,
    confirm: Annotated[bool, typer.Option("--confirm", help="The prediction is right.")] = False,
    label: Annotated[str | None, typer.Option(help="The right label (a correction).")] = None,
    skip: Annotated[bool, typer.Option("--skip", help="Leave it unlabelled.")] = False,
    note: Annotated[str | None, typer.Option(help="A note for the record.")] = None,
) -> None:
    """Decide one queued prediction without the walk (for scripts)."""
    if confirm + skip + (label is not None) != 1:
        raise AutopipeError("say exactly one of --confirm, --label VALUE or --skip",
                            "e.g. autopipe review decide REQUEST_ID --label yes")
    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    entry = catalog.review_queue(pending_only=False).filter(request_id=request_id, idx=index)
    if entry.is_empty():
        raise AutopipeError(f"prediction {request_id}:{index} is not in the review queue",
                            "list the queue with 'autopipe review --list'")
    decision, value = ("skipped", None) if skip else ("confirmed", None) if confirm else (
        "corrected", _label_for(catalog, entry.row(0, named=True), str(label)))
    change = catalog.decide_review(request_id, index, decision, value, getpass.getuser(), note)
    out.print(_decided(change))


def _label_for(catalog: Catalog, entry: dict[str, Any], text: str) -> Any:
    from flows.core.monitoring.review import parse_label

    return parse_label(_model_of(catalog, entry), text)


def _model_of(catalog: Catalog, entry: dict[str, Any]) -> FittedModel:
    from flows.core.registry.model import load_model

    return load_model(catalog.model(entry["model_version"]).artifact_path)


def _walk(catalog: Catalog, entries: list[dict[str, Any]],
          author: str) -> None:
    """One record at a time: what it was, what was predicted and why; then the decision."""
    decided = 0
    try:
        for number, entry in enumerate(entries, start=1):
            decided += _review_one(catalog, entry, number, len(entries), author)
    except (typer.Abort, _Quit):  # Ctrl-C, Ctrl-D or 'q': keep what was decided
        pass
    err.print(f"{decided} decision(s) stored. Retrain with them: autopipe retrain")


class _Quit(Exception):
    """The reviewer typed q."""


def _review_one(catalog: Catalog, entry: dict[str, Any], number: int, total: int,
                author: str) -> int:
    """Show one queued prediction and store the person's decision on it."""
    from flows.core.monitoring.review import explain_entry

    model = _model_of(catalog, entry)
    _show(entry, model, explain_entry(model, entry["features"]), number, total)
    choice = typer.prompt("[c]onfirm, co[r]rect, [s]kip, [q]uit", default="s",
                          show_default=True).strip().lower()
    if choice.startswith("q"):
        raise _Quit
    value, decision = None, "skipped"
    if choice.startswith("r"):
        value, decision = _ask_label(model, json.loads(entry["result"])["prediction"]), \
            "corrected"
    elif choice.startswith("c"):
        decision = "confirmed"
    note = typer.prompt("note (optional)", default="", show_default=False) or None
    out.print(_decided(catalog.decide_review(entry["request_id"], entry["idx"], decision,
                                             value, author, note)))
    return 1


def _ask_label(model: FittedModel, predicted: Any) -> Any:
    """Ask until the answer is a label the model knows and differs from the prediction."""
    from flows.core.monitoring.review import numbered_choices, parse_label

    names = model.class_names
    if names:
        out.print("choices: " + ("  ".join(f"[bold]{i}[/] {name}" for i, name in
                                           enumerate(names, start=1))
                                 if numbered_choices(names) else ", ".join(names)))
    while True:
        try:
            value = parse_label(model, typer.prompt("true label"))
        except AutopipeError as exc:
            err.print(f"[red]{exc.message}[/] ({exc.hint})")
            continue
        if str(value) != str(predicted):
            return value
        err.print(f"[red]{value} is the prediction[/] (type another label, or confirm)")


def _show(entry: dict[str, Any], model: FittedModel, explanation: Any, number: int,
          total: int) -> None:
    result = json.loads(entry["result"])
    fields = Table("field", "value", "contribution", box=None)
    parts = explanation.contributions
    largest = sorted(parts, key=lambda name: -abs(parts[name]))[:EXPLAINED_FIELDS]
    for name, value in json.loads(entry["features"]).items():
        share = parts.get(name)
        fields.add_row(name, str(value), (f"[{'green' if share > 0 else 'red'}]{share:+.3f}[/]"
                                          if name in largest and share else ""))
    probabilities = result.get("probabilities") or {}
    answer = (f"predicted [bold]{result['prediction']}[/]"
              + (f" (confidence {fmt(entry['confidence'], 2)}; "
                 + ", ".join(f"{k} {v:.2f}" for k, v in probabilities.items()) + ")"
                 if probabilities else ""))
    out.print(Panel(fields, title=f"{number}/{total} · {entry['reason']} · "
                                  f"{entry['request_id']}:{entry['idx']}",
                    subtitle=f"{model.version} · {entry['slice']} · contributions in "
                             f"{explanation.output}"))
    out.print(answer)


def _decided(change: dict[str, Any]) -> str:
    what = {"confirmed": f"confirmed {change['predicted']}",
            "corrected": f"corrected {change['predicted']} -> {change['label']}",
            "skipped": "skipped"}[change["to"]]
    return f"{change['request_id']}:{change['index']} {what}"


def _print_queue(entries: list[dict[str, Any]]) -> None:
    table = Table("request:index", "reason", "confidence", "prediction", "model", "slice",
                  "logged", title=f"Review queue ({len(entries)} pending)")
    for entry in entries:
        table.add_row(f"{entry['request_id']}:{entry['idx']}", entry["reason"],
                      fmt(entry["confidence"], 2), str(json.loads(entry["result"])["prediction"]),
                      entry["model_version"], entry["slice"], f"{entry['logged_at']:%m-%d %H:%M}")
    out.print(table)
