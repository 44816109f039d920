"""Policies: the rules a governed model is held to, how they shape training,
and the checks its metrics must pass."""
