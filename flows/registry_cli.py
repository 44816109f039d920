"""The registry commands: list model versions, promote a challenger, roll back a champion.

Every change moves an alias (an append-only event), writes the audit log and rewrites the
dataset's release file, which a running service watches.
"""

from __future__ import annotations

import getpass
import json
import os
from typing import TYPE_CHECKING, Annotated

import polars as pl
import typer
from rich.table import Table

from flows.console import err, fmt, json_safe, load_settings, out
from flows.core.config import Settings
from flows.core.errors import AutopipeError
from flows.core.release import make_champion, write_release
from flows.core.store import GLOBAL_SLICE, AliasChange, Catalog
from flows.environment import tool_environment

if TYPE_CHECKING:
    from flows.core.promotion import GateResult

registry_app = typer.Typer()


class PromotionRefused(AutopipeError):
    """The challenger did not clear the promotion gate."""


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
    catalog = Catalog(settings.catalog_path)
    family = catalog.family_of(version)
    champion = catalog.aliases(family).get((GLOBAL_SLICE, "champion"))
    if champion == version:
        raise AutopipeError(f"{version} is already the champion of {family!r}",
                            "list the versions with 'autopipe models'")
    if force and not reason:
        raise AutopipeError("a forced promotion needs a reason",
                            "add --reason 'why the gate does not apply'")
    result = None if champion is None else _gate(settings, catalog, champion, version)
    if result is not None and not result.passed and not force:
        raise PromotionRefused(
            f"{version} does not beat the champion {champion}: {result.describe()}",
            "train a better model, or promote anyway with --force --reason TEXT")
    detail = {"gate": result.as_dict() if result else None, "forced": force}
    make_champion(catalog, family, version, "force-promote" if force else "promote",
                  getpass.getuser(), reason, detail, settings.releases_dir)
    err.print(f"[green]promoted[/] {version} to champion of {family!r}"
              + (f" ({result.describe()})" if result else " (no champion before)"))


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
    slice_ = slice_name or GLOBAL_SLICE
    current = catalog.aliases(family).get((slice_, "champion"))
    target = catalog.rollback_target(family, slice_)
    if current is None or target is None:
        raise AutopipeError(f"{family!r} has no earlier champion to roll back to",
                            "list the versions and their aliases with 'autopipe models'")
    catalog.change_alias(AliasChange(family, slice_, "champion", target, "rollback",
                                     getpass.getuser(), reason))
    write_release(catalog, family, settings.releases_dir)
    err.print(f"[yellow]rolled back[/] {family!r}: champion {current} -> {target}")


def _gate(settings: Settings, catalog: Catalog, champion: str, challenger: str) -> GateResult:
    """Both models on the same held-out rows: a retrained challenger's fresh labelled rows,
    else the challenger's test part, rebuilt from its dataset snapshot."""
    from flows.core.model import load_model
    from flows.core.promotion import gate, held_out_rows
    from flows.core.registry import read_card, read_fresh_rows
    from flows.core.retraining import fresh_features

    challenger_record = catalog.model(challenger)
    fresh = read_fresh_rows(challenger_record.artifact_path)
    if fresh is not None:
        features, labels = fresh_features(fresh, challenger_record.target)
    else:
        card = read_card(challenger_record.artifact_path)
        dataset = catalog.datasets().filter(
            pl.col("content_hash") == challenger_record.dataset_hash)
        snapshot = pl.read_parquet(dataset["snapshot_path"][0])
        features, labels = held_out_rows(snapshot, challenger_record.target,
                                          card.get("test_size", settings.search.test_size),
                                          card.get("seed", settings.search.seed))
    return gate(load_model(catalog.model(champion).artifact_path),
                load_model(challenger_record.artifact_path), features, labels,
                settings.registry.promotion_margin)


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
