"""After serving: drift and input quality, true labels and live performance,
the review queue, where errors concentrate, retraining from feedback."""
