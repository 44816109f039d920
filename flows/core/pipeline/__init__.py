"""Fitting a model from prepared data within a budget: the clock and cost predictions, the
portfolio run, the tuner's turn, integration and evaluation. Callable without Prefect: the
flows only wrap it."""
