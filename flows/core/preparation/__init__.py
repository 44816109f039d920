"""From a snapshot to what a learner reads: the task and the held-out split,
the per-column preprocessing, text embeddings, class weights."""
