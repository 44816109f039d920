"""The blocks a model is built from: the prepared data, folds, learners, the portfolio of
configurations, bagging, FLAML's tuner, ensembles, baselines, evaluation and latency."""
