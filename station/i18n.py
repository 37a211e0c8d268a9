"""Languages of the station screens: Flask-Babel catalogues, shared with the page's script.

The templates translate with Flask-Babel; the script gets the same compiled catalogue as
JSON (`/i18n/<lang>.json`) so a language switch needs no reload. Place names of the city
are messages too (see `extract_city_names`, used by `babel.cfg`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import read_mo

from station.config import LANGUAGES

TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGE_NAMES = {"en": "English", "th": "ไทย", "ja": "日本語", "es": "Español"}


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str) -> dict[str, str]:
    """msgid → translation for one language (English, the source language, is empty)."""
    if language not in LANGUAGES:
        raise KeyError(language)
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    if language == "en" or not path.is_file():
        return {}
    with path.open("rb") as handle:
        catalog = read_mo(handle)
    return {m.id: m.string for m in catalog if m.id and m.string and isinstance(m.id, str)}


def best_language(requested: str | None, accept: Any, default: str) -> str:
    """The language to show: an explicit choice, else the browser's best, else `default`."""
    if requested in LANGUAGES:
        return requested
    match = accept.best_match(LANGUAGES) if accept is not None else None
    return match or default


def extract_city_names(
    fileobj: Any, keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for city files: every node's `name` is a message to translate."""
    document = json.load(fileobj)
    for node in document.get("nodes", []):
        if node.get("name"):
            yield 0, "gettext", node["name"], [f"place name of node {node['id']}"]
