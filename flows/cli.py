"""The ``autopipe`` command: parse, call the library, print. No logic of its own.

Library errors (AutopipeError) become one message and one hint on stderr and exit code 2,
never a traceback. Heavy imports (Prefect, BentoML, Textual) happen inside the commands
that need them, so ``autopipe runs`` stays quick.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.table import Table

from flows.analysis_cli import analysis_app, print_alerts
from flows.console import (
    err,
    fmt,
    json_safe,
    load_settings,
    out,
    prefect_api,
    process_started,
    run_flow,
)
from flows.core.cleaning import duplicates_note
from flows.core.config import Settings
from flows.core.errors import AutopipeError
from flows.core.store import Catalog
from flows.core.types import LOWER_IS_BETTER, beats
from flows.feedback_cli import feedback_app, review_app
from flows.monitor_cli import alerts_app, monitor_app
from flows.registry_cli import registry_app

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="autopipe: from a table to a monitored, served model.")
server_app = typer.Typer(help="The local Prefect server that runs autopipe's flows.")
app.add_typer(server_app, name="server")
app.add_typer(registry_app)
app.add_typer(analysis_app)
app.add_typer(monitor_app)
app.add_typer(alerts_app, name="alerts")
app.add_typer(feedback_app)
app.add_typer(review_app, name="review")
DEMO_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "samples" / "titanic.csv"
SOURCE_HELP = ("A file (.csv .tsv .txt [.gz], .parquet, .json, .ndjson, .xlsx) or a database "
               "URI: sqlite:///file.db?table=T, postgresql://user@host/db?table=T.")
QUERY_HELP = "SQL query to read from a database URI (instead of ?table=)."
METRIC_HELP = ("Metric to optimise. Binary: log_loss (default), roc_auc, accuracy, f1, ap; "
               "multiclass: log_loss (default), accuracy, macro_f1, roc_auc_ovr; regression: "
               "rmse (default), mae, r2.")
PREFER_HELP = ("fast: one quick model; accurate: an ensemble whenever it validates better; "
               "balanced: an ensemble only if its gain pays for its slower predictions.")
MAX_MODELS_HELP = ("Fit exactly this many portfolio configurations, whatever the clock says, and "
                   "no tuner: the same data, seed and N give the same model, bit for bit "
                   "(--budget is then not kept).")


class PreferChoice(StrEnum):
    fast = "fast"
    balanced = "balanced"
    accurate = "accurate"


def train_once(settings: Settings, source: str, target: str, show_progress: bool,
               **options: Any) -> dict[str, Any]:
    """Run the train flow in this process against the Prefect server; ``options`` are the
    flow's own parameters (budget_s, name, seed, query, metric, prefer, max_models,
    slice_by, min_slice_rows, policies, workers). The budget counts from this process's
    start."""
    from flows.core.ingest import check_source

    check_source(source, target, options.get("query"))

    def call() -> dict[str, Any]:
        from flows.train_flow import train

        return train(source=source, target=target, started_at=process_started(), **options)

    return run_flow(settings, call, show_progress)


def train_remote(settings: Settings, source: str, target: str, show_progress: bool,
                 **options: Any) -> dict[str, Any]:
    """Submit the train deployment and follow it until it ends; its summary."""
    from flows.core.ingest import check_source

    check_source(source, target, options.get("query"))
    prefect_api(settings)
    from flows.progress_display import RunProgress
    from flows.remote import follow, submit_train

    flow_run_id = submit_train(settings, {"source": source, "target": target} | options)
    err.print(f"Submitted flow run {flow_run_id} to the train deployment.")
    if not show_progress:
        return follow(settings, flow_run_id, lambda _event: None, err.print)
    with RunProgress(err) as progress:
        return follow(settings, flow_run_id, progress.show, progress.progress.console.print)


@app.command()
def run(
    path: Annotated[str, typer.Argument(metavar="SOURCE", help=SOURCE_HELP)],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to predict.")],
    budget: Annotated[float | None, typer.Option(
        help="Wall seconds for the whole run, from this command's start to the registered "
             "model (default 60).")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: file name).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for split and search.")] = None,
    query: Annotated[str | None, typer.Option(help=QUERY_HELP)] = None,
    metric: Annotated[str | None, typer.Option(help=METRIC_HELP)] = None,
    prefer: Annotated[PreferChoice, typer.Option(help=PREFER_HELP)] = PreferChoice.balanced,
    max_models: Annotated[int | None, typer.Option(min=1, help=MAX_MODELS_HELP)] = None,
    slice_by: Annotated[list[str] | None, typer.Option(
        "--slice-by", help="Column to slice by (repeat for several): one model per slice "
                           "with enough rows, each compared with the global model.")] = None,
    min_slice_rows: Annotated[int, typer.Option(
        help="Rows a slice needs for its own model; smaller slices use the global one.")] = 300,
    workers: Annotated[int, typer.Option(help="Slices trained side by side.")] = 1,
    dask: Annotated[str | None, typer.Option(
        help="Train the slices on Dask: 'local' (a local cluster of --workers processes) or "
             "a scheduler address (tcp://host:8786; needs autopipe[dask]).")] = None,
    policy: Annotated[list[Path] | None, typer.Option(
        help="A policy file (YAML; repeat for several): the slices it governs are held to "
             "it. Examples: flows/policies/.")] = None,
    remote: Annotated[bool, typer.Option(
        "--remote", help="Submit the run to the server's train deployment and follow it "
                         "(its slices spread over the slice workers; autopipe server "
                         "start).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train: ingest, baselines, a bagged portfolio, FLAML's tuner, ensembles, evaluate,
    register a servable model."""
    settings = load_settings()
    options: dict[str, Any] = {
        "budget_s": budget, "name": name, "seed": seed, "query": query, "metric": metric,
        "prefer": prefer.value, "max_models": max_models, "slice_by": slice_by or None,
        "min_slice_rows": min_slice_rows, "policies": [str(p) for p in policy or []] or None}
    if remote and (dask or workers != 1):
        raise AutopipeError("--workers and --dask place the slices of a local run",
                            "a --remote run's slices go to the server's slice workers: "
                            "autopipe server start --workers N")
    if remote:
        summary = train_remote(settings, path, target, not as_json, **options)
    else:
        summary = train_once(settings, path, target, not as_json, workers=workers, dask=dask,
                             **options)
    if as_json:
        print(json.dumps(json_safe(summary)))
    else:
        _print_summary(summary)


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: from source).")] = None,
    query: Annotated[str | None, typer.Option(help=QUERY_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ingest a source into a versioned, content-hashed dataset snapshot."""
    from flows.core import ingest as ingesting
    from flows.core.sources import parse_source

    settings = load_settings()
    with err.status("Ingesting…"):
        result = ingesting.ingest(parse_source(source, query), settings.datasets_dir, name)
        Catalog(settings.catalog_path).save_dataset(result.dataset)
    dataset = result.dataset
    if as_json:
        print(json.dumps({"name": dataset.name, "content_hash": dataset.content_hash,
                          "created": result.created, "rows": dataset.rows,
                          "columns": dataset.columns, "report": dataset.report}, default=str))
        return
    state = "new version" if result.created else "unchanged: existing version"
    out.print(f"Dataset [bold]{dataset.name}[/] {dataset.short_hash} ({state}): "
              f"{dataset.rows} rows, {dataset.columns} columns")
    _print_ingest_report(dataset.report)


@app.command()
def datasets(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List dataset versions, newest first."""
    frame = Catalog(load_settings().catalog_path).datasets().drop("report")
    if as_json:
        print(json.dumps(frame.to_dicts(), default=str))
        return
    if frame.is_empty():
        err.print("No datasets yet. Add one: autopipe ingest SOURCE")
        return
    table = Table("name", "hash", "rows", "columns", "created", "previous version",
                  title="Datasets")
    for row in frame.iter_rows(named=True):
        table.add_row(row["name"], row["content_hash"][:16], str(row["rows"]),
                      str(row["columns"]), f"{row['created_at']:%Y-%m-%d %H:%M}",
                      (row["parent_hash"] or "")[:16])
    out.print(table)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Serve this dataset's release (default: "
                                                     "the newest model's dataset).")] = None,
    model: Annotated[str | None, typer.Option(help="Serve this version only, whatever the "
                                                   "aliases say.")] = None,
) -> None:
    """Serve a release over HTTP with `bentoml serve` (POST /predict, /explain, /metadata);
    promotions and rollbacks take effect without a restart."""
    import subprocess

    from flows.core.release import release_path, write_pinned_release, write_release
    from flows.serving import service_command, service_environment

    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    if model:
        release_file = write_pinned_release(catalog, model, settings.releases_dir)
    else:
        family = dataset or catalog.newest_family()
        release_file = release_path(settings.releases_dir, family)
        if not release_file.exists():
            release_file = write_release(catalog, family, settings.releases_dir)
    chosen_port = port or settings.serve.port
    err.print(f"Serving [bold]{release_file.stem}[/] ({release_file}) on "
              f"http://{settings.serve.host}:{chosen_port}  (Ctrl-C stops)")
    command = service_command(settings.serve.host, chosen_port)
    try:
        raise typer.Exit(subprocess.call(command, env=service_environment(settings,
                                                                          release_file)))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def predict(
    input_path: Annotated[str, typer.Argument(metavar="INPUT", help="Source to score.")],
    out_path: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    dataset: Annotated[str | None, typer.Option(help="Score with this dataset's champion "
                                                     "(default: the newest model's dataset).")
                       ] = None,
    model: Annotated[str | None, typer.Option(help="Score with this model version.")] = None,
) -> None:
    """Score a file in batch: one output row per input row, in order."""
    from flows.core.batch import predict_file
    from flows.core.model import load_model

    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    record = catalog.model(model or catalog.champion(dataset))
    predictions = predict_file(input_path, load_model(record.artifact_path))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    predictions.to_csv(out_path, index=False)
    err.print(f"Wrote {len(predictions)} predictions by {record.version} to {out_path}")


@app.command()
def runs(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List training runs, newest first."""
    frame = Catalog(load_settings().catalog_path).list_runs()
    if as_json:
        print(json.dumps(json_safe(frame.to_dicts()), default=str))
        return
    if frame.is_empty():
        err.print("No runs yet. Start one: autopipe run PATH --target COLUMN")
        return
    table = Table("run", "dataset", "task", "model", "metric", "model", "best baseline",
                  "seconds", "started", title="Runs")
    for row in frame.iter_rows(named=True):
        table.add_row(row["run_id"], row["dataset"], row["task"], row["learner"] or "",
                      row["main_metric"], fmt(row["model_score"]),
                      fmt(_best_baseline(row)), fmt(row["duration_s"], 1),
                      f"{row['started_at']:%Y-%m-%d %H:%M}")
    out.print(table)


@app.command()
def tui() -> None:
    """Open the terminal UI."""
    from tui.app import AutopipeApp

    AutopipeApp(load_settings()).run()


@app.command()
def demo(budget: Annotated[float, typer.Option(help="Search budget in seconds.")] = 10.0) -> None:
    """Train on the shipped Titanic sample, serve it, ask for a prediction, stop."""
    import httpx

    from flows.local_server import free_port
    from flows.serving import start_service, stop_service, wait_ready

    settings = load_settings()
    err.print(f"[bold]1/3[/] Training on {DEMO_SAMPLE.name} (target 'survived', {budget:g} s)")
    summary = train_once(settings, str(DEMO_SAMPLE), "survived", True, budget_s=budget)
    _print_summary(summary)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    err.print(f"[bold]2/3[/] Starting the prediction service on {base_url}")
    process = start_service(settings, Path(summary["release"]), "127.0.0.1", port,
                            settings.logs_dir / "demo-service.log")
    try:
        wait_ready(process, base_url)
        records = [
            {"pclass": 1, "name": "Allen, Miss. Elisabeth", "sex": "female", "age": 29,
             "sibsp": 0, "parch": 0, "ticket": "24160", "fare": 211.34, "cabin": "B5",
             "embarked": "S"},
            {"pclass": 3, "name": "Smith, Mr. John", "sex": "male", "age": 40, "sibsp": 0,
             "parch": 0, "ticket": "A/5 1234", "fare": 7.25, "cabin": None, "embarked": "S"},
        ]
        err.print("[bold]3/3[/] POST /predict with two passengers")
        response = httpx.post(f"{base_url}/predict", json={"records": records}, timeout=30)
        response.raise_for_status()
        out.print_json(data=response.json())
    finally:
        stop_service(process)
    err.print("Done. Next: autopipe runs · autopipe tui · autopipe serve. The local Prefect "
              "server keeps running for later runs; autopipe server stop ends it.")


@server_app.command("start")
def server_start(
    slice_workers: Annotated[int, typer.Option(
        "--workers", help="Slice workers: each trains one slice at a time with its share of "
                          "the cores (0: the server and the run worker only).")] = 1,
) -> None:
    """Start (or find) the local Prefect server, deploy autopipe's flows (prefect.yaml) and
    start their workers: one for runs, --workers for slices. Prints the API address."""
    settings = load_settings()
    url = prefect_api(settings)
    from flows.reaping import reap_stopped_runs
    from flows.workers import deploy_all, ensure_pool, ensure_zombie_automation, start_workers

    for state in reap_stopped_runs(settings):
        err.print(f"[yellow]Run {state['run_id']} had died mid-run:[/] its flow run is marked "
                  "crashed and the files it had written are removed.")
    with err.status("Deploying autopipe's flows from prefect.yaml…"):
        ensure_pool()
        ensure_zombie_automation()
        deploy_all(settings, url)
    table = Table("worker pid", "queue", "runs at once", "log", box=None)
    for worker in start_workers(settings, url, max(0, slice_workers)):
        table.add_row(str(worker["pid"]), str(worker["queue"]),
                      str(worker["limit"] or "any"), str(worker["log"]))
    err.print(table)
    err.print("Submit runs with: autopipe run SOURCE --target COLUMN --remote")
    out.print(url)


@server_app.command("status")
def server_status() -> None:
    """Whether the local Prefect server and its workers are running."""
    from flows.local_server import api_url
    from flows.workers import running_workers

    settings = load_settings()
    url = api_url(settings.prefect_home)
    err.print(f"server: {url or 'not running'}")
    workers = running_workers(settings.prefect_home)
    for worker in workers:
        err.print(f"worker {worker['pid']}: queue {worker['queue']}, log {worker['log']}")
    if not workers:
        err.print("workers: none (autopipe server start starts them)")


@server_app.command("stop")
def server_stop() -> None:
    """Stop the local Prefect server and the workers started by autopipe."""
    from flows.local_server import stop_server
    from flows.workers import stop_workers

    settings = load_settings()
    workers = stop_workers(settings.prefect_home)
    stopped = stop_server(settings.prefect_home)
    err.print(f"Stopped {workers} worker(s) and the local Prefect server." if stopped
              else f"Stopped {workers} worker(s); no local server was running.")


def _print_ingest_report(report: dict[str, Any]) -> None:
    table = Table("column", "type", "missing", "typed from text", "distinct", "note",
                  title=f"Ingest report · {report['rows_read']} rows read, "
                        f"{duplicates_note(report)}")
    for column in report["columns"]:
        table.add_row(column["name"], column["dtype"], str(column["missing"]),
                      column["inferred_from_text"] or "",
                      f"~{column['distinct']}", column["flag"] or "")
    out.print(table)
    tokens = ", ".join(repr(t) for t in report.get("missing_tokens", []))
    out.print(f"[dim]missing counts include the values read as missing: {tokens}[/]")


def _print_summary(summary: dict[str, Any]) -> None:
    metrics = summary["metrics"]
    baselines = summary["baselines"]
    table = Table("metric", f"model ({summary['learner']})",
                  *(f"{role} ({b['learner']})" for role, b in baselines.items()),
                  title=f"Run {summary['run_id']} · {summary['dataset']} · {summary['task']} "
                        f"· target {summary['target']}")
    for metric, value in metrics.items():
        style = "bold" if metric == summary["main_metric"] else ""
        table.add_row(metric, fmt(value),
                      *(fmt(b["metrics"].get(metric)) for b in baselines.values()), style=style)
    out.print(table)
    stages = Table("stage", "wall s", "cpu s", "peak MB", title="Resources")
    for stage in summary["stages"]:
        stages.add_row(stage["stage"], fmt(stage["wall_s"], 2), fmt(stage["cpu_s"], 2),
                       fmt(stage["peak_rss_mb"], 0))
    out.print(stages)
    if summary["training_rows_before_cap"]:
        out.print(f"[yellow]sampled[/] baselines and search trained on {summary['training_rows']}"
                  f" of {summary['training_rows_before_cap']} training rows (stratified; cap "
                  "AUTOPIPE_SEARCH__MAX_ROWS); the test part was used whole")
    balance = summary["class_balance"]
    if balance and balance["weighted"]:
        out.print(f"[yellow]imbalanced[/] class {balance['minority_class']!r} is "
                  f"{balance['minority_share']:.1%} of the training rows; the search used "
                  "balanced class weights")
    if summary["duplicates_dropped"]:
        out.print(f"[yellow]dropped[/] {summary['duplicates_dropped']} exact duplicate rows")
    if summary.get("duplicates_kept"):
        out.print(f"[yellow]kept[/] {summary['duplicates_kept']} rows that exactly repeat "
                  "another: no column identifies records, so they count as observations")
    if summary["dropped_single_row_classes"]:
        out.print(f"[yellow]dropped[/] the rows of classes seen only once: "
                  f"{', '.join(summary['dropped_single_row_classes'])}")
    if summary["dropped_missing_target"]:
        out.print(f"[yellow]dropped[/] {summary['dropped_missing_target']} rows without a "
                  f"value in {summary['target']!r}")
    _print_candidates(summary)
    for role, better in _baselines_ahead(summary):
        out.print(f"[yellow]note[/] {role} scores better on the held-out part "
                  f"({summary['main_metric']} {better:.4f}); a longer --budget may help")
    for excluded in summary["excluded_columns"]:
        out.print(f"[yellow]excluded[/] {excluded['column']}: {excluded['reason']}")
    _print_slices(summary)
    print_alerts(summary["data_alerts"])
    out.print(f"Model [bold]{summary['model_version']}[/] registered "
              f"({summary['trials']} trials). Serve it: autopipe serve")
    out.print(f"Report: [link=file://{summary['report']}]{summary['report']}[/]")



def _print_candidates(summary: dict[str, Any]) -> None:
    """The portfolio as fitted: each candidate's out-of-fold loss, cost and ensemble weight;
    what was skipped and why; what was chosen."""
    integration, training = summary["integration"], summary["training"]
    weights = dict(zip(integration["members"], integration["weights"] or [1.0], strict=False))
    table = Table("candidate", "origin", f"out-of-fold {summary['search_metric']}", "fit s",
                  "rounds per fold", "1-row ms", "weight",
                  title=f"Candidates ({training['folds']})")
    for fit in training["portfolio"]:
        rounds = fit["fold_rounds"]
        table.add_row(fit["name"], fit["origin"],
                      fmt(integration["validation_loss"].get(fit["name"])), fmt(fit["fit_s"], 1),
                      f"{min(rounds)}-{max(rounds)}" if any(rounds) else "–",
                      fmt(fit["latency_ms_1_row"], 2), fmt(weights.get(fit["name"]), 3))
    out.print(table)
    for skipped in training["skipped"]:
        out.print(f"[dim]skipped {skipped['name']}: {skipped['reason']}[/]")
    if training["stopped_early"]:
        out.print(f"[dim]portfolio stopped early: {training['stopped_early']}[/]")
    out.print(f"[green]chose[/] {integration['kind']} of {', '.join(integration['members'])}: "
              f"{integration['reason']} (metric {summary['search_metric']})")


def _print_slices(summary: dict[str, Any]) -> None:
    """Per slice: its model against the global model on the slice's held-out rows."""
    if not summary.get("slices"):
        return
    metric = summary["main_metric"]
    table = Table("slice", f"own model {metric}", f"global model {metric}", "served by",
                  title="Slices (test rows of each slice)")
    for result in summary["slices"]:
        metrics = result["metrics"]
        served = "own model" if result["champion_version"] == result["model_version"] \
            else "global model"
        table.add_row(result["slice"], fmt(metrics.get("slice", {}).get(metric)),
                      fmt(metrics.get("global", {}).get(metric)),
                      served if not result["reason"] else f"global model ({result['reason']})")
    out.print(table)
    for result in summary["slices"]:
        for breach in result.get("breaches") or []:
            out.print(f"[bold red]policy breach[/] {result['slice']} ({result['policy']}): "
                      f"{breach['message']}; its model is not promoted")


def _baselines_ahead(summary: dict[str, Any]) -> list[tuple[str, float]]:
    """Baselines that beat the searched model on the run's main metric."""
    metric = summary["main_metric"]
    model = summary["metrics"].get(metric)
    ahead = []
    for role, baseline in summary["baselines"].items():
        value = baseline["metrics"].get(metric)
        if model is not None and value is not None and beats(metric, value, model):
            ahead.append((role, value))
    return ahead


def _best_baseline(row: dict[str, Any]) -> float | None:
    lower_is_better = row["main_metric"] in LOWER_IS_BETTER
    return row["baseline_min"] if lower_is_better else row["baseline_max"]


def run_cli(argv: list[str] | None = None) -> int:
    """Run one command; library errors become a message and a hint, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except AutopipeError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True, highlight=False)
        if exc.hint:
            err.print(f"[bold]hint:[/] {exc.hint}", soft_wrap=True, highlight=False)
        return 2
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.exceptions.Abort, typer.Abort):
        err.print("aborted")
        return 1
    except (typer.Exit, SystemExit) as exc:
        return int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get("AUTOPIPE_DEBUG"):
            raise
        err.print(f"[bold red]error:[/] unexpected failure: {type(exc).__name__}: {exc}",
                  soft_wrap=True, highlight=False)
        err.print("[bold]hint:[/] this is a bug in autopipe; rerun with AUTOPIPE_DEBUG=1 "
                  "to see the traceback, and report it")
        return 1
    return 0


def main() -> None:
    """Console entry point.

    Exits without the interpreter's final teardown: after a run, unloading CatBoost,
    XGBoost and LightGBM took ~1.4 s here. Output is flushed and atexit handlers (Prefect
    sends its last logs and events there) run first, so nothing is lost.
    """
    code = run_cli()
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)
