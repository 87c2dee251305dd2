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

import re
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import Locale, dates, localedata, numbers
from flask import current_app, g, has_app_context, has_request_context, request, session
from flask_babel import Domain, _get_current_context as _babel_context, get_locale, to_user_timezone
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy.orm.exc import DetachedInstanceError

from .extensions import babel

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


# --- Local formats (issue #23) ------------------------------------------------
# Dates, times, numbers and money are written as the person's language writes
# them in the organisation's country (English in Sierra Leone: en_SL, 6/12/2026;
# Dutch in Suriname: nl_SR), with the digits CLDR names as that locale's
# default: Dari and Pashto write Persian digits (۱۲۳), never a mix. Babel
# writes the default system's separators but always Latin digits: `digits`
# puts the locale's own in.

NATIVE_DIGITS = {"arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹", "beng": "০১২৩৪৫৬৭৮৯",
                 "deva": "०१२३४५६७८९", "mymr": "၀၁၂၃၄၅၆၇၈၉"}


@lru_cache(maxsize=256)
def format_locale_for(code: str, country: str | None) -> Locale:
    """The locale dates and numbers are written in: the language's own
    country if its code has one (fa_AF, en_SL@kri), else the organisation's
    country when CLDR knows the language there, else the language alone."""
    loc = Locale.parse(code.partition("@")[0])
    if country and not loc.territory:
        candidate = "_".join(filter(None, (loc.language, loc.script, country.upper())))
        if localedata.exists(candidate):
            return Locale.parse(candidate)
    return loc


def format_locale() -> Locale:
    code = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    country = None
    # The user already loaded for this request, if any: never a query of its
    # own (an error page renders with the database down).
    user = g.get("_login_user") if has_request_context() else None
    if user is not None and user.is_authenticated:
        try:
            country = user.organisation.country
        except DetachedInstanceError:
            # A message made into text after the request's database session
            # closed (a flash, written into the cookie last): the language's
            # own way, without the organisation's country.
            country = None
    return format_locale_for(code, country)


@lru_cache(maxsize=64)
def _digit_table(loc: Locale) -> dict[int, int] | None:
    native = NATIVE_DIGITS.get(loc.default_numbering_system)
    return str.maketrans("0123456789", native) if native else None


def digits(value: object, loc: Locale | None = None) -> str:
    """`value` as text with the locale's own digits (a Jinja filter too, for
    counts put in a page as they are)."""
    table = _digit_table(loc or format_locale())
    text = str(value)
    return text.translate(table) if table else text


def _datetime_format(loc: Locale, date_format: str, time_format: str) -> str:
    pattern = str(loc.datetime_formats.get(date_format, loc.datetime_formats["medium"]))
    pattern = re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", pattern)  # CLDR quoting
    return pattern.replace("{1}", "{date}").replace("{0}", "{time}")


def format_date(value: date | datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    loc = format_locale()
    return digits(dates.format_date(value, fmt, locale=loc), loc)


def format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    loc = format_locale()
    return digits(dates.format_datetime(to_user_timezone(value), fmt, locale=loc), loc)


def format_when(value: datetime | None, date_fmt: str = "full") -> str:
    """A meeting's day and time as a returnee reads it: the day written out,
    the time without seconds and without the time zone's name."""
    if value is None:
        return ""
    loc = format_locale()
    local = to_user_timezone(value)
    day = dates.format_date(local.date(), date_fmt, locale=loc)
    hour = dates.format_time(local.time(), "short", locale=loc)
    text = _datetime_format(loc, date_fmt, "short").replace("{date}", day).replace("{time}", hour)
    return digits(text, loc)


def format_time(value: datetime | time | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    loc = format_locale()
    if isinstance(value, datetime):
        value = to_user_timezone(value).time()
    return digits(dates.format_time(value, fmt, locale=loc), loc)


def format_decimal(value, fmt: str | None = None) -> str:
    loc = format_locale()
    return digits(numbers.format_decimal(value, fmt, locale=loc, numbering_system="default"), loc)


def format_number(value) -> str:
    return format_decimal(value)


def format_percent(value, fmt: str | None = None) -> str:
    loc = format_locale()
    return digits(numbers.format_percent(value, fmt, locale=loc, numbering_system="default"), loc)


def format_currency(value, currency: str) -> str:
    loc = format_locale()
    return digits(numbers.format_currency(value or 0, currency, locale=loc,
                                          numbering_system="default"), loc)


def install_formats(app) -> None:
    """Replace Flask-Babel's format filters with the ones above."""
    app.jinja_env.filters.update(
        dateformat=format_date, datetimeformat=format_datetime, timeformat=format_time,
        whenformat=format_when, numberformat=format_number, decimalformat=format_decimal,
        currencyformat=format_currency, percentformat=format_percent, digits=digits,
        bdi=bdi)
    install_gettext(app)


# Numbers inside sentences: `_('Page %(page)d of %(pages)d', ...)` writes its
# numbers as the page's locale writes numbers (separators, and Dari's and
# Pashto's Persian digits), and any number the translation holds itself
# ("6 digits") in the page's digits too. One mechanism for every message:
# the templates' gettext below, and Flask-Babel's domain (`LocalDomain`), so
# that a message built in Python (`_l("Please use at most %(max)d
# characters.", max=…)`, a flash, a form's error) is written the same way.
_INT_PLACEHOLDER = re.compile(r"%\((\w+)\)d")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def localize(text: str, variables: dict) -> tuple[str, dict]:
    """The translated `text` and its `variables`, numbers written the
    locale's way (whole numbers as they are, in the page's digits, as the
    templates always wrote them; fractions with the locale's separator);
    interpolate them with `%`. Text given (a reference, a name) stays as it is."""
    numbers_given = any(_is_number(v) for v in variables.values())
    if not numbers_given and not _HAS_DIGIT.search(text):
        return text, variables  # most messages: nothing to do, no locale looked up
    loc = format_locale()
    if numbers_given:
        text = _INT_PLACEHOLDER.sub(r"%(\1)s", text)
        variables = {k: (_number(v, loc) if _is_number(v) else v) for k, v in variables.items()}
    table = _digit_table(loc)
    if table:  # the numbers the translation writes itself
        text = _INT_PLACEHOLDER.sub(r"%(\1)s", text).translate(table)
    return text, variables


_HAS_DIGIT = re.compile("[0-9]")


def _number(value: int | float | Decimal, loc: Locale) -> str:
    if isinstance(value, int):
        return digits(value, loc)
    return digits(numbers.format_decimal(value, locale=loc, numbering_system="default"), loc)


class LocalDomain(Domain):
    """Flask-Babel's message domain, with the numbers of a message written as
    the page's locale writes them (see `localize`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._by_locale: dict[Locale, object] = {}

    def get_translations(self):
        """Flask-Babel's, found by the locale in force (the request's, or
        one `force_locale` set) in a dict: a page calls this for each of its
        hundreds of messages, and Flask-Babel's lookup (two context lookups
        and the locale's name made anew) was a tenth of a long page's time."""
        context = _babel_context()
        locale = getattr(context, "babel_locale", None) if context is not None else None
        if locale is None:
            return super().get_translations()
        found = self._by_locale.get(locale)
        if found is None:
            found = self._by_locale[locale] = super().get_translations()
        return found

    def _fill(self, text: str, variables: dict) -> str:
        if not has_app_context():  # no locale to speak of: as Flask-Babel does
            return text % variables if variables else text
        text, variables = localize(text, variables)
        return text % variables if variables else text

    def gettext(self, string, **variables):
        return self._fill(self.get_translations().ugettext(string), variables)

    def ngettext(self, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return self._fill(self.get_translations().ungettext(singular, plural, num), variables)

    def pgettext(self, context, string, **variables):
        return self._fill(self.get_translations().upgettext(context, string), variables)

    def npgettext(self, context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return self._fill(self.get_translations().unpgettext(context, singular, plural, num),
                          variables)


def _fill(context, text: str, variables: dict) -> str:
    text, variables = localize(text, variables)
    rv = Markup(text) if context.eval_ctx.autoescape else text
    return rv % variables if variables else rv


def install_gettext(app) -> None:
    # Every message made with Flask-Babel's gettext, ngettext, lazy_gettext…
    # goes through the Babel instance's domain.
    domain = babel.domain_instance = LocalDomain()
    translations = domain.get_translations

    @pass_context
    def gettext(context, string: str, **variables):
        return _fill(context, translations().ugettext(string), variables)

    @pass_context
    def ngettext(context, singular: str, plural: str, num: int, **variables):
        variables.setdefault("num", num)
        return _fill(context, translations().ungettext(singular, plural, num), variables)

    @pass_context
    def pgettext(context, ctx: str, string: str, **variables):
        return _fill(context, translations().upgettext(ctx, string), variables)

    app.jinja_env.globals.update(gettext=gettext, _=gettext, ngettext=ngettext,
                                 pgettext=pgettext)


def bdi(value: object) -> Markup:
    """Text a person or an organisation wrote, isolated from the page's
    direction (issue #23): a Latin name in a Pashto sentence keeps its place,
    an Arabic note's full stop stays at its end in an English page."""
    return Markup("<bdi>{}</bdi>").format(value)


# --- Review status (issue #23) --------------------------------------------------
# i18n/REVIEW.md is the source: its table lists the catalogs still waiting
# for a native speaker; every other language has been checked by one. When a
# reviewer has read a catalog, its row goes.
REVIEW_FILE = Path(__file__).parent / "i18n" / "REVIEW.md"


@lru_cache(maxsize=1)
def awaiting_review() -> frozenset[str]:
    try:
        text = REVIEW_FILE.read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    return frozenset(re.findall(r"^\|\s*`([^`]+)`\s*\|", text, re.M))


def native_checked(code: str) -> bool:
    """Has a native speaker checked this language's words? (English is the
    source language.)"""
    return code not in awaiting_review()


def contact_link(contact: str) -> str:
    """The href of an organisation's contact: a link as it is, an e-mail
    address as mailto:, a phone number as tel:."""
    if contact.startswith("https://"):
        return contact
    if "@" in contact:
        return f"mailto:{contact}"
    return "tel:" + re.sub(r"[^0-9+]", "", contact)
