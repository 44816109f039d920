"""Registered models: the artifact and its card, lineage, the promotion gate,
champion changes, the release a service serves, batch prediction."""
