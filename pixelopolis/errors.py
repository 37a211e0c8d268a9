"""Errors the command line reports as one readable line with exit code 2."""


class UsageError(Exception):
    """Bad input from the user: bad flag values, missing files, a busy data folder."""


class NotBuiltError(UsageError):
    """A subcommand whose workflow does not exist yet."""
