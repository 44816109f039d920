"""The models a running service answers with, following its release file.

A promotion or rollback rewrites the release file (atomically). The service checks the file's
modification time at most once a second, on a request; when it changed, the new champions are
loaded first and then swapped in with one assignment, so a request in flight finishes with the
models it started with and none is dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.core.data.slices import SEPARATOR, slice_name
from flows.core.errors import AutopipeError, ModelNotFoundError
from flows.core.registry.model import FittedModel, load_model
from flows.core.registry.release import read_release
from flows.core.serving.record_path import PipelinePath, RecordPath, record_path

CHECK_EVERY_S = 1.0
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedRelease:
    """One consistent view: the release document and its loaded champions."""

    document: dict[str, Any]
    champions: dict[str, FittedModel] = field(repr=False)
    """Slice name ('global' for the global model) -> model."""
    paths: dict[str, RecordPath | PipelinePath] = field(repr=False)
    """Model version -> its fastest prediction path."""

    def model_for(self, slice_value: str | None) -> tuple[str, FittedModel]:
        """The slice's champion, or the global one for an unknown or absent slice."""
        if slice_value is not None and slice_value in self.champions:
            return slice_value, self.champions[slice_value]
        return "global", self.champions["global"]

    @property
    def slice_columns(self) -> list[str]:
        """The columns the release's slices are cut by (none for a global-only release)."""
        named = next((name for name in self.champions if name != "global"), None)
        return [part.split("=", 1)[0] for part in named.split(SEPARATOR)] if named else []

    def route(self, records: Sequence[Mapping[str, Any]]) -> list[Route]:
        """Records grouped by the model that answers them: their slice's champion, or the
        global model for a record of an unknown slice (named in the route's ``unknown``)."""
        columns = self.slice_columns
        groups: dict[str, Route] = {}
        for index, record in enumerate(records):
            name = slice_name(record, columns) if columns and isinstance(record, Mapping) \
                else "global"
            served_as, model = self.model_for(name)
            route = groups.setdefault(served_as, Route(served_as, model, []))
            route.indices.append(index)
            if served_as != name:
                route.unknown.add(name)
        return list(groups.values())


@dataclass
class Route:
    """The records (by index in the request) one model answers."""

    slice: str
    model: FittedModel
    indices: list[int]
    unknown: set[str] = field(default_factory=set)
    """Slices of these records that have no model of their own."""


class LiveRelease:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._stamp = self._mtime()
        self._served = _load(path, None)

    def current(self) -> ServedRelease:
        """The release to answer this request with, reloaded first if its file changed."""
        now = time.monotonic()
        if now - self._checked_at >= CHECK_EVERY_S and self._lock.acquire(blocking=False):
            try:
                self._checked_at = now
                stamp = self._mtime()
                if stamp != self._stamp:
                    self._reload(stamp)
            finally:
                self._lock.release()
        return self._served

    def _reload(self, stamp: int) -> None:
        """Swap in the new release; if it cannot be loaded, keep answering with the current
        one (a failed reload must not turn every request into an error) and retry later."""
        try:
            self._served = _load(self.path, self._served)
        except (AutopipeError, OSError, ValueError) as exc:
            logger.warning("release %s not reloaded, still serving %s: %s", self.path,
                           self._served.champions["global"].version, exc)
            return
        self._stamp = stamp

    def _mtime(self) -> int:
        return self.path.stat().st_mtime_ns if self.path.exists() else 0


def _load(path: Path, previous: ServedRelease | None) -> ServedRelease:
    """Load every champion of the release (reusing models already loaded) and its path."""
    document = read_release(path)
    cache = {m.version: m for m in previous.champions.values()} if previous else {}
    paths = dict(previous.paths) if previous else {}
    champions = {}
    for name, version in document["champions"].items():
        if version not in document["artifacts"]:
            raise ModelNotFoundError(f"the release names {version} but not its artifact",
                                     "rewrite the release: autopipe promote or rollback")
        if version not in cache:  # a slice served by the global model shares its copy
            cache[version] = load_model(Path(document["artifacts"][version]))
        champions[name] = cache[version]
    if "global" not in champions:
        raise ModelNotFoundError(f"the release {path} has no global champion",
                                 "train a model of this dataset first")
    paths = {m.version: paths.get(m.version) or record_path(m) for m in champions.values()}
    return ServedRelease(document, champions, paths)
