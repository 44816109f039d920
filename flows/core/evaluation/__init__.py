"""How good a model is and why it predicts what it does: metrics on the
held-out part, intervals, importances, per-record explanations."""
