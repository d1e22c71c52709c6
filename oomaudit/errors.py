"""Errors that end a run with exit code 2 and one clear line (never a traceback)."""


class UsageError(Exception):
    """Bad command line, bad config file, missing target: the message names what and where."""
