"""The `--city FILE` flag every command shares: checked up front, one-line errors."""

from __future__ import annotations

from pathlib import Path

from pixelopolis.errors import UsageError


def check_city_file(path: str | None) -> Path | None:
    """`path` as a Path if it holds a valid city (None stays None); else UsageError."""
    if path is None:
        return None
    from city import CityError, load_city

    try:
        load_city(path)
    except CityError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"--city: cannot read {path}: {exc.strerror or exc}") from exc
    return Path(path)
