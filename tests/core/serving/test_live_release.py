"""A service's release follows its file: a new champion is swapped in, a broken release is
not (the current models keep answering)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from flows.core.serving.live_release import CHECK_EVERY_S, LiveRelease
from tests.core.registry.test_model import small_model


def write(path: Path, version: str, artifact: Path) -> None:
    path.write_text(json.dumps({"family": "people", "champions": {"global": version},
                                "challengers": {}, "artifacts": {version: str(artifact)}}))
    stamp = time.time_ns() + 1_000_000_000  # a new mtime even within the file system's tick
    os.utime(path, ns=(stamp, stamp))


def test_a_new_champion_is_swapped_in_and_a_broken_release_is_not(tmp_path: Path) -> None:
    first = small_model()
    first.save(tmp_path / "v1")
    release = tmp_path / "release.json"
    write(release, "v1", tmp_path / "v1")
    live = LiveRelease(release)
    assert live.current().model_for("anything") == ("global", live.current().champions["global"])
    assert live.current().champions["global"].version == "v1"

    write(release, "v2", tmp_path / "missing")  # names an artifact that is not there
    time.sleep(CHECK_EVERY_S)
    assert live.current().champions["global"].version == "v1"  # still answering

    dataclasses.replace(first, version="v2").save(tmp_path / "v2")
    write(release, "v2", tmp_path / "v2")
    time.sleep(CHECK_EVERY_S)
    assert live.current().champions["global"].version == "v2"
