"""Where a command finds the fleet key: a flag, a file (compose secrets) or the environment.

A key on the command line is visible to every user of the machine (`ps`), so deployments
pass it as a file (`--fleet-key-file`, `PIXELOPOLIS_FLEET_KEY_FILE`, e.g. a compose secret
in /run/secrets) or in `PIXELOPOLIS_FLEET_KEY`. The key itself is never printed or logged.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pixelopolis.errors import UsageError

KEY_ENV = "PIXELOPOLIS_FLEET_KEY"
KEY_FILE_ENV = "PIXELOPOLIS_FLEET_KEY_FILE"


def add_fleet_key_arguments(parser: argparse.ArgumentParser, *, purpose: str) -> None:
    parser.add_argument(
        "--fleet-key",
        help=f"fleet key {purpose} (default: ${KEY_ENV}; prefer --fleet-key-file)",
    )
    parser.add_argument(
        "--fleet-key-file",
        help=f"file holding the fleet key, e.g. a compose secret (default: ${KEY_FILE_ENV})",
    )


def fleet_key_from(args: argparse.Namespace) -> str | None:
    """The key from `--fleet-key`, `--fleet-key-file`, then the environment; None if none."""
    if args.fleet_key:
        return args.fleet_key
    if args.fleet_key_file:
        return _read_key_file(args.fleet_key_file, "--fleet-key-file")
    if os.environ.get(KEY_ENV):
        return os.environ[KEY_ENV]
    if os.environ.get(KEY_FILE_ENV):
        return _read_key_file(os.environ[KEY_FILE_ENV], KEY_FILE_ENV)
    return None


def require_fleet_key(args: argparse.Namespace) -> str:
    key = fleet_key_from(args)
    if key is None:
        raise UsageError(
            f"fleet key: give --fleet-key-file, --fleet-key, ${KEY_FILE_ENV} or ${KEY_ENV}"
        )
    return key


def _read_key_file(path: str, setting: str) -> str:
    try:
        key = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise UsageError(f"{setting}: cannot read {path} ({reason})") from exc
    if not key:
        raise UsageError(f"{setting}: {path} is empty")
    return key
