"""Errors that reach users as one clear line, never as a traceback."""

from __future__ import annotations


class AllegianceError(Exception):
    """Base class for errors shown to users as a one-line message (exit code 2)."""

    exit_code = 2


class ScenarioError(AllegianceError):
    """A scenario that cannot be read or validated.

    Args:
        messages: one line per problem; ``validate`` shows them all at once.
    """

    def __init__(self, messages: list[str] | str):
        if isinstance(messages, str):
            messages = [messages]
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


class ResourceError(AllegianceError):
    """A requested size that does not fit the machine (memory estimate above available RAM)."""


class OutputExistsError(AllegianceError):
    """An output directory that exists and would be overwritten without ``--force``."""


class CheckpointError(AllegianceError):
    """A checkpoint that cannot be written or read, or a scenario that may not resume it."""
