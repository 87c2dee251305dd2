"""Each form's fields are its own, though a form class's fields are bound by
copying their first binding (webapp/forms.py `_bound_copy`, issue #24): what
one form (one person's request) changes or reads never shows in the next."""
from __future__ import annotations

import gc
import weakref

from flask_babel import force_locale
from wtforms import SelectField, StringField
from wtforms.validators import Optional

from webapp import forms
from webapp.checkins.forms import CheckInForm
from webapp.forms import Form, RadioChoiceField, max_len, required


class Sample(Form):
    class Meta:
        csrf = False  # what is tested here is the fields; the CSRF field is below

    name = StringField("Name", validators=[required(), max_len(20)], render_kw={"dir": "auto"})
    place = SelectField("Place", choices=[], validators=[Optional()])
    answer = RadioChoiceField("Answer", choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.place.choices = [("a", "A"), ("b", "B")]
        self.answer.choices = [("yes", "Yes"), ("no", "No")]


def changed(form: Sample) -> None:
    """Everything a route or a template may change of a form in place."""
    form.name.label.text = "Changed"
    form.name.flags.changed = True
    form.name.render_kw["data-x"] = "1"
    form.name.validators.append(max_len(3))
    form.place.choices.append(("c", "C"))
    form.answer.choices = [("maybe", "Maybe")]
    form.name.errors = ["an error"]


def as_declared(form: Sample) -> None:
    assert form.name.label.text == "Name"
    assert not form.name.flags.changed and form.name.flags.required
    assert form.name.render_kw == {"dir": "auto"}
    assert len(form.name.validators) == 2
    assert form.place.choices == [("a", "A"), ("b", "B")]
    assert form.answer.choices == [("yes", "Yes"), ("no", "No")]
    assert not form.name.errors
    # The field's form is this form (held weakly: see the test below).
    assert form.name._form.name is form.name and form.name.meta is form.meta


def test_what_one_form_changes_or_reads_is_not_in_the_next(app):
    """The first form is bound by WTForms, the next ones are copies: each is
    changed after it is checked, and the one after is as declared."""
    sent = {"name": "Secret Name", "place": "b", "answer": "no"}
    with app.test_request_context("/", method="POST", data=sent):
        first = Sample()
        assert first.validate(), first.errors
        assert (first.name.data, first.place.data, first.answer.data) == (
            "Secret Name", "b", "no")
        changed(first)
    with app.test_request_context("/", method="POST", data={"name": "Other"}):
        second = Sample()
        as_declared(second)
        assert second.validate(), second.errors
        assert (second.name.data, second.place.data, second.answer.data) == ("Other", None, None)
        changed(second)
    with app.test_request_context("/"):
        third = Sample()  # a page drawn afresh: nothing read, nothing left
        as_declared(third)
        assert (third.name.data, third.place.data, third.answer.data) == (None, None, None)
        assert "Secret" not in third.name() and "Other" not in third.name()


def test_labels_are_in_each_requests_language(app):
    with app.test_request_context("/"):
        CheckInForm()  # bound once, in English
        with force_locale("fa_AF"):
            persian = str(CheckInForm().mood.label.text)
        english = str(CheckInForm().mood.label.text)
    assert english == "How do you feel?" and persian != english


def test_the_csrf_token_and_classes_made_at_run_time_are_not_kept(app):
    """The CSRF field is bound anew for each form (with its session); a form
    class made at run time leaves nothing behind."""
    with app.test_request_context("/"):
        CheckInForm()
        kept = len(forms._BOUND)
        built = [CheckInForm() for _ in range(50)]
        assert len(forms._BOUND) == kept
        assert all(form.csrf_token.csrf_impl is form._csrf for form in built)
        assert len({id(form.csrf_token) for form in built}) == 50

        made = type("Made", (Form,), {"x": StringField("X")})
        made(), made()
        assert len(forms._BOUND) == kept + 1
        del made
        gc.collect()
        assert len(forms._BOUND) == kept


def test_a_form_is_freed_when_its_request_is_done_with_it(app):
    """A form and its fields point at each other. Were both links strong,
    each form (a hundred-odd lists, dicts and fields) would wait for the
    garbage collector, whose passes then come several times as often on a
    form post. The fields hold their form weakly, and the CSRF token its
    field, so nothing of a form is left once it is dropped; while it is
    used, everything WTForms reaches through a field's form works."""
    sent = {"name": "Amina", "place": "a", "answer": "yes", "csrf_token": "x"}
    with app.test_request_context("/", method="POST", data=sent):
        gc.collect()
        gc.disable()
        try:
            form = Sample()
            assert form.validate(), form.errors
            assert [o.label.text for o in form.answer] == ["Yes", "No"]  # options made via the form
            token_form = CheckInForm()
            assert str(token_form.csrf_token.current_token)  # signed via the field, lazily
            freed = weakref.ref(form), weakref.ref(form.name), weakref.ref(token_form)
            del form, token_form
            assert [ref() for ref in freed] == [None, None, None]
            assert gc.collect() == 0
        finally:
            gc.enable()
