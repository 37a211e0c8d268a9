"""Reading city files, and the default city shipped with the package."""

from __future__ import annotations

import json
import os
from functools import cache
from importlib.resources import files
from pathlib import Path

from city.citymap import City
from city.errors import CityValidationError


def load_city(path: str | os.PathLike[str], *, require_strongly_connected: bool = True) -> City:
    """The city in the JSON file at `path`; `CityValidationError` (one line, naming the path)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CityValidationError(f"{os.fspath(path)}: no such city file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CityValidationError(f"{os.fspath(path)}: cannot read city file: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CityValidationError(
            f"{os.fspath(path)}: invalid JSON at line {error.lineno} column {error.colno}: "
            f"{error.msg}"
        ) from None
    try:
        return City.from_dict(data, require_strongly_connected=require_strongly_connected)
    except CityValidationError as error:
        raise CityValidationError(f"{os.fspath(path)}: {error}") from None


def default_city_path() -> Path:
    """Where the default city file is installed."""
    return Path(str(files("city").joinpath("data", "default_city.json")))


@cache
def default_city() -> City:
    """The default city (a small town with one distinct sign per node); loaded once."""
    return load_city(default_city_path())
