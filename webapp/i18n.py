"""Locale choice, language names and text direction.

Order: the signed-in person's profile, then the `lang` cookie, then the
browser's Accept-Language, then English.

Krio and Sranan Tongo have no CLDR data. Their codes are Babel locales with a
modifier, `en_SL@kri` and `nl_SR@srn`: dates and numbers are written as in
Sierra Leonean English and Surinamese Dutch (the locale before the `@`), and
the words come from the language's own catalog (`i18n/en_SL@kri/`). Their
BCP 47 tag is the modifier: `kri`, `srn`.
"""
from __future__ import annotations

from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_login import current_user

LANG_COOKIE = "lang"
ACTIVATION_LOCALE = "activation_locale"


def supported() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def select_locale() -> str:
    langs = supported()
    if not has_request_context():  # CLI, worker: callers use force_locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    # During activation the profile is the one of the person activating.
    pending = session.get(ACTIVATION_LOCALE)
    if pending in langs:
        return pending
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in langs:
        return cookie
    # Accept-Language uses tags like fa-AF, sr-Latn or kri; a bare language
    # ("sr", "fa") stands for its first code, never for a creole ("nl" is not
    # Sranan Tongo).
    tags = {locale_tag(code): code for code in langs}
    for code in langs:
        if "@" not in code:
            tags.setdefault(code.split("_")[0], code)
    best = request.accept_languages.best_match(list(tags))
    return tags[best] if best is not None else current_app.config["BABEL_DEFAULT_LOCALE"]


# Where CLDR's own name is not what speakers call their language.
NATIVE_NAMES = {"fa_AF": "دری", "sr_Latn": "Srpski (latinica)", "sr_Cyrl": "Српски (ћирилица)",
                "en_SL@kri": "Krio", "nl_SR@srn": "Sranantongo"}


def language_choices(only: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(code, name in its own language, BCP 47 tag) for the switcher: no flags.
    `only`: these codes (an organisation's languages), in the same order."""
    out = []
    for code in supported():
        if only is not None and code not in only:
            continue
        loc = Locale.parse(code)
        name = NATIVE_NAMES.get(code) or loc.get_display_name(loc) or code
        out.append((code, name[:1].upper() + name[1:], locale_tag(code)))
    return out


def organisation_languages(org) -> list[str]:
    """The languages an organisation works in (its settings), offered for its
    people's accounts and its groups; every language when none are set. The
    switcher always offers every language: reading is each person's choice."""
    chosen = set(org.languages or ())
    return [code for code in supported() if code in chosen] or supported()


def organisation_choices(org, keep: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of the organisation's languages for a form's list, with
    `keep` (the value a record has already) should the organisation have
    stopped offering it."""
    offered = organisation_languages(org) + ([keep] if keep else [])
    return [(code, name) for code, name, _tag in language_choices(offered)]


def locale_tag(code: str) -> str:
    """The BCP 47 tag of a locale code: fa_AF → fa-AF, en_SL@kri → kri."""
    return code.partition("@")[2] or code.replace("_", "-")


def text_direction(code: str) -> str:
    return Locale.parse(code).text_direction


def select_timezone() -> str | None:
    """Times are shown in the organisation's timezone."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.organisation.timezone
    return None
