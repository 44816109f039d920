"""Typed records for what crosses a ring or a process as JSON: a run's outcome and summary,
and how its model was trained and chosen. Each is a pydantic model, so its JSON has one
documented shape that the CLI prints (``--json``), the TUI and a remote follower read back,
and the model card stores."""
