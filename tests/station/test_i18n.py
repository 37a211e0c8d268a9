"""The catalogues: every message of the screens translated in every language, and current."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from station.config import LANGUAGES
from station.i18n import TRANSLATIONS, catalogue

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
PLACEHOLDER = r"%\(\w+\)s"


def extracted_messages() -> set[str]:
    """What `pybabel extract -F station/babel.cfg -k t` finds in the sources now."""
    with (ROOT / "station" / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "t": None}
    return {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
        if isinstance(message, str)
    }


def po(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def test_the_catalogues_hold_exactly_the_messages_in_the_sources():
    found = extracted_messages()
    assert "Where to?" in found and "Depot" in found and "Turn left at %(place)s" in found
    for lang in TRANSLATED:
        ids = {m.id for m in po(lang) if m.id}
        assert ids == found, (
            f"{lang}: run the update commands in docs/station.md "
            f"(missing {sorted(found - ids)}, obsolete {sorted(ids - found)})"
        )
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == found


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(lang):
    import re

    for message in po(lang):
        if not message.id:
            continue
        assert message.string, f"{lang}: {message.id!r} is not translated"
        assert not message.fuzzy, f"{lang}: {message.id!r} is fuzzy"
        assert sorted(re.findall(PLACEHOLDER, message.id)) == sorted(
            re.findall(PLACEHOLDER, message.string)
        ), f"{lang}: {message.id!r} placeholders differ"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_compiled_catalogues_are_current(lang):
    catalog = po(lang)
    fresh = io.BytesIO()
    write_mo(fresh, catalog)
    fresh.seek(0)
    expected = {m.id: m.string for m in read_mo(fresh) if m.id}
    assert catalogue(lang) == expected, f"{lang}: run `pybabel compile -d station/translations`"


def test_english_is_the_source_language():
    assert catalogue("en") == {}
