"""The ``autopipe`` command: the Typer app split by command group, the consoles
and the live progress display."""
