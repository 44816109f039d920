"""The ``train-slice`` flow: slices of a train run, on whichever worker takes them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows.core.config import Settings
from flows.server.slice_dispatch import train_slice
from flows.server.slice_jobs import (
    check_same_code,
    claimed_jobs,
    error_path,
    outcome_path,
    read_pickle,
    write_pickle,
)


@flow(name="train-slice")
def train_slice_flow(work_dir: str) -> list[str]:
    """Take the run's unclaimed slice jobs one at a time (files the parent wrote in the
    shared home), train each with this worker's cores and write its outcome beside it;
    return the slices trained. A slice that fails leaves its error for the parent."""
    logger = get_run_logger()
    check_same_code(Path(work_dir))
    n_jobs = Settings().search.n_jobs
    prepared: dict[str, Any] = {}
    trained = []
    for job in claimed_jobs(Path(work_dir), str(flow_run.get_id())):
        parameters = read_pickle(job)
        if str(parameters["prepared"]) not in prepared:
            prepared[str(parameters["prepared"])] = read_pickle(parameters["prepared"])
        parameters["prepared"] = prepared[str(parameters["prepared"])]
        parameters["options"] = replace(parameters["options"],
                                        n_jobs=n_jobs if n_jobs > 0 else os.cpu_count() or 1)
        logger.info("training slice %s", parameters["spec"].name)
        try:
            outcome = train_slice.fn(**parameters)
        except Exception as exc:
            error_path(job).write_text(f"{type(exc).__name__}: {exc}")
            raise
        write_pickle(outcome_path(job), outcome)
        trained.append(parameters["spec"].name)
    return trained
