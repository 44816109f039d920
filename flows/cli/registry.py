"""The registry commands: list model versions, promote a challenger, roll back a champion.

Every change moves an alias (an append-only event), writes the audit log and rewrites the
dataset's release file, which a running service watches; the changes themselves live in
``flows.core.registry.promotion``, shared with the TUI, and these commands parse options and print.
"""

from __future__ import annotations

import getpass
import json
import os
from typing import Annotated

import typer
from rich.table import Table

from flows.cli.console import err, fmt, json_safe, load_settings, out
from flows.core.errors import AutopipeError
from flows.core.registry import promotion as promoting
from flows.core.store.catalog import GLOBAL_SLICE, Catalog
from flows.server.environment import tool_environment

registry_app = typer.Typer()


@registry_app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List model versions, newest first, with their aliases (champion, challenger)."""
    frame = Catalog(load_settings().catalog_path).list_models()
    if as_json:
        rows = [row | {"lineage": json.loads(row["lineage"]) if row["lineage"] else None}
                for row in frame.to_dicts()]
        print(json.dumps(json_safe(rows), default=str))
        return
    if frame.is_empty():
        err.print("No models yet. Train one: autopipe run PATH --target COLUMN")
        return
    table = Table("version", "dataset", "target", "learner", "metric", "score", "aliases",
                  "created", title="Models")
    for row in frame.iter_rows(named=True):
        table.add_row(row["version"], row["dataset"], row["target"], row["learner"],
                      row["main_metric"], fmt(row["score"]), row["aliases"],
                      f"{row['created_at']:%Y-%m-%d %H:%M}")
    out.print(table)


@registry_app.command()
def promote(
    version: Annotated[str, typer.Argument(help="The model version to make champion.")],
    reason: Annotated[str | None, typer.Option(help="Why (goes to the audit log).")] = None,
    force: Annotated[bool, typer.Option(help="Skip the gate (needs --reason).")] = False,
) -> None:
    """Make VERSION the champion if it beats the current one on the same held-out rows."""
    settings = load_settings()
    done = promoting.promote(settings, Catalog(settings.catalog_path), version, reason, force,
                             getpass.getuser())
    err.print(f"[green]promoted[/] {version} to champion of {done.family!r}"
              + (f" ({done.gate.describe()})" if done.gate else " (no champion before)"))


@registry_app.command()
def rollback(
    dataset: Annotated[str | None, typer.Option(help="Dataset name (needed when several "
                                                     "datasets have models).")] = None,
    slice_name: Annotated[str | None, typer.Option("--slice", help="Slice (default: the "
                                                   "global model).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (goes to the audit log).")] = None,
) -> None:
    """Make the previous champion the champion again."""
    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    family = dataset or _only_family(catalog)
    current, target = promoting.rollback(settings, catalog, family,
                                         slice_name or GLOBAL_SLICE, reason, getpass.getuser())
    err.print(f"[yellow]rolled back[/] {family!r}: champion {current} -> {target}")


def _only_family(catalog: Catalog) -> str:
    families = catalog.families()
    if len(families) == 1:
        return families[0]
    raise AutopipeError("several datasets have models: say which with --dataset NAME"
                        if families else "no model has been registered yet",
                        f"datasets: {', '.join(families)}" if families
                        else "train one first: autopipe run PATH --target COLUMN")


@registry_app.command()
def package(
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: the newest "
                                                     "model's dataset).")] = None,
) -> None:
    """Build a Bento of the dataset's current release (every slice's champion) with
    `bentoml build`, offline; serve it with `bentoml serve TAG`."""
    from bentos.package import package_release

    settings = load_settings()
    catalog = Catalog(settings.catalog_path)
    tag = package_release(catalog, dataset or catalog.newest_family(),
                          settings.root / "bento-builds")
    out.print(tag)
    err.print(f"[green]built[/] {tag}. Serve it: BENTOML_HOME={settings.bentoml_home} "
              f"bentoml serve {tag}")


@registry_app.command()
def containerize(
    tag: Annotated[str, typer.Argument(help="The Bento tag 'autopipe package' printed.")],
) -> None:
    """Build a container image of a Bento with `bentoml containerize` (needs Docker)."""
    import shutil
    import subprocess

    command = ["bentoml", "containerize", tag]
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True,
                                        check=False).returncode != 0:
        raise AutopipeError("no Docker engine answers on this machine",
                            f"on a machine with Docker, run: {' '.join(command)}")
    raise typer.Exit(subprocess.call(command, env=os.environ | tool_environment(
        load_settings())))
