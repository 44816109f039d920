"""Promotion and rollback of a dataset's champion: one implementation for every front end.

The CLI (`autopipe promote`, `autopipe rollback`) and the TUI's models screen both call these
functions, so a promotion from either passes the same gate and leaves the same trace: an alias
event, an audit entry with the reason, and a rewritten release file that a running service
watches. The functions only act and raise; the front ends print or notify.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flows.core.config import Settings
from flows.core.errors import AutopipeError
from flows.core.registry.release import make_champion, write_release
from flows.core.store.catalog import GLOBAL_SLICE, Catalog
from flows.core.store.rows import AliasChange

if TYPE_CHECKING:  # the gate pulls scikit-learn into every CLI command's start-up
    from flows.core.registry.gate import GateResult


class PromotionRefused(AutopipeError):
    """The challenger did not clear the promotion gate."""


@dataclass(frozen=True)
class Promotion:
    """What a promotion did: the family whose champion is now ``version``, and the gate it
    passed (None when the family had no champion to compare with)."""

    family: str
    version: str
    gate: GateResult | None


def promote(settings: Settings, catalog: Catalog, version: str, reason: str | None,
            force: bool, actor: str) -> Promotion:
    """Make ``version`` its family's global champion if it beats the current one on the same
    held-out rows by the configured margin; ``force`` (with a reason) skips the verdict, and
    the gate's numbers are still recorded."""
    family = catalog.family_of(version)
    champion = catalog.aliases(family).get((GLOBAL_SLICE, "champion"))
    if champion == version:
        raise AutopipeError(f"{version} is already the champion of {family!r}",
                            "list the versions with 'autopipe models'")
    slice_ = catalog.model(version).slice
    if slice_ != GLOBAL_SLICE:
        raise AutopipeError(
            f"{version} is the model of slice {slice_!r}: only a global model can be promoted",
            "a slice's champion is chosen when a run trains it; roll a slice back with "
            "'autopipe rollback --slice NAME'")
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
                  actor, reason, detail, settings.releases_dir)
    return Promotion(family, version, result)


def rollback(settings: Settings, catalog: Catalog, family: str, slice_: str,
             reason: str | None, actor: str) -> tuple[str, str]:
    """Make the slice's previous champion its champion again; (replaced, restored)."""
    current = catalog.aliases(family).get((slice_, "champion"))
    target = catalog.rollback_target(family, slice_)
    if current is None or target is None:
        raise AutopipeError(f"{family!r} has no earlier champion to roll back to",
                            "list the versions and their aliases with 'autopipe models'")
    catalog.change_alias(AliasChange(family, slice_, "champion", target, "rollback", actor,
                                     reason))
    write_release(catalog, family, settings.releases_dir)
    return current, target


def _gate(settings: Settings, catalog: Catalog, champion: str, challenger: str) -> GateResult:
    """Both models on the same held-out rows: a retrained challenger's fresh labelled rows,
    else the challenger's test part, rebuilt from its dataset snapshot."""
    from flows.core.data.ingest import read_snapshot
    from flows.core.monitoring.retraining import fresh_features
    from flows.core.registry.artifacts import read_card, read_fresh_rows
    from flows.core.registry.gate import gate, held_out_rows
    from flows.core.registry.model import load_model

    challenger_record = catalog.model(challenger)
    fresh = read_fresh_rows(challenger_record.artifact_path)
    if fresh is not None:
        features, labels = fresh_features(fresh, challenger_record.target)
    else:
        card = read_card(challenger_record.artifact_path)
        snapshot = read_snapshot(catalog.dataset(challenger_record.dataset_hash),
                                 challenger_record.target)
        features, labels = held_out_rows(
            snapshot, challenger_record.target,
            settings.search.test_size if card.test_size is None else card.test_size,
            settings.search.seed if card.seed is None else card.seed)
    return gate(load_model(catalog.model(champion).artifact_path),
                load_model(challenger_record.artifact_path), features, labels,
                settings.registry.promotion_margin)
