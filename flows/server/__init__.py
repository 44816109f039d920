"""The orchestration around the flows: the local Prefect server, its workers,
reaping dead runs, remote runs, slices on deployments, ``bentoml serve``."""
