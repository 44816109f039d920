"""One exception tree for everything a user can get wrong.

Every error carries a message (what is wrong) and a hint (how to fix it). The CLI prints both
without a traceback, the TUI shows them in a modal and the service answers 4xx with them.
"""

from __future__ import annotations

BUG_HINT = ("this is a bug in autopipe; rerun with AUTOPIPE_DEBUG=1 to see the traceback, and "
            "report it")
"""What a person is told about a failure that is no mistake of theirs."""


class AutopipeError(Exception):
    """Base of all errors that are meant to reach a person."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class SourceError(AutopipeError):
    """The input file or database cannot be found or read."""


class SchemaError(AutopipeError):
    """The data does not have the shape a stage needs (target, columns, classes)."""


class ModelNotFoundError(AutopipeError):
    """No registered model matches what was asked for."""


class InputValidationError(AutopipeError):
    """Records sent for prediction do not match the training schema."""


class ServerError(AutopipeError):
    """A helper process (Prefect server, BentoML service) could not be started or reached."""
