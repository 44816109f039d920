"""The release a service serves: each slice's champion of one dataset family, as a file.

The catalog is the source of truth, but the service never opens it: every alias change
rewrites ``releases/<family>.json`` (atomically), and a running service watches that file and
swaps models when it changes. Artifact paths are absolute here; a packaged Bento carries a
copy whose paths are relative to the file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.core.errors import ModelNotFoundError
from flows.core.files import write_atomically
from flows.core.registry.artifacts import model_version_slug
from flows.core.store.catalog import GLOBAL_SLICE, Catalog
from flows.core.store.rows import AliasChange


def release_path(releases_dir: Path, family: str) -> Path:
    return releases_dir / f"{model_version_slug(family)}.json"


def release_document(catalog: Catalog, family: str) -> dict[str, Any]:
    aliases = catalog.aliases(family)
    if (GLOBAL_SLICE, "champion") not in aliases:
        raise ModelNotFoundError(f"dataset {family!r} has no champion model",
                                 f"train one: autopipe run FILE --target COLUMN --name {family}")
    versions = sorted(set(aliases.values()))
    return {
        "family": family,
        "updated_at": datetime.now().isoformat(),
        "champions": {s or "global": v for (s, a), v in aliases.items() if a == "champion"},
        "challengers": {s or "global": v for (s, a), v in aliases.items() if a == "challenger"},
        "artifacts": {v: str(catalog.model(v).artifact_path) for v in versions},
    }


def write_release(catalog: Catalog, family: str, releases_dir: Path) -> Path:
    """Rewrite the family's release file from the catalog's current aliases."""
    return write_atomically(release_path(releases_dir, family),
                            json.dumps(release_document(catalog, family), indent=2))


def write_pinned_release(catalog: Catalog, version: str, releases_dir: Path) -> Path:
    """A release serving one chosen version, whatever the aliases say (``serve --model``)."""
    record = catalog.model(version)
    return write_atomically(releases_dir / f"pinned-{record.version}.json", json.dumps({
        "family": catalog.family_of(record.version), "updated_at": datetime.now().isoformat(),
        "champions": {"global": record.version}, "challengers": {},
        "artifacts": {record.version: str(record.artifact_path)}}, indent=2))


def read_release(path: Path) -> dict[str, Any]:
    """A release file with its artifact paths made absolute."""
    if not path.exists():
        raise ModelNotFoundError(f"no release file at {path}",
                                 "train a model first, or give the release of a dataset")
    document = json.loads(path.read_text())
    document["artifacts"] = {v: str((path.parent / p).resolve())
                             for v, p in document["artifacts"].items()}
    return document


def make_champion(catalog: Catalog, family: str, version: str, action: str, actor: str,
                  reason: str | None, detail: dict[str, Any], releases_dir: Path) -> None:
    """Point the global champion at ``version`` (no longer the challenger, if it was), with
    the audit entries, and rewrite the release a running service watches."""
    catalog.change_alias(AliasChange(family, GLOBAL_SLICE, "champion", version, action, actor,
                                     reason), detail)
    if catalog.aliases(family).get((GLOBAL_SLICE, "challenger")) == version:
        catalog.change_alias(AliasChange(family, GLOBAL_SLICE, "challenger", None, action,
                                         actor, f"{version} became champion"))
    write_release(catalog, family, releases_dir)
