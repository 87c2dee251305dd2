"""Shared form pieces: every message is translated, every field has a length cap.

WTForms' own messages ("Not a valid choice.") come from its catalogs, which do
not cover all our languages; the fields here say it in our words instead.
"""
from __future__ import annotations

import copy
import re
import unicodedata
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from babel import support
from flask import flash, request
from flask_babel import get_locale, lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from markupsafe import Markup, escape
from wtforms import (
    DateField,
    Field,
    FieldList,
    FormField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields.core import Flags, Label, UnboundField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, Length, ValidationError

from .errors import DomainError, Message


@cache
def _wtforms_catalog(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _catalog() -> support.NullTranslations:
    locale = get_locale()  # None outside a request
    return _wtforms_catalog(str(locale)) if locale else support.NullTranslations()


class _CachedTranslations:
    """WTForms' own catalogs, read once per language. (Flask-WTF reads them
    from disk again on every request that builds a form.)"""

    def gettext(self, string: str) -> str:
        return _catalog().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalog().ungettext(singular, plural, n)


class _Token:
    """The form's CSRF token, signed only when the page is drawn: a form post
    that is valid and redirects never shows it, and signing is a good part of
    building a form (issue #24: the check-in post)."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = self._make()
        return self._value

    def __html__(self) -> Markup:
        return escape(str(self))


class _LazyCSRF(_FlaskFormCSRF):
    def generate_csrf_token(self, csrf_token_field):
        # The field holds its token: the token holds the field weakly (no cycle).
        field = weakref.ref(csrf_token_field)
        return _Token(lambda: super(_LazyCSRF, self).generate_csrf_token(field()))


# NUL and the other control characters (all but tab and line breaks) are
# never part of what a person types: a tampered or broken client sends them.
# PostgreSQL refuses NUL in text outright, and the offline queue retried such
# a report for ever on the 500 that followed.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(value):
    """A WTForms filter on every field of every form (see Form.Meta)."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value


# --- Fields bound by copy (issue #24) ---------------------------------------------
# Binding a field runs WTForms' whole field constructor (label, flags, the
# validators checked, choices) for each field of each form: a third of what
# the check-in form costs. So a form class's field is bound by WTForms once
# per process, and each later form gets a copy of that binding, as Django
# copies a form class's fields for each form. What a form may change in place
# (the label, the flags, choices, lists and dicts) is each form's own; the
# data is read after, by each form (tests/test_form_fields.py).

def _bound_copy(form, unbound_field: UnboundField, options: dict[str, Any]) -> Field | None:
    """A copy of the field's first binding with these options, or None."""
    templates = _BOUND.get(unbound_field)
    template = templates.get((options["name"], options["prefix"])) if templates else None
    return template.copy(form, options["translations"]) if template else None


def _bind(unbound_field: UnboundField, form, options: dict[str, Any]) -> Field:
    """WTForms' own binding, with the control-character filter added; kept
    to be copied when the field's binding depends on its declaration only."""
    filters = (*unbound_field.kwargs.get("filters", ()), plain_text)
    field = unbound_field.bind(form=form, filters=filters, **options)
    if _reusable(unbound_field):
        _BOUND.setdefault(unbound_field, {})[(options["name"], options["prefix"])] = \
            _Template(field)
    return field


def _reusable(unbound_field: UnboundField) -> bool:
    """Not the CSRF token (bound anew for each form, with the form's
    session), not a field holding other fields, not a label left to WTForms
    (it translates the field's name when binding, in the language of that
    request), not a datalist (bound with the field's id)."""
    cls, args, kwargs = unbound_field.field_class, unbound_field.args, unbound_field.kwargs
    label = args[0] if args else kwargs.get("label")
    return (label is not None and kwargs.get("datalist") is None
            and not issubclass(cls, (CSRFTokenField, FormField, FieldList)))


class _Template:
    """A bound field's state before it reads any data."""

    __slots__ = ("cls", "state", "own")
    PER_FORM = ("_form", "meta", "_translations")

    def __init__(self, field: Field) -> None:
        self.cls = type(field)
        state = {k: v for k, v in vars(field).items() if k not in self.PER_FORM}
        # Each form gets its own of what can be changed in place, and so does
        # the template (the field it was taken from is a form's too).
        self.own = tuple((k, own) for k, v in state.items() if (own := _owner(v)))
        for key, own in self.own:
            state[key] = own(state[key])
        self.state = state

    def copy(self, form, translations) -> Field:
        field = object.__new__(self.cls)
        state = field.__dict__
        state.update(self.state)
        for key, own in self.own:
            state[key] = own(state[key])
        state.update(_form=form, meta=form.meta, _translations=translations)
        return field


def _owner(value: object) -> Callable[[Any], Any] | None:
    """How a form gets its own of `value`; None for what it may share."""
    own = _OWN.get(type(value))
    if own is None and isinstance(value, (list, dict, set, Flags, Label)):
        return copy.copy  # a subclass of one of them
    return own


def _own_flags(flags: Flags) -> Flags:
    copied = Flags()
    vars(copied).update(vars(flags))
    return copied


# A list's, dict's or set's items are shared, as WTForms shares them.
_OWN: dict[type, Callable[[Any], Any]] = {
    list: list.copy, dict: dict.copy, set: set.copy, Flags: _own_flags,
    Label: lambda label: Label(label.field_id, label.text)}

# Per field of a form class (weakly: a class made at run time goes with its
# fields), per name and prefix: the template of its first binding.
_BOUND: weakref.WeakKeyDictionary[UnboundField, dict[tuple[str, str], _Template]] = \
    weakref.WeakKeyDictionary()


class Form(FlaskForm):
    """The base of every form: Flask-WTF's CSRF, with cached translations;
    control characters stripped from every field; a field sent twice refused."""

    class Meta(FlaskForm.Meta):
        csrf_class = _LazyCSRF

        def get_translations(self, form):
            return _CachedTranslations()

        def bind_field(self, form, unbound_field, options):
            field = _bound_copy(form, unbound_field, options)
            return field if field is not None else _bind(unbound_field, form, options)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A form holds its fields; its fields hold it weakly (WTForms has
        # them hold it strongly). So a form, with the hundred-odd lists and
        # dicts it holds, is freed as soon as its route is done with it
        # instead of waiting as a cycle for the garbage collector (issue #24).
        # (The fields of a FormField or FieldList still hold theirs strongly.)
        form = weakref.proxy(self)
        for field in self._fields.values():
            field._form = form

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Names sent more than once (usually none: then no field is looked at).
        twice = [name for name, values in request.form.lists() if len(values) > 1] \
            if request else []
        if twice and any(field.name in twice for field in self
                         if not isinstance(field, SelectMultipleField)):
            # A page never sends one box twice; a tampered request does, and
            # which of the two counts would be a guess.
            self.form_errors.append(
                _l("This form is damaged. Please reload the page and try again."))
            valid = False
        return valid

    def field_named(self, name: str | None):
        """The field a service's DomainError names (its `field`), or None."""
        return self._fields.get(name) if name else None


class ConfirmForm(Form):
    """A button that changes state: only the CSRF token."""


def form_error(form: Form, err: DomainError) -> None:
    """A service's DomainError shown where the person sees it: on its field, or
    above the form when it names none, or a hidden one (such as client_uuid)."""
    field = form.field_named(err.field)
    if field is not None and field.type != "HiddenField":
        field.errors = list(field.errors) + [err.message]
    else:
        form.form_errors.append(err.message)


T = TypeVar("T")


@dataclass(frozen=True)
class FormRun(Generic[T]):
    """What came of running a form (see `run_form`)."""

    done: bool
    result: T  # what the action returned; read it only when `done`
    # The status to show the page again with when not done: 200 before the
    # form is sent, 400 when it is not valid, the refusal's own (400, 401,
    # 403, 404, 409) when the service refused. Always 4xx once sent, so the
    # edge rolls back whatever the service wrote before it refused.
    status: int = 200
    error: DomainError | None = None

    @property
    def invalid(self) -> bool:
        """Sent, but the form's own validation failed (the service was not called)."""
        return self.status == 400 and self.error is None

    @property
    def message(self) -> Message | None:
        """The refusal's message, for a page that shows it in a place of its own."""
        return self.error.message if self.error is not None else None


def _not_done(status: int, error: DomainError | None = None) -> FormRun[Any]:
    return FormRun(done=False, result=None, status=status, error=error)


def run_form(form: Form, action: Callable[[], T], *, flash_error: bool = False) -> FormRun[T]:
    """The one way a route runs a form: when it is sent and valid, `action()`
    (the service call) runs. Its DomainError is shown on the form (on its
    field, or above the form), or flashed with `flash_error` (a button, or a
    form the page shows afresh, has no place for it). The route then
    redirects when `done`, or shows the page again with `status`:

        form = PostForm()
        run = run_form(form, lambda: service.add_post(db_session(), group, me, form.body.data))
        if run.done:
            return redirect(url_for("groups.show", group_id=group.id))
        return render_template("groups/show.html", form=form), run.status
    """
    if not form.is_submitted():
        return _not_done(200)
    if not form.validate():
        return _not_done(400)
    try:
        result = action()
    except DomainError as err:
        if flash_error:
            flash(err.message, "error")
        else:
            form_error(form, err)
        return _not_done(err.status, err)
    return FormRun(done=True, result=result)


def ascii_digits(value):
    """A WTForms filter: digits as a Dari, Pashto or Arabic keyboard types them
    (۱۲۳, ١٢٣) become 0-9. A PIN, a code or a phone number is the same number in
    every script; without this, a PIN typed in Persian digits would count as a
    wrong PIN and could lock the phone."""
    if not isinstance(value, str):
        return value
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in value)


def required() -> DataRequired:
    return DataRequired(message=_l("Please fill this in."))


def max_len(n: int) -> Length:
    return Length(max=n, message=_l("Please use at most %(max)d characters.", max=n))


class _ChoiceInOurWords(SelectField):
    """Choice errors in our words. `empty_ok`: nothing chosen is left to the
    field's validators (radio buttons); otherwise it is an error too."""

    empty_ok = False

    def pre_validate(self, form) -> None:
        if self.data is None and self.empty_ok:
            return
        choices = self.choices
        if self.validate_choice and choices is not None:
            if isinstance(choices, dict):  # option groups: {group label: choices}
                choices = [choice for group in choices.values() for choice in group]
            values = {str(value) for value, *_rest in choices}
            if str(self.data) not in values:
                raise ValidationError(_l("Please choose one from the list."))

    def process_formdata(self, valuelist) -> None:
        if valuelist:
            try:
                self.data = self.coerce(valuelist[0])
            except (ValueError, TypeError):
                self.data = None
                raise ValueError(_l("Please choose one from the list.")) from None


class ChoiceField(_ChoiceInOurWords):
    pass


class RadioChoiceField(_ChoiceInOurWords, RadioField):
    empty_ok = True


class DayField(DateField):
    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata([ascii_digits(v) for v in valuelist or ()])
        except ValueError:
            raise ValueError(_l("Please enter a date like 2026-12-31.")) from None


def text_of(field: StringField) -> str:
    """The text sent in a field, '' when none was sent. After validation a
    field with required() always has some (WTForms types it `str | None`)."""
    return field.data if isinstance(field.data, str) else ""


def values_of(field: SelectMultipleField) -> list[Any]:
    """The values chosen in a multiple choice, [] when none was."""
    return field.data or []


def int_arg(name: str) -> int | None:
    """A whole number from the query string (`?page=3`), or None."""
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return None
