"""The live terminal display of a run: one line per stage, and the search's best score.

It listens to the core's progress events (a logging handler), so the stages know nothing of it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from flows.core.progress import SEARCH_STAGES, ProgressEvent, ProgressListener


class RunProgress(ProgressListener):
    """Context manager: shows progress on stderr while the run is inside it."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.description:<9}"), BarColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console,
            transient=False)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Self:
        self.progress.start()
        return super().__enter__()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        super().__exit__(exc_type, exc, tb)
        for task_id in self.tasks.values():
            if not self.progress.tasks[task_id].finished:
                self.progress.update(task_id, status="[red]stopped")
                self.progress.stop_task(task_id)
        self.progress.stop()

    def show(self, event: ProgressEvent) -> None:
        task_id = self.tasks.get(event.stage)
        if task_id is None:
            total = event.budget_s if event.stage in SEARCH_STAGES else 1.0
            task_id = self.progress.add_task(event.stage, total=total, status="…")
            self.tasks[event.stage] = task_id
        if event.status == "running" and event.best_score is not None:
            self.progress.update(
                task_id, total=event.budget_s, completed=event.elapsed_s,
                status=f"best {event.best_learner} {event.metric} {event.best_score:.4f}")
        elif event.status == "finished":
            total = self.progress.tasks[task_id].total or 1.0
            current = self.progress.tasks[task_id].fields.get("status", "")
            done = current if current.startswith("best") else "done"
            self.progress.update(task_id, completed=total, status=f"[green]{done}")
            self.progress.stop_task(task_id)
