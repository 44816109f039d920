"""The DuckDB catalog (datasets, runs, models, aliases, audit) and its
monitoring and feedback tables."""
