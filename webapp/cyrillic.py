"""Serbian in Cyrillic, made from the Serbian Latin catalog.

Serbian Latin and Cyrillic map letter for letter (lj, nj and dž are one letter
each), so translators keep one catalog (`sr_Latn`) and `flask translate update`
writes `sr_Cyrl` from it; `translate check` fails when the two differ.
Placeholders, markup, "Footing", time zone names and codes in capitals
(QR, PIN, EUR) stay as they are.
"""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

# Target locale: source locale (catalogs written from another one).
DERIVED = {"sr_Cyrl": "sr_Latn"}

# (Words in capitals stay in Latin letters, see _KEEP: no "LJ" or "NJ" here.)
_DIGRAPHS = (("Dž", "Џ"), ("dž", "џ"), ("Lj", "Љ"), ("lj", "љ"), ("Nj", "Њ"), ("nj", "њ"))
_LETTERS = str.maketrans(
    "ABCČĆDĐEFGHIJKLMNOPRSŠTUVZŽabcčćdđefghijklmnoprsštuvzž",
    "АБЦЧЋДЂЕФГХИЈКЛМНОПРСШТУВЗЖабцчћдђефгхијклмнопрсштувзж")
# Kept in Latin letters: placeholders, markup, addresses, names typed as they
# are (time zones such as Africa/Freetown), the product's name, codes and
# abbreviations in capitals (QR, PIN, EUR), and words with q, w, x or y.
_KEEP = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]*>|&\w+;|\{[^}]*\}|https?://\S+|\w+(?:/\w+)+"
                   r"|\b(?:Footing|[A-Z]{2,}|\w*[qwxyQWXY]\w*)\b")


def _letters(text: str) -> str:
    for latin, cyrillic in _DIGRAPHS:
        text = text.replace(latin, cyrillic)
    return text.translate(_LETTERS)


def to_cyrillic(text: str) -> str:
    out, pos = [], 0
    for kept in _KEEP.finditer(text):
        out += [_letters(text[pos:kept.start()]), kept.group()]
        pos = kept.end()
    return "".join(out) + _letters(text[pos:])


def derived_catalog(source: Path, locale: str) -> Catalog:
    """The catalog of `locale` made from `source` (every entry, transliterated)."""
    with source.open("rb") as fh:
        src = read_po(fh)
    source_locale = source.parent.parent.name
    catalog = Catalog(locale=locale, project=src.project, version=src.version,
                      language_team=f"written from {source_locale} by webapp/cyrillic.py",
                      creation_date=src.creation_date, revision_date=src.revision_date,
                      fuzzy=False)
    for message in src:
        if not message.id:
            continue
        if isinstance(message.string, (tuple, list)):  # plural forms
            string: str | tuple[str, ...] = tuple(to_cyrillic(s) for s in message.string)
        else:
            string = to_cyrillic(message.string or "")
        catalog.add(message.id, string, locations=message.locations,
                    flags=message.flags, auto_comments=message.auto_comments,
                    context=message.context)
    return catalog


def write_derived(i18n: Path) -> list[Path]:
    written = []
    for locale, source in DERIVED.items():
        target = i18n / locale / "LC_MESSAGES" / "messages.po"
        target.parent.mkdir(parents=True, exist_ok=True)
        catalog = derived_catalog(i18n / source / "LC_MESSAGES" / "messages.po", locale)
        with target.open("wb") as fh:
            write_po(fh, catalog, width=76, omit_header=False)
        written.append(target)
    return written
