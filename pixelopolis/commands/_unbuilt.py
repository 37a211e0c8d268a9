"""Subcommands whose workflow is planned but not built yet."""

from __future__ import annotations

import argparse

from pixelopolis.errors import NotBuiltError


def not_built(what: str, issue: int) -> object:
    """A handler that reports a workflow as not built yet (exit code 2)."""

    def handler(args: argparse.Namespace) -> int:
        raise NotBuiltError(f"{what} is not built yet (planned in issue #{issue})")

    return handler
