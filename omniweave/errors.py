"""Errors that reach users: each says what was wrong and where, in one line."""


class OmniweaveError(Exception):
    """Base class for errors the CLI reports as one line with exit code 2."""


class InputError(OmniweaveError, ValueError):
    """Bad user input: a file, a caption, a field. The message names it."""


class ContextTooLong(InputError):
    """A conversation longer than the LLM's context (``llm.max_length``)."""
