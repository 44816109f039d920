"""The ``train-slice`` flow: one slice of a train run, on whichever worker takes it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from prefect import flow

from flows.core.config import Settings
from flows.slice_jobs import claim, outcome_path, read_pickle, write_pickle
from flows.slicing import train_slice


@flow(name="train-slice")
def train_slice_flow(job: str) -> str:
    """Train the slice described by ``job`` (a file the parent run wrote in the shared home)
    with this worker's cores, and write its outcome beside it; return the outcome's path."""
    job_file = Path(job)
    claim(job_file)
    parameters = read_pickle(job_file)
    parameters["prepared"] = read_pickle(parameters["prepared"])
    n_jobs = Settings().search.n_jobs
    parameters["options"] = replace(parameters["options"],
                                    n_jobs=n_jobs if n_jobs > 0 else os.cpu_count() or 1)
    outcome = train_slice.fn(**parameters)
    return str(write_pickle(outcome_path(job_file), outcome))
