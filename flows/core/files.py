"""Files written whole or not at all.

A browser opening a report, a service watching its release file, another process polling a
live run or a worker reading a job never sees half a file: each is written under a temporary
name in the same directory and renamed. The temporary name carries the writer's pid (two
writers never share one) and the ``.partial-`` mark that clean-ups look for.
"""

from __future__ import annotations

import os
from pathlib import Path

PARTIAL_MARK = ".partial-"


def partial_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    return path.with_name(f".{path.name}{PARTIAL_MARK}{os.getpid()}")


def write_atomically(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    if isinstance(data, bytes):
        partial.write_bytes(data)
    else:
        partial.write_text(data, encoding="utf-8")
    os.replace(partial, path)
    return path
