"""Issue #23: text a person or an organisation wrote is isolated from the
page's direction wherever it is shown (the browser test
tests/browser/test_reading.py shows the punctuation staying in place)."""
from __future__ import annotations

from .test_plan import add_goal, text_of


def test_names_in_sentences_and_typed_text_are_isolated(web, returnee_web):
    returnee_web(locale="ps", name="Abdul Jalloh")
    home = text_of(web.get("/home"))
    assert "<bdi>Abdul Jalloh</bdi>" in home
    gid = add_goal(web, area="work", title="Shop, Inc.!")
    assert "<bdi>Shop, Inc.!</bdi>" in text_of(web.get(f"/plan/goals/{gid}"))
    assert "<bdi>Shop, Inc.!</bdi>" in text_of(web.get("/plan/"))
    # What a person types gets the direction of its own first letter.
    edit = text_of(web.get(f"/plan/goals/{gid}/edit"))
    assert 'dir="auto"' in edit.split('id="title"', 1)[0].rsplit("<input", 1)[1] + edit.split(
        'id="title"', 1)[1].split(">", 1)[0]
