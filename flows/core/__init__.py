"""The pure core of autopipe: stage functions over Polars, DuckDB, scikit-learn and FLAML.

Nothing here imports Prefect, Textual or BentoML (an import-linter contract and a subprocess
test enforce it), so every stage can be tested and reused without the orchestration layer.
"""
