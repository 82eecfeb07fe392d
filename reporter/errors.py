"""The errors a command reports as one line for the user (no traceback)."""


class BuildError(Exception):
    """The build stopped; the message is one line for the user."""
